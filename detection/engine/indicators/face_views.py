"""What the video indicators look at: the faces of a video, followed through it, with the few
measurements they need taken while the video is read once.

The engine's own scan (detection/engine/video/scan.py) keeps only the best views of each face
track, and the scan does not hand its tracks to the indicators, so the indicators read the video
again, more cheaply, within a CPU budget of about the scan's own time:

- *anchors*: every ``ANCHOR_INTERVAL_S`` (the scan's sampling rate) faces of at least HOG's
  80-pixel window are found on a copy whose long side is ``DETECT_SIDE`` (the scan also searches
  smaller faces on an upsampled copy, which costs most of its time: these signals are too weak on
  small faces to be worth it) and paired with the last anchor's faces into tracks (the video package's ``associate``).
  Tracks end at scene cuts, found with the video package's frame signatures;
- *flicker*: at every anchor, the frame and the two after it (consecutive frames, not samples),
  cropped around each face and its surroundings;
- *identity*: at up to ``MAX_IDENTITY_PAIRS`` anchors spread over the video, each face embedded
  in the anchor frame and in the next frame with the same box;
- *eyes* (only where non-commercial models are allowed): the eye aspect ratio from dlib's
  68-point landmarks on frames ``EYE_INTERVAL_S`` apart, with the box of the track's last anchor.

Frames are read forward with the opened video's ``timestamps()``/``retrieve()`` rather than
``sample_frames``: flicker needs consecutive frames, and ``sample_frames`` at the video's frame rate
converts and fingerprints every frame. Measured on ffpp_original_519.mp4 (751 frames, 640×480,
2 shared cores): grabbing every frame costs 1.2 CPU-s, converting every frame too 2.4 CPU-s.

Faces are not kept: only the measurements, the boxes and the times are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from detection.engine import faces
from detection.engine.faces import Box, DetectionPolicy
from detection.engine.video.opening import VideoLimits, VideoSource, open_video
from detection.engine.video.sampling import (
    CHANGE_CHECK_FPS,
    DEFAULT_SAMPLE_FPS,
    SCENE_CHANGE,
    frame_signature,
    signature_change,
)
from detection.engine.video.tracking import associate

ANCHOR_INTERVAL_S = 1.0 / DEFAULT_SAMPLE_FPS
CHECK_INTERVAL_S = 1.0 / CHANGE_CHECK_FPS
DETECT_SIDE = 640
# Faces from HOG's own 80-pixel window up, on the DETECT_SIDE copy: no upsampled pass. Searching down
# to the default 40 px upsamples that copy 2× and cost five times as much (0.13 against 0.025 CPU-s a
# frame of ffpp_original_519.mp4), and these signals are too weak on smaller faces to be worth it.
DETECT_POLICY = DetectionPolicy(min_face=faces.HOG_WINDOW)
MAX_FACES_PER_ANCHOR = 4  # the biggest; a crowd must not multiply the cost
MAX_MISSED_ANCHORS = 2  # as the scan's tracker: one missed second does not split a track
# Each pair costs two embeddings (about 0.08 CPU-s each); 12 pairs spread over the video keep the
# identity signal to about 2 CPU-s however long the video is.
MAX_IDENTITY_PAIRS = 12
MIN_PAIR_INTERVAL_S = 1.0
# Two embeddings this close come from a repeated frame (frame-rate conversion, a still): such a pair
# says nothing about flicker. The same frame re-encoded is 0.06 apart at its closest (5th
# percentile on ffpp_original_519.mp4, see identity_flicker.py); an exactly repeated one is 0.
REPEATED_FRAME = 0.02
# A blink closes the eye for 100–400 ms (Schiffman, Sensation and Perception), so at 10 looks a
# second most blinks are caught in at least one frame: on ffpp_original_519.mp4, 19 closures at 10
# and at 12.5 looks a second; 12.5 cost 0.4 CPU-s more (the 68-point model: about 4 ms a look).
EYE_INTERVAL_S = 0.1
EYE_CROP_MARGIN = 0.25  # of the box, on each side: the 68-point model needs the whole face
# The region cropped for flicker: the face box grown by RING_OUTER on each side (the surroundings
# ring is measured between RING_INNER and RING_OUTER), plus room for the blur.
RING_INNER, RING_OUTER = 0.10, 0.50
CORE_MARGIN = 0.10
FLICKER_SIGMA = 0.08  # of the face width: the blur that keeps tone and shading, not texture or noise
MIN_RING_FRACTION = 0.25  # of a full ring's area: a face at the frame's edge may have too little ring

LEFT_EYE, RIGHT_EYE = list(range(36, 42)), list(range(42, 48))  # dlib's 68-point numbering


class IdentityJump(NamedTuple):
    t: float  # the first frame of the pair
    distance: float  # between the two embeddings


class RegionFlicker(NamedTuple):
    t: float  # the first of three consecutive frames
    face: float  # mean |second temporal difference| of the blurred face core, grey levels
    ring: float  # the same in the ring around the face


@dataclass
class FaceTrackViews:
    track_id: int
    anchors: list[tuple[float, Box]] = field(default_factory=list)
    identity_jumps: list[IdentityJump] = field(default_factory=list)
    flicker: list[RegionFlicker] = field(default_factory=list)
    eye_openness: list[tuple[float, float]] = field(default_factory=list)  # (t, eye aspect ratio)
    missed: int = 0

    @property
    def first_t(self) -> float:
        return self.anchors[0][0]

    @property
    def last_t(self) -> float:
        return self.anchors[-1][0]


@dataclass
class VideoFaceViews:
    duration_s: float
    fps: float | None
    width: int
    height: int
    frames_read: int
    frames_looked_at: int
    anchors: int
    tracks: list[FaceTrackViews]
    eyes_measured: bool  # the 68-point landmarks ran (allowed and installed)
    cpu_s: float

    def summary(self) -> dict:
        """Where the video indicators looked, for their evidence."""
        return {"duration_s": round(self.duration_s, 2), "frames_read": self.frames_read,
                "frames_looked_at": self.frames_looked_at, "anchors": self.anchors,
                "anchor_interval_s": ANCHOR_INTERVAL_S, "tracks": len(self.tracks),
                "face_finding": f"HOG, faces of {DETECT_POLICY.min_face} px and more on a {DETECT_SIDE}-px copy",
                "cpu_s": round(self.cpu_s, 2)}


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Soukupová & Čech (2016): (|p2−p6| + |p3−p5|) / (2 |p1−p4|) for each eye, averaged: about 0.3
    for an open eye, towards 0 as it closes."""
    ratios = []
    for eye in (LEFT_EYE, RIGHT_EYE):
        p = points[eye]
        width = float(np.linalg.norm(p[0] - p[3])) or 1.0
        ratios.append((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2 * width))
    return float(np.mean(ratios))


def _grown(box: Box, fraction: float, height: int, width: int) -> Box:
    dy, dx = round(box.height * fraction), round(box.width * fraction)
    return Box(top=max(0, box.top - dy), right=min(width, box.right + dx),
               bottom=min(height, box.bottom + dy), left=max(0, box.left - dx))


class _FlickerWindow:
    """Three consecutive frames of one face's region, gathered as they are read."""

    def __init__(self, track: FaceTrackViews, t: float, box: Box, height: int, width: int):
        self.track, self.t, self.box = track, t, box
        margin = max(2, round(3 * FLICKER_SIGMA * box.width))
        outer = _grown(box, RING_OUTER, height, width)
        self.region = Box(top=max(0, outer.top - margin), right=min(width, outer.right + margin),
                          bottom=min(height, outer.bottom + margin), left=max(0, outer.left - margin))
        self.crops: list[np.ndarray] = []

    def add(self, bgr: np.ndarray) -> bool:
        """Adds a frame; True once three are in and the measurement is taken."""
        import cv2

        r = self.region
        self.crops.append(cv2.cvtColor(bgr[r.top : r.bottom, r.left : r.right], cv2.COLOR_BGR2GRAY))
        if len(self.crops) < 3:
            return False
        measured = region_flicker(self.crops, self._local(self.box))
        if measured is not None:
            self.track.flicker.append(RegionFlicker(self.t, *measured))
        return True

    def _local(self, box: Box) -> Box:
        r = self.region
        return Box(top=box.top - r.top, right=box.right - r.left, bottom=box.bottom - r.top, left=box.left - r.left)


def region_flicker(crops: list[np.ndarray], box: Box) -> tuple[float, float] | None:
    """Mean |a − 2b + c| of three consecutive blurred grey crops inside the face core and in the
    ring around it, or None when the ring is mostly outside the frame.

    The second difference cancels change that goes one way over the three frames (steady motion, a
    fade); a face re-drawn independently in every frame changes both ways. The blur keeps tone and
    shading: texture and compression noise differ between frames of genuine video too."""
    import cv2

    height, width = crops[0].shape[:2]
    sigma = max(1.0, FLICKER_SIGMA * box.width)
    a, b, c = (cv2.GaussianBlur(crop.astype(np.float32), (0, 0), sigma) for crop in crops)
    change = np.abs(a - 2 * b + c)
    core_box = _grown(box, -CORE_MARGIN, height, width)
    outer, inner = _grown(box, RING_OUTER, height, width), _grown(box, RING_INNER, height, width)
    ring = np.zeros((height, width), dtype=bool)
    ring[outer.top : outer.bottom, outer.left : outer.right] = True
    ring[inner.top : inner.bottom, inner.left : inner.right] = False
    full_ring = box.width * box.height * ((1 + 2 * RING_OUTER) ** 2 - (1 + 2 * RING_INNER) ** 2)
    if ring.sum() < MIN_RING_FRACTION * full_ring or core_box.width <= 0 or core_box.height <= 0:
        return None
    core = change[core_box.top : core_box.bottom, core_box.left : core_box.right]
    return float(core.mean()), float(change[ring].mean())


class _IdentityPair:
    """One face embedded in an anchor frame, waiting for the next frame."""

    def __init__(self, track: FaceTrackViews, t: float, box: Box, embedding: np.ndarray):
        self.track, self.t, self.box, self.embedding = track, t, box, embedding

    def add(self, rgb: np.ndarray) -> None:
        after = faces.embed(rgb, [self.box])[0]
        distance = float(np.linalg.norm(after - self.embedding))
        if distance >= REPEATED_FRAME:
            self.track.identity_jumps.append(IdentityJump(self.t, distance))


EyeLandmarks = Callable[[np.ndarray, Box], np.ndarray]  # grey crop, box in it → 68×2 points


def observe_video(source: VideoSource, *, limits: VideoLimits = VideoLimits(), eyes: bool = False,
                  eye_landmarks: EyeLandmarks | None = None) -> VideoFaceViews:
    """Read the video once and take the video indicators' measurements (see the module docstring).
    ``eyes`` asks for eye openness, measured with dlib's 68-point model if it is installed (the
    caller has checked that its non-commercial licence is allowed); ``eye_landmarks`` replaces the
    model. Raises ``MediaError`` for a video that cannot be read within ``limits``."""
    if eyes and eye_landmarks is None:
        eye_landmarks = _dlib_eye_landmarks()
    started = time.process_time()
    with open_video(source, limits) as video:
        observer = _Observer(video.info.declared_duration_s, eye_landmarks)
        for t in video.timestamps():
            observer.frame(t, video)
        tracks = observer.finish()
        return VideoFaceViews(
            duration_s=video.duration_s, fps=video.info.fps, width=video.info.width, height=video.info.height,
            frames_read=video.frames_read, frames_looked_at=observer.looked_at, anchors=observer.anchors,
            tracks=tracks, eyes_measured=eye_landmarks is not None, cpu_s=time.process_time() - started,
        )


def _dlib_eye_landmarks() -> EyeLandmarks | None:
    from detection.engine.indicators import head_pose

    path = head_pose.model_path()
    if path is None:
        return None
    import dlib

    predictor = head_pose.landmark_predictor(str(path))

    def landmarks(grey: np.ndarray, box: Box) -> np.ndarray:
        shape = predictor(grey, dlib.rectangle(box.left, box.top, box.right, box.bottom))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    return landmarks


class _Observer:
    def __init__(self, declared_duration_s: float | None, eye_landmarks: EyeLandmarks | None):
        self.eye_landmarks = eye_landmarks
        # Pairs spread over the whole video when its length is known; otherwise the first ones.
        self.pair_interval = max(MIN_PAIR_INTERVAL_S, (declared_duration_s or 0.0) / MAX_IDENTITY_PAIRS)
        self.next_anchor = self.next_check = self.next_eyes = self.next_pair = 0.0
        self.pairs = self.looked_at = self.anchors = 0
        self.live: list[FaceTrackViews] = []
        self.ended: list[FaceTrackViews] = []
        self.windows: list[_FlickerWindow] = []
        self.waiting_pairs: list[_IdentityPair] = []
        self.previous_signature = None
        self.next_id = 1
        self.slack = 0.0

    def frame(self, t: float, video) -> None:
        if not self.slack:
            # Half a frame: at 29.97 frames/s the frame at 0.4838 s is the one due at 0.5 s.
            self.slack = 0.5 / (video.info.fps or 30.0)
        due = t + self.slack
        anchor = due >= self.next_anchor
        check = due >= self.next_check
        eyes = self.eye_landmarks is not None and due >= self.next_eyes and any(not k.missed for k in self.live)
        if not (anchor or check or eyes or self.windows or self.waiting_pairs):
            return
        bgr = video.retrieve()
        self.looked_at += 1
        self.next_check = t + CHECK_INTERVAL_S
        signature = frame_signature(bgr)
        if self.previous_signature is not None and signature_change(self.previous_signature, signature) > SCENE_CHANGE:
            self._end_all()  # the same place after a cut is not the same face
        self.previous_signature = signature
        rgb = None
        if self.waiting_pairs:
            import cv2

            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            for pair in self.waiting_pairs:
                pair.add(rgb)
            self.waiting_pairs = []
        self.windows = [window for window in self.windows if not window.add(bgr)]
        if anchor:
            self.next_anchor = t + ANCHOR_INTERVAL_S
            self._anchor(t, bgr, rgb)
        if eyes or (anchor and self.eye_landmarks is not None):
            self.next_eyes = t + EYE_INTERVAL_S
            self._eyes(t, bgr)

    def _anchor(self, t: float, bgr: np.ndarray, rgb: np.ndarray | None) -> None:
        import cv2

        self.anchors += 1
        height, width = bgr.shape[:2]
        boxes = anchor_faces(bgr)
        last = [track.anchors[-1][1] for track in self.live]
        paired = dict((j, i) for i, j in associate(last, boxes))
        current = []
        for j, box in enumerate(boxes):
            if j in paired:
                track = self.live[paired[j]]
            else:
                track = FaceTrackViews(self.next_id)
                self.next_id += 1
                self.live.append(track)
            track.anchors.append((t, box))
            track.missed = 0
            current.append(track)
        seen = {id(track) for track in current}
        for track in self.live:
            if id(track) not in seen:
                track.missed += 1
        self.ended += [track for track in self.live if track.missed > MAX_MISSED_ANCHORS]
        self.live = [track for track in self.live if track.missed <= MAX_MISSED_ANCHORS]
        for track, box in zip(current, boxes, strict=True):
            self.windows.append(_FlickerWindow(track, t, box, height, width))
            self.windows[-1].add(bgr)
        if boxes and t + self.slack >= self.next_pair and self.pairs < MAX_IDENTITY_PAIRS:
            rgb = rgb if rgb is not None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            embeddings = faces.embed(rgb, boxes)
            for track, box, embedding in zip(current, boxes, embeddings, strict=True):
                self.waiting_pairs.append(_IdentityPair(track, t, box, embedding))
            self.pairs += 1
            self.next_pair = t + self.pair_interval

    def _eyes(self, t: float, bgr: np.ndarray) -> None:
        import cv2

        height, width = bgr.shape[:2]
        for track in self.live:
            if track.missed:
                continue
            box = track.anchors[-1][1]
            region = _grown(box, EYE_CROP_MARGIN, height, width)
            grey = cv2.cvtColor(bgr[region.top : region.bottom, region.left : region.right], cv2.COLOR_BGR2GRAY)
            local = Box(top=box.top - region.top, right=box.right - region.left,
                        bottom=box.bottom - region.top, left=box.left - region.left)
            track.eye_openness.append((t, eye_aspect_ratio(self.eye_landmarks(grey, local))))

    def _end_all(self) -> None:
        self.ended += self.live
        self.live, self.windows, self.waiting_pairs = [], [], []

    def finish(self) -> list[FaceTrackViews]:
        self._end_all()
        return sorted(self.ended, key=lambda track: track.track_id)


def anchor_faces(bgr: np.ndarray) -> list[Box]:
    """The biggest faces HOG finds on a DETECT_SIDE copy, in the frame's coordinates."""
    import cv2

    height, width = bgr.shape[:2]
    scale = min(1.0, DETECT_SIDE / max(height, width))
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    if scale < 1.0:
        grey = cv2.resize(grey, (max(1, round(width * scale)), max(1, round(height * scale))),
                          interpolation=cv2.INTER_AREA)
    found = faces.detect(grey, DETECT_POLICY)
    boxes = [Box(top=max(0, round(b.top / scale)), right=min(width, round(b.right / scale)),
                 bottom=min(height, round(b.bottom / scale)), left=max(0, round(b.left / scale))) for b in found]
    boxes.sort(key=lambda box: box.width * box.height, reverse=True)
    return boxes[:MAX_FACES_PER_ANCHOR]


def measured_tracks(video, measure, key: str) -> tuple[list[dict], dict, str] | None:
    """Each followed face measured by ``measure`` (None when it cannot be), the worst by ``key``,
    and words saying when that face was seen; None when no face could be measured."""
    tracks = [measured for track in video.tracks if (measured := measure(track)) is not None]
    if not tracks:
        return None
    worst = max(tracks, key=lambda track: track[key])
    return tracks, worst, f"followed from {worst['seen_s'][0]:.1f} s to {worst['seen_s'][1]:.1f} s"
