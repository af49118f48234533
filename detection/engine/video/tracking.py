"""Follow faces from one sampled frame to the next (a track) and keep each track's best views.

Only the few best views of each track are embedded: embedding is the costly step (about 0.1 s a
face on one core) and more views of one face add little.

Besides HOG's detections the tracker takes its near misses (weak boxes, see detecting.py): a weak
box that overlaps a followed face continues it, and a weak box seen at the same place in two samples
becomes a face only if a second opinion says so. Until then it is a candidate, never embedded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from detection.engine import faces
from detection.engine.faces import Box

DEFAULT_EMBEDS_PER_TRACK = 3
# A track survives this many samples without its face: HOG misses a face now and then (a turned
# head, motion blur), and one missed second should not split a person into two tracks.
MAX_MISSED_SAMPLES = 2
MIN_IOU = 0.3
# Half a second apart, a moving face may no longer overlap its last box; within one face-width of it,
# and of a similar size, it is taken to be the same face.
CENTRE_GATE_WIDTHS = 1.0
MAX_SIZE_RATIO = 2.0
# A near miss seen in this many samples at the same place is shown to the second opinion. Asking about
# every near miss would cost about 0.15 s each, and most are noise that moves or vanishes by the next
# sample (on the Hamilton clip at 720p: one persistent near miss, Alex, in 23 samples). A face that
# stays in view half a second (two samples) is seen twice.
CANDIDATE_SIGHTINGS = 2
# A box cut by the frame edge holds part of a face: its embedding is less reliable.
EDGE_PENALTY = 0.5
# The kept crop around a best view: dlib aligns the face inside its box with 25 % padding, so half a
# box on each side gives the same embedding as the whole frame (checked: distance 0.0).
CROP_MARGIN = 0.5


class BestFace(NamedTuple):
    t: float
    box: Box
    quality: float
    embedding: np.ndarray


@dataclass(frozen=True)
class FaceTrack:
    track_id: int
    first_t: float
    last_t: float
    boxes: list[tuple[float, Box]]
    best: list[BestFace]  # best quality first

    @property
    def embeddings(self) -> list[np.ndarray]:
        return [face.embedding for face in self.best]


def iou(a: Box, b: Box) -> float:
    width = min(a.right, b.right) - max(a.left, b.left)
    height = min(a.bottom, b.bottom) - max(a.top, b.top)
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    return overlap / (a.width * a.height + b.width * b.height - overlap)


def _centre_distance(a: Box, b: Box) -> float:
    return float(np.hypot((a.left + a.right - b.left - b.right) / 2, (a.top + a.bottom - b.top - b.bottom) / 2))


def _similar_size(a: Box, b: Box) -> bool:
    ratio = max(a.width, 1) / max(b.width, 1)
    return 1 / MAX_SIZE_RATIO <= ratio <= MAX_SIZE_RATIO


def associate(previous: Sequence[Box], current: Sequence[Box], *, overlap_only: bool = False) -> list[tuple[int, int]]:
    """Pairs (previous index, current index) of boxes taken to show the same face.

    Overlapping boxes pair first, best overlap first; then (unless ``overlap_only``) boxes near each
    other and of a similar size, nearest first. Greedy is enough for the handful of faces a frame holds.
    """
    candidates = []
    for i, before in enumerate(previous):
        for j, now in enumerate(current):
            overlap = iou(before, now)
            if overlap >= MIN_IOU:
                candidates.append((1.0 + overlap, i, j))
                continue
            if overlap_only:
                continue
            gate = CENTRE_GATE_WIDTHS * max(before.width, now.width)
            distance = _centre_distance(before, now)
            if distance <= gate and _similar_size(before, now):
                candidates.append((1.0 - distance / gate, i, j))
    pairs, used_previous, used_current = [], set(), set()
    for _, i, j in sorted(candidates, reverse=True):
        if i not in used_previous and j not in used_current:
            pairs.append((i, j))
            used_previous.add(i)
            used_current.add(j)
    return pairs


class ViewQuality(NamedTuple):
    """Compared as a tuple: ``score`` first, then ``detail`` among views of equal score."""

    score: float  # faces.face_quality's score, halved for each frame edge that cuts the box
    # Box area × sharpness. face_quality's score saturates at 1.0 for a big, sharp face, so every
    # view of a close-up ties; among those the bigger, sharper one is kept, as before face_quality
    # existed (on the Hamilton clip this kept Lin-Manuel Miranda's best match at 0.41, not 0.53).
    detail: float


def view_quality(rgb: np.ndarray, box: Box) -> ViewQuality:
    quality = faces.face_quality(rgb, box)
    height, width = rgb.shape[:2]
    cut_edges = (box.top <= 0) + (box.left <= 0) + (box.bottom >= height) + (box.right >= width)
    return ViewQuality(quality.score * EDGE_PENALTY**cut_edges, box.width * box.height * quality.sharpness)


@dataclass
class _View:
    quality: ViewQuality
    t: float
    box: Box
    crop: np.ndarray  # the face with a margin, kept so the frame itself need not be
    box_in_crop: Box


def _view(t: float, rgb: np.ndarray, box: Box, quality: ViewQuality) -> _View:
    height, width = rgb.shape[:2]
    margin_x, margin_y = round(box.width * CROP_MARGIN), round(box.height * CROP_MARGIN)
    top, left = max(0, box.top - margin_y), max(0, box.left - margin_x)
    bottom, right = min(height, box.bottom + margin_y), min(width, box.right + margin_x)
    crop = np.ascontiguousarray(rgb[top:bottom, left:right])
    return _View(quality, t, box, crop, Box(box.top - top, box.right - left, box.bottom - top, box.left - left))


# What a live track is believed to show.
FACE = "face"  # HOG found it at its own threshold, or the second opinion confirmed a candidate
CANDIDATE = "candidate"  # only near misses so far
NOT_A_FACE = "not a face"  # a candidate the second opinion turned down; followed so it is not asked again


@dataclass
class LiveTrack:
    """A track still being followed: its boxes so far and its best views, not yet embedded."""

    track_id: int  # 0 until it is a face
    state: str = FACE
    boxes: list[tuple[float, Box]] = field(default_factory=list)
    views: list[_View] = field(default_factory=list)
    missed: int = 0

    def add(self, t: float, rgb: np.ndarray, box: Box, keep: int) -> None:
        self.boxes.append((t, box))
        self.missed = 0
        if self.state == NOT_A_FACE:
            return
        quality = view_quality(rgb, box)
        if len(self.views) < keep:
            self.views.append(_view(t, rgb, box, quality))
            return
        worst = min(range(len(self.views)), key=lambda k: self.views[k].quality)
        if quality > self.views[worst].quality:
            self.views[worst] = _view(t, rgb, box, quality)

    def embedded(self) -> FaceTrack:
        """The finished track, its kept views embedded (the costly step)."""
        views = sorted(self.views, key=lambda view: view.quality, reverse=True)
        best = [
            BestFace(view.t, view.box, view.quality.score, faces.embed(view.crop, [view.box_in_crop])[0])
            for view in views
        ]
        return FaceTrack(
            track_id=self.track_id,
            first_t=self.boxes[0][0],
            last_t=self.boxes[-1][0],
            boxes=self.boxes,
            best=best,
        )


SecondOpinion = Callable[[np.ndarray, Box], bool]


class FaceTracker:
    """Follows faces from one sampled frame to the next and keeps each track's best views.

    ``second_opinion(rgb, box)`` decides whether a persistent near miss is a face; without one,
    near misses only continue faces already followed.
    """

    def __init__(
        self,
        *,
        keep_best: int = DEFAULT_EMBEDS_PER_TRACK,
        max_missed: int = MAX_MISSED_SAMPLES,
        second_opinion: SecondOpinion | None = None,
    ):
        self._keep = keep_best
        self._max_missed = max_missed
        self._second_opinion = second_opinion
        self._active: list[LiveTrack] = []
        self._ended: list[LiveTrack] = []
        self._next_id = 1

    def update(self, t: float, rgb: np.ndarray, boxes: Sequence[Box], weak: Sequence[Box] = ()) -> None:
        """One sampled frame's HOG detections (``boxes``) and near misses (``weak``)."""
        tracks = self._active
        last = [track.boxes[-1][1] for track in tracks]
        pairs = associate(last, boxes)
        for i, j in pairs:
            self._make_face(tracks[i])  # HOG's own threshold makes a face, as it always has
            tracks[i].add(t, rgb, boxes[j], self._keep)
        seen = {i for i, _ in pairs}
        # A near miss continues a track only where it overlaps the track's last box: weaker evidence
        # needs closer agreement, so a face that has left is not followed onto a near miss beside it.
        unseen = [i for i in range(len(tracks)) if i not in seen]
        weak_pairs = associate([last[i] for i in unseen], weak, overlap_only=True)
        for k, j in weak_pairs:
            tracks[unseen[k]].add(t, rgb, weak[j], self._keep)
            seen.add(unseen[k])
        for i, track in enumerate(tracks):
            if i not in seen:
                track.missed += 1
        self._ended.extend(track for track in tracks if track.missed > self._max_missed and track.state == FACE)
        self._active = [track for track in tracks if track.missed <= self._max_missed]
        matched_boxes = {j for _, j in pairs}
        for j, box in enumerate(boxes):
            if j not in matched_boxes:
                self._start(t, rgb, box, FACE)
        if self._second_opinion is not None:
            matched_weak = {j for _, j in weak_pairs}
            for j, box in enumerate(weak):
                if j not in matched_weak:
                    self._start(t, rgb, box, CANDIDATE)
            for track in self._active:
                if track.state == CANDIDATE and track.missed == 0 and len(track.boxes) >= CANDIDATE_SIGHTINGS:
                    if self._second_opinion(rgb, track.boxes[-1][1]):
                        self._make_face(track)
                    else:
                        track.state, track.views = NOT_A_FACE, []

    def _start(self, t: float, rgb: np.ndarray, box: Box, state: str) -> None:
        track = LiveTrack(0, state)
        if state == FACE:
            self._make_face(track)
        track.add(t, rgb, box, self._keep)
        self._active.append(track)

    def _make_face(self, track: LiveTrack) -> None:
        if not track.track_id:
            track.track_id = self._next_id
            self._next_id += 1
        track.state = FACE

    def end_all(self) -> None:
        """At a scene cut: a face in the same place after a cut is not evidence of the same person."""
        self._ended.extend(track for track in self._active if track.state == FACE)
        self._active = []

    def pop_ended(self) -> list[LiveTrack]:
        """Tracks of faces no longer followed; candidates that never became faces are dropped."""
        ended, self._ended = self._ended, []
        return ended
