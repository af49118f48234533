"""Scan a video: open it within limits, sample frames, follow faces across frames, hash frames (vPDQ).

Frames are sampled at a steady rate and also where the picture changes, so a face seen only briefly
after a cut is still looked at while a long static shot costs little. Faces are followed from sample
to sample (a track) and only the few best views of each track are embedded: embedding is the costly
step (about 0.1 s a face on one core) and more views of one face add little.

Untrusted files are checked before FFmpeg parses them: the container is recognised from its first
bytes, and size, frame size and duration are bounded. Frames are read forward one at a time; the
video is never held in memory whole.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from detection.engine import faces, hashes
from detection.engine.faces import Box
from detection.engine.media import EMPTY_FILE, TOO_MANY_BYTES, MediaError

NOT_A_VIDEO = "The file is not a video this system can read; use MP4, WebM, MOV or AVI."
DAMAGED_VIDEO = "The video is damaged or truncated and its frames cannot be decoded."
NO_FRAMES = "The video has no frames."
TOO_MANY_PIXELS = "The video's frames are {width}×{height} pixels; the limit is {limit:,} pixels a frame."
TOO_LONG = "The video lasts at least {duration:,.0f} seconds; the limit is {limit:,.0f} seconds."

VideoSource = bytes | str | os.PathLike

DEFAULT_SAMPLE_FPS = 2.0
# Frames looked at (decoded to pixels, not face-searched) to notice cuts between regular samples.
CHANGE_CHECK_FPS = 8.0
# A change score over 0.6 between two looked-at frames is a scene cut. The score is the larger of the
# layout change (1 − correlation of 16×16 grey thumbnails) and 3 × the colour change (half the L1
# distance of 8×8 hue-saturation histograms). Measured at 8 looks a second: the three cuts of
# short_hamilton_clip.mp4 (dark stage footage) score 0.99–1.69 and its in-shot motion at most 0.52; the
# FaceForensics++ clips (no cuts) at most 0.18; 77 of 78 pairs of different scikit-image pictures score
# over 0.6 (not: two greyscale pictures of similar layout). Mean absolute grey difference did not
# separate the Hamilton cuts (0.10–0.11) from motion (up to 0.09): dark frames differ little in level.
SCENE_CHANGE = 0.6
COLOUR_WEIGHT = 3.0
SIGNATURE_SIDE = 16
HUE_SATURATION_BINS = 8
# A thumbnail whose grey levels vary less than this (standard deviation) is flat: black, a title card.
FLAT_SIGNATURE_STD = 2.0
# A damaged or truncated file often opens and then stops decoding early; a video that yields less
# than this share of the frames its header declares is reported as damaged, like a truncated image.
DECODED_SHARE_MIN = 0.9

DEFAULT_EMBEDS_PER_TRACK = 3
# A track survives this many samples without its face: HOG misses a face now and then (a turned
# head, motion blur), and one missed second should not split a person into two tracks.
MAX_MISSED_SAMPLES = 2
MIN_IOU = 0.3
# Half a second apart, a moving face may no longer overlap its last box; within one face-width of it,
# and of a similar size, it is taken to be the same face.
CENTRE_GATE_WIDTHS = 1.0
MAX_SIZE_RATIO = 2.0
# A box cut by the frame edge holds part of a face: its embedding is less reliable.
EDGE_PENALTY = 0.5
# The kept crop around a best view: dlib aligns the face inside its box with 25 % padding, so half a
# box on each side gives the same embedding as the whole frame (checked: distance 0.0).
CROP_MARGIN = 0.5

# PDQ reduces a frame to 64×64 anyway; hashing a copy of at most 640 px costs a tenth of a 720p frame
# (6 ms against 80 ms measured) and moved the hash by 2 bits of 256 on a 720p Hamilton frame.
PDQ_MAX_SIDE = 640
# Meta's vPDQ defaults (ThreatExchange vpdq/README.md and python-threatexchange vpdq_util.py):
# frames within 31 bits match; frames under quality 50 are not compared.
VPDQ_DISTANCE = 31
VPDQ_QUALITY_MIN = 50
# Ours, not Meta's: "the same video" needs 80 % of the frames of each video to match the other. Meta's
# README example asks 80 % of the compared video and 0 % of the query (so a longer upload containing the
# known video still matches); python-threatexchange's compare_hash asks 80 % of the query and 0 % of the
# index. Pass known_min=0.8, query_min=0 to find a known video inside a longer one.
SAME_VIDEO_SHARE = 0.8

# dlib's published operating point for its ResNet face model (config/settings.py FACE_MATCH_THRESHOLD).
BENCH_LIKENESS_THRESHOLD = 0.6
BENCH_SIZE = (1280, 720)


@cache
def _cv2():
    import cv2

    return cv2


# ---------------------------------------------------------------------------------------------------
# Opening and validating


@dataclass(frozen=True)
class VideoLimits:
    max_bytes: int = 200 * 1024 * 1024
    max_pixels: int = 3840 * 2160  # 4K UHD, 8.3 MP
    max_duration_s: float = 3600.0


@dataclass(frozen=True)
class VideoInfo:
    container: str  # "MP4", "MOV", "WebM" or "AVI"
    width: int
    height: int
    fps: float | None  # None where the header has no usable rate
    frame_count: int | None  # as the header declares it; None where it does not say

    @property
    def declared_duration_s(self) -> float | None:
        if self.fps and self.frame_count:
            return self.frame_count / self.fps
        return None


def container_of(head: bytes) -> str | None:
    """The container named by a file's first 12 bytes, or None if it is not one we accept.

    Checked before FFmpeg sees the file: FFmpeg recognises hundreds of formats, playlists among
    them, and picks one by probing the content; a file that starts as one of ours is probed as it.
    """
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: WebM (and Matroska, of which WebM is a subset)
        return "WebM"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head[4:8] == b"ftyp":
        return "MOV" if head[8:12] == b"qt  " else "MP4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):  # QuickTime files older than ftyp
        return "MOV"
    return None


class OpenVideo:
    """A validated video, read forward once: ``timestamps()`` moves frame by frame without converting
    pixels, ``retrieve()`` gives the current frame's pixels when they are wanted."""

    def __init__(self, capture, info: VideoInfo, limits: VideoLimits):
        self._capture = capture
        self.info = info
        self._limits = limits
        self.frames_read = 0
        self.last_t = 0.0

    def timestamps(self) -> Iterator[float]:
        """Seconds from the start of each frame in turn; the first frame is already grabbed."""
        # grab() decodes without converting to BGR; retrieve() converts only the frames looked at.
        # Measured on this build (OpenCV 5.0, FFmpeg backend, one process, 2 shared cores): reading
        # all 275 frames of short_hamilton_clip.mp4 upscaled to 720p took 0.50 CPU-s with read(),
        # 0.27 with grab() and retrieve() every 15th, 0.51 seeking with CAP_PROP_POS_FRAMES; on the
        # 751-frame ffpp_original_519.mp4, 2.3, 1.0 and 9.6. Seeking restarts decoding at the last
        # keyframe, so reading forward and skipping is the fastest way to sample.
        cv2 = _cv2()
        capture = self._capture
        fps = self.info.fps or 30.0
        index = 0
        while True:
            t = self._timestamp(capture.get(cv2.CAP_PROP_POS_MSEC), index, fps)
            if t > self._limits.max_duration_s:
                raise MediaError(TOO_LONG.format(duration=t, limit=self._limits.max_duration_s))
            self.frames_read, self.last_t = index + 1, t
            yield t
            index += 1
            if not capture.grab():
                break
        declared = self.info.frame_count
        if declared and self.frames_read < DECODED_SHARE_MIN * declared:
            raise MediaError(DAMAGED_VIDEO)

    def _timestamp(self, msec: float, index: int, fps: float) -> float:
        # The stream's own presentation time is right for variable frame rates; some streams carry
        # none, and then the frame count and the declared rate are the best estimate.
        if msec > 0 or index == 0:
            return max(msec / 1000.0, self.last_t if index else 0.0)
        return index / fps

    def retrieve(self) -> np.ndarray:
        """The current frame, BGR as OpenCV gives it."""
        ok, bgr = self._capture.retrieve()
        if not ok or bgr is None or bgr.ndim != 3:
            raise MediaError(DAMAGED_VIDEO)
        height, width = bgr.shape[:2]
        # The header's frame size was checked at opening, but a stream may change size midway.
        if width * height > self._limits.max_pixels:
            raise MediaError(TOO_MANY_PIXELS.format(width=width, height=height, limit=self._limits.max_pixels))
        return bgr

    @property
    def duration_s(self) -> float:
        """Measured from the frames read so far, plus the last frame's own length."""
        return self.last_t + 1.0 / (self.info.fps or 30.0)


@contextmanager
def open_video(source: VideoSource, limits: VideoLimits = VideoLimits()) -> Iterator[OpenVideo]:
    """Open a video from bytes or a path, check it against ``limits`` and that its first frame
    decodes; raises MediaError with a reason written for the person who submitted it."""
    cv2 = _cv2()
    with _local_file(source, limits) as (path, container):
        # CAP_FFMPEG: a path must never be taken for an image-sequence pattern or a camera.
        capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
        try:
            yield _validated(capture, container, limits)
        finally:
            capture.release()


@contextmanager
def _local_file(source: VideoSource, limits: VideoLimits) -> Iterator[tuple[str, str]]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        container = _checked_container(len(data), data[:12], limits)
        # OpenCV reads only from a path; the file goes when the video is closed.
        with tempfile.NamedTemporaryFile(prefix="reclaim-video-", suffix=f".{container.lower()}") as file:
            file.write(data)
            file.flush()
            yield file.name, container
        return
    path = Path(source)
    with path.open("rb") as file:
        head = file.read(12)
    yield str(path), _checked_container(path.stat().st_size, head, limits)


def _checked_container(size: int, head: bytes, limits: VideoLimits) -> str:
    if size == 0:
        raise MediaError(EMPTY_FILE)
    if size > limits.max_bytes:
        raise MediaError(TOO_MANY_BYTES.format(size=size, limit=limits.max_bytes))
    container = container_of(head)
    if container is None:
        raise MediaError(NOT_A_VIDEO)
    return container


def _validated(capture, container: str, limits: VideoLimits) -> OpenVideo:
    cv2 = _cv2()
    if not capture.isOpened():
        # The container was recognised, so FFmpeg failed on its contents: an MP4 or MOV cut short
        # loses its index (at the end of the file) and cannot be opened at all.
        raise MediaError(DAMAGED_VIDEO)
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if width * height > limits.max_pixels:
        raise MediaError(TOO_MANY_PIXELS.format(width=width, height=height, limit=limits.max_pixels))
    info = VideoInfo(
        container=container,
        width=width,
        height=height,
        fps=_usable(capture.get(cv2.CAP_PROP_FPS), upper=1000.0),
        frame_count=_usable_count(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
    )
    declared = info.declared_duration_s
    if declared is not None and declared > limits.max_duration_s:
        raise MediaError(TOO_LONG.format(duration=declared, limit=limits.max_duration_s))
    if not capture.grab():
        raise MediaError(NO_FRAMES if not info.frame_count else DAMAGED_VIDEO)
    video = OpenVideo(capture, info, limits)
    video.retrieve()  # the first frame must decode to pixels, not only to packets
    return video


def _usable(value: float, *, upper: float) -> float | None:
    return float(value) if np.isfinite(value) and 0 < value <= upper else None


def _usable_count(value: float) -> int | None:
    # FFmpeg reports a negative or absurd count when the container does not say.
    return int(value) if np.isfinite(value) and 0 < value < 1e9 else None


# ---------------------------------------------------------------------------------------------------
# Sampling frames


class Signature(NamedTuple):
    layout: np.ndarray  # 16×16 grey thumbnail, zero mean, unit length; zeros when the frame is flat
    brightness: float
    colour: np.ndarray  # 8×8 hue-saturation histogram summing to 1


@dataclass(frozen=True)
class SampledFrame:
    t: float
    rgb: np.ndarray
    scene_cut: bool  # the picture changed abruptly since the last frame looked at


def frame_signature(bgr: np.ndarray) -> Signature:
    cv2 = _cv2()
    thumbnail = cv2.resize(bgr, (2 * SIGNATURE_SIDE, 2 * SIGNATURE_SIDE), interpolation=cv2.INTER_AREA)
    grey = cv2.resize(cv2.cvtColor(thumbnail, cv2.COLOR_BGR2GRAY), (SIGNATURE_SIDE, SIGNATURE_SIDE),
                      interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    bins = HUE_SATURATION_BINS
    hsv = cv2.cvtColor(thumbnail, cv2.COLOR_BGR2HSV)
    colour = cv2.calcHist([hsv], [0, 1], None, [bins, bins], [0, 180, 0, 256]).ravel()
    colour /= colour.sum()
    brightness = float(grey.mean())
    centred = grey - brightness
    if centred.std() < FLAT_SIGNATURE_STD:
        return Signature(np.zeros_like(centred), brightness, colour)
    return Signature(centred / np.linalg.norm(centred), brightness, colour)


def signature_change(a: Signature, b: Signature) -> float:
    """0 for the same picture; over SCENE_CHANGE for a different one (see there)."""
    colour = COLOUR_WEIGHT * 0.5 * float(np.abs(a.colour - b.colour).sum())
    a_flat, b_flat = not a.layout.any(), not b.layout.any()
    if a_flat and b_flat:
        layout = abs(a.brightness - b.brightness) / 255.0  # black to black, or between flat cards
    elif a_flat or b_flat:
        layout = 1.0
    else:
        layout = 1.0 - float(a.layout @ b.layout)
    return max(layout, colour)


def sample_frames(
    video: OpenVideo,
    *,
    sample_fps: float = DEFAULT_SAMPLE_FPS,
    check_fps: float = CHANGE_CHECK_FPS,
    scene_change: float = SCENE_CHANGE,
) -> Iterator[SampledFrame]:
    """Frames every ``1 / sample_fps`` seconds, and any frame looked at (``check_fps``) that differs
    from the last sampled one by more than ``scene_change``; the regular rate restarts after it."""
    cv2 = _cv2()
    sample_every = 1.0 / sample_fps
    check_every = 1.0 / max(check_fps, sample_fps)
    # Half a frame of slack: at 29.97 frames/s a frame at 0.4838 s is the one due at 0.5 s.
    slack = 0.5 / (video.info.fps or 30.0)
    next_sample = next_check = 0.0
    last_sampled = previous = None
    for t in video.timestamps():
        due = t + slack >= next_sample
        if not due and t + slack < next_check:
            continue
        bgr = video.retrieve()
        signature = frame_signature(bgr)
        next_check = t + check_every
        cut = previous is not None and signature_change(previous, signature) > scene_change
        changed = last_sampled is not None and signature_change(last_sampled, signature) > scene_change
        previous = signature
        if due or changed:
            last_sampled = signature
            next_sample = t + sample_every
            yield SampledFrame(t=t, rgb=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), scene_cut=cut)


# ---------------------------------------------------------------------------------------------------
# Following faces


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


def associate(previous: Sequence[Box], current: Sequence[Box]) -> list[tuple[int, int]]:
    """Pairs (previous index, current index) of boxes taken to show the same face.

    Overlapping boxes pair first, best overlap first; then boxes near each other and of a similar
    size, nearest first. Greedy is enough for the handful of faces a frame holds.
    """
    candidates = []
    for i, before in enumerate(previous):
        for j, now in enumerate(current):
            overlap = iou(before, now)
            if overlap >= MIN_IOU:
                candidates.append((1.0 + overlap, i, j))
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


def view_quality(rgb: np.ndarray, box: Box) -> float:
    """Face area × sharpness (variance of the Laplacian of the face), halved for each frame edge
    that cuts the box."""
    cv2 = _cv2()
    face = rgb[box.top : box.bottom, box.left : box.right]
    if face.size == 0:
        return 0.0
    sharpness = float(cv2.Laplacian(cv2.cvtColor(face, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())
    height, width = rgb.shape[:2]
    cut_edges = (box.top <= 0) + (box.left <= 0) + (box.bottom >= height) + (box.right >= width)
    return box.width * box.height * sharpness * EDGE_PENALTY**cut_edges


@dataclass
class _View:
    quality: float
    t: float
    box: Box
    crop: np.ndarray  # the face with a margin, kept so the frame itself need not be
    box_in_crop: Box


def _view(t: float, rgb: np.ndarray, box: Box, quality: float) -> _View:
    height, width = rgb.shape[:2]
    margin_x, margin_y = round(box.width * CROP_MARGIN), round(box.height * CROP_MARGIN)
    top, left = max(0, box.top - margin_y), max(0, box.left - margin_x)
    bottom, right = min(height, box.bottom + margin_y), min(width, box.right + margin_x)
    crop = np.ascontiguousarray(rgb[top:bottom, left:right])
    return _View(quality, t, box, crop, Box(box.top - top, box.right - left, box.bottom - top, box.left - left))


@dataclass
class _Track:
    track_id: int
    boxes: list[tuple[float, Box]] = field(default_factory=list)
    views: list[_View] = field(default_factory=list)
    missed: int = 0

    def add(self, t: float, rgb: np.ndarray, box: Box, keep: int) -> None:
        self.boxes.append((t, box))
        self.missed = 0
        quality = view_quality(rgb, box)
        if len(self.views) < keep:
            self.views.append(_view(t, rgb, box, quality))
            return
        worst = min(range(len(self.views)), key=lambda k: self.views[k].quality)
        if quality > self.views[worst].quality:
            self.views[worst] = _view(t, rgb, box, quality)


class FaceTracker:
    """Follows faces from one sampled frame to the next and keeps each track's best views."""

    def __init__(self, *, keep_best: int = DEFAULT_EMBEDS_PER_TRACK, max_missed: int = MAX_MISSED_SAMPLES):
        self._keep = keep_best
        self._max_missed = max_missed
        self._active: list[_Track] = []
        self._ended: list[_Track] = []
        self._next_id = 1

    def update(self, t: float, rgb: np.ndarray, boxes: Sequence[Box]) -> None:
        tracks = self._active
        pairs = associate([track.boxes[-1][1] for track in tracks], boxes)
        for i, j in pairs:
            tracks[i].add(t, rgb, boxes[j], self._keep)
        matched_tracks = {i for i, _ in pairs}
        for i, track in enumerate(tracks):
            if i not in matched_tracks:
                track.missed += 1
        self._ended.extend(track for track in tracks if track.missed > self._max_missed)
        self._active = [track for track in tracks if track.missed <= self._max_missed]
        matched_boxes = {j for _, j in pairs}
        for j, box in enumerate(boxes):
            if j not in matched_boxes:
                track = _Track(self._next_id)
                self._next_id += 1
                track.add(t, rgb, box, self._keep)
                self._active.append(track)

    def end_all(self) -> None:
        """At a scene cut: a face in the same place after a cut is not evidence of the same person."""
        self._ended.extend(self._active)
        self._active = []

    def pop_ended(self) -> list[_Track]:
        ended, self._ended = self._ended, []
        return ended


def _embedded(track: _Track) -> FaceTrack:
    views = sorted(track.views, key=lambda view: view.quality, reverse=True)
    best = [
        BestFace(view.t, view.box, view.quality, faces.embed(view.crop, [view.box_in_crop])[0]) for view in views
    ]
    return FaceTrack(
        track_id=track.track_id,
        first_t=track.boxes[0][0],
        last_t=track.boxes[-1][0],
        boxes=track.boxes,
        best=best,
    )


# ---------------------------------------------------------------------------------------------------
# Scanning


class FrameHash(NamedTuple):
    t: float
    pdq_hex: str
    quality: int


@dataclass(frozen=True)
class VideoScan:
    duration_s: float
    fps: float | None
    width: int
    height: int
    frames_sampled: int
    tracks: list[FaceTrack]
    frame_hashes: list[FrameHash]  # the video's vPDQ hash: one PDQ hash per sampled frame


def frame_hash(t: float, rgb: np.ndarray) -> FrameHash:
    cv2 = _cv2()
    height, width = rgb.shape[:2]
    scale = PDQ_MAX_SIDE / max(height, width)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    found = hashes.pdq(rgb)
    return FrameHash(t, found.hex, int(found.quality or 0))


def scan_video(
    source: VideoSource,
    *,
    limits: VideoLimits = VideoLimits(),
    sample_fps: float = DEFAULT_SAMPLE_FPS,
    max_embeds_per_track: int = DEFAULT_EMBEDS_PER_TRACK,
) -> VideoScan:
    """Sample a video, hash every sampled frame, and find and follow faces, embedding at most
    ``max_embeds_per_track`` views of each. Raises MediaError for a video that cannot be scanned."""
    tracks: list[FaceTrack] = []
    frame_hashes: list[FrameHash] = []
    with open_video(source, limits) as video:
        tracker = FaceTracker(keep_best=max_embeds_per_track)
        for frame in sample_frames(video, sample_fps=sample_fps):
            frame_hashes.append(frame_hash(frame.t, frame.rgb))
            if frame.scene_cut:
                tracker.end_all()
            tracker.update(frame.t, frame.rgb, faces.detect(frame.rgb))
            # Embedding as each track ends frees its kept crops early.
            tracks.extend(_embedded(track) for track in tracker.pop_ended())
        tracker.end_all()
        tracks.extend(_embedded(track) for track in tracker.pop_ended())
        return VideoScan(
            duration_s=video.duration_s,
            fps=video.info.fps,
            width=video.info.width,
            height=video.info.height,
            frames_sampled=len(frame_hashes),
            tracks=sorted(tracks, key=lambda track: track.track_id),
            frame_hashes=frame_hashes,
        )


# ---------------------------------------------------------------------------------------------------
# vPDQ


class VpdqShares(NamedTuple):
    query: float  # share of the query's frames that match some known frame
    known: float  # share of the known video's frames that match some query frame


def match_vpdq(
    query: Sequence[FrameHash],
    known: Sequence[FrameHash],
    *,
    distance: int = VPDQ_DISTANCE,
    quality_min: int = VPDQ_QUALITY_MIN,
) -> VpdqShares:
    """Meta's vPDQ brute-force comparison: frames are a bag of unique hashes (order and time are not
    used), frames under ``quality_min`` are left out, and a frame matches when any frame of the other
    video is within ``distance`` bits. A side with no frames left shares 0.0."""
    query_words = _unique_words(query, quality_min)
    known_words = _unique_words(known, quality_min)
    if not len(query_words) or not len(known_words):
        return VpdqShares(0.0, 0.0)
    query_matched = np.zeros(len(query_words), dtype=bool)
    known_matched = np.zeros(len(known_words), dtype=bool)
    # In row blocks, so an hour at 2 frames/s (7,200 × 7,200 pairs) stays within a few MB.
    for start in range(0, len(query_words), 256):
        block = query_words[start : start + 256]
        bits = np.bitwise_count(block[:, None, :] ^ known_words[None, :, :]).sum(axis=2)
        within = bits <= distance
        query_matched[start : start + 256] = within.any(axis=1)
        known_matched |= within.any(axis=0)
    return VpdqShares(float(query_matched.mean()), float(known_matched.mean()))


def _unique_words(frames: Sequence[FrameHash], quality_min: int) -> np.ndarray:
    unique = sorted({frame.pdq_hex for frame in frames if frame.quality >= quality_min})
    if not unique:
        return np.zeros((0, 4), dtype=np.uint64)
    # A 256-bit hash as four 64-bit words, so XOR and bit counts run on whole arrays.
    packed = b"".join(bytes.fromhex(value) for value in unique)
    return np.frombuffer(packed, dtype=">u8").astype(np.uint64).reshape(-1, 4)


def vpdq_same_video(
    shares: VpdqShares, *, query_min: float = SAME_VIDEO_SHARE, known_min: float = SAME_VIDEO_SHARE
) -> bool:
    return shares.query >= query_min and shares.known >= known_min


# ---------------------------------------------------------------------------------------------------
# Bench


def baseline_per_frame(
    path: str | os.PathLike, sample_every_frame: bool = True
) -> list[tuple[float, list[np.ndarray]]]:
    """The naive way, as face_recognition's own video example does it, for the bench to compare with:
    find and embed every face on every frame at full resolution, no tracking. With
    ``sample_every_frame=False`` only frames at DEFAULT_SAMPLE_FPS are processed. Trusted files only:
    no limits are applied."""
    cv2 = _cv2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # face_recognition_models imports pkg_resources
        import face_recognition
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    fps = _usable(capture.get(cv2.CAP_PROP_FPS), upper=1000.0) or 30.0
    every = 1 if sample_every_frame else max(1, round(fps / DEFAULT_SAMPLE_FPS))
    found, index = [], 0
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            if index % every == 0:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                locations = face_recognition.face_locations(rgb)
                embeddings = face_recognition.face_encodings(rgb, locations)
                found.append((index / fps, [np.asarray(e) for e in embeddings]))
            index += 1
    finally:
        capture.release()
    return found


def bench_video(
    path: str | os.PathLike,
    *,
    references: Mapping[str, np.ndarray] | None = None,
    with_baseline: bool = False,
) -> dict:
    """CPU seconds of scan_video on a 1280×720 copy of ``path`` (made in a temporary file unless it
    is 720p already), as video seconds scanned per CPU-second; with ``with_baseline`` the same for
    baseline_per_frame. ``references`` (name → embedding) are reported as found or not by each."""
    with _at_bench_size(path) as clip:
        start = time.process_time()
        scan = scan_video(clip)
        scan_cpu = time.process_time() - start
        result = {
            "video": Path(path).name,
            "size": f"{scan.width}x{scan.height}",
            "duration_s": round(scan.duration_s, 2),
            "frames_sampled": scan.frames_sampled,
            "tracks": len(scan.tracks),
            "embeddings": sum(len(track.best) for track in scan.tracks),
            "scan_cpu_s": round(scan_cpu, 2),
            "scan_video_s_per_cpu_s": round(scan.duration_s / scan_cpu, 3),
        }
        if references is not None:
            result["scan_identities"] = _identities([e for t in scan.tracks for e in t.embeddings], references)
        if with_baseline:
            start = time.process_time()
            per_frame = baseline_per_frame(clip)
            baseline_cpu = time.process_time() - start
            embeddings = [e for _, found in per_frame for e in found]
            result.update(
                baseline_frames=len(per_frame),
                baseline_embeddings=len(embeddings),
                baseline_cpu_s=round(baseline_cpu, 2),
                baseline_video_s_per_cpu_s=round(scan.duration_s / baseline_cpu, 3),
                speedup=round(baseline_cpu / scan_cpu, 1),
            )
            if references is not None:
                result["baseline_identities"] = _identities(embeddings, references)
    return result


def _identities(embeddings: list[np.ndarray], references: Mapping[str, np.ndarray]) -> list[str]:
    if not embeddings:
        return []
    probes = np.stack(embeddings)
    return sorted(
        name
        for name, reference in references.items()
        if np.linalg.norm(probes - reference, axis=1).min() <= BENCH_LIKENESS_THRESHOLD
    )


@contextmanager
def _at_bench_size(path: str | os.PathLike) -> Iterator[str]:
    cv2 = _cv2()
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    fps = _usable(capture.get(cv2.CAP_PROP_FPS), upper=1000.0) or 30.0
    if size == BENCH_SIZE:
        capture.release()
        yield str(path)
        return
    with tempfile.NamedTemporaryFile(prefix="reclaim-bench-", suffix=".mp4") as file:
        writer = cv2.VideoWriter(file.name, cv2.VideoWriter_fourcc(*"mp4v"), fps, BENCH_SIZE)
        try:
            while True:
                ok, bgr = capture.read()
                if not ok:
                    break
                writer.write(cv2.resize(bgr, BENCH_SIZE, interpolation=cv2.INTER_CUBIC))
        finally:
            writer.release()
            capture.release()
        yield file.name
