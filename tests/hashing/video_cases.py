"""What the engine computes for synthetic video frames and synthetic videos (``video_cases.json``,
beside this file), for the browser's video hasher tests (tests/hashing/video.test.mjs).

Frames are the images of tests/hashing/cases.py; a synthetic video is a list of scenes, each one of
those images sliding sideways a few pixels a frame, so the JSON holds only the recipe and what the
engine's own sample_frames and frame_hash give for it. Regenerate after upgrading opencv or pdqhash:

    .venv/bin/python -m tests.hashing.video_cases
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from tests.hashing.cases import rgba

CASES_FILE = Path(__file__).with_name("video_cases.json")

# (kind, width, height, seed): frame_hash's copy (≤ 640 px, INTER_AREA) and the signature's thumbnails.
FRAMES = [
    ("blocks", 1280, 720, 11),  # exact 2× to 640×360
    ("noise", 1920, 1080, 12),  # exact 3×
    ("gradient", 854, 480, 13),  # fractional ratio
    ("blocks", 640, 360, 14),  # no copy; 20× and 11.25× to the 32×32 thumbnail
    ("noise", 300, 200, 15),
]

# Videos: fps, then scenes of (kind, width, height, seed, frames, pixels slid a frame). Small frames
# keep the node test quick; the cuts fall between regular samples, where only the checks find them.
VIDEOS = [
    {"name": "three scenes at 25 frames/s", "fps": 25.0, "scenes": [
        ("blocks", 96, 64, 21, 18, 2), ("gradient", 96, 64, 22, 23, 3), ("noise", 96, 64, 23, 19, 1)]},
    {"name": "short shots at 29.97 frames/s", "fps": 30000 / 1001, "scenes": [
        ("blocks", 80, 60, 31, 20, 1), ("blocks", 80, 60, 32, 7, 1), ("gradient", 80, 60, 33, 25, 2),
        ("blocks", 80, 60, 34, 30, 4)]},
    {"name": "a flat black card between scenes at 30 frames/s", "fps": 30.0, "scenes": [
        ("noise", 64, 48, 41, 16, 2), ("black", 64, 48, 0, 10, 0), ("blocks", 64, 48, 42, 20, 3)]},
]
# A flash: a still picture, a different one for 3 frames between two regular samples, then the first
# again. The engine samples the flash; the browser's look-ahead does not (see video_sampling.js).
FLASH = {"name": "a three-frame flash at 25 frames/s", "fps": 25.0, "scenes": [
    ("blocks", 96, 64, 51, 16, 0), ("noise", 96, 64, 52, 3, 0), ("blocks", 96, 64, 51, 24, 0)]}


def scene_frames(scene) -> list[np.ndarray]:
    """H×W×3 RGB frames of one scene, as video.test.mjs makes them: the picture slid left by
    ``step`` pixels a frame (wrapping), starting ``offset`` frames in."""
    kind, width, height, seed, count, step, *rest = scene
    offset = rest[0] if rest else 0
    if kind == "black":
        base = np.zeros((height, width, 3), dtype=np.uint8)
    else:
        base = rgba(kind, width, height, seed)[:, :, :3]
    return [np.ascontiguousarray(np.roll(base, -((offset + k) * step), axis=1)) for k in range(count)]


class _Video:
    """The part of detection.engine.video.opening.OpenVideo that sample_frames reads."""

    def __init__(self, frames: list[np.ndarray], fps: float):
        from detection.engine.video.opening import VideoInfo

        height, width = frames[0].shape[:2]
        self.info = VideoInfo(container="MP4", width=width, height=height, fps=fps, frame_count=len(frames))
        self._frames, self._index = frames, 0

    def timestamps(self):
        for index in range(len(self._frames)):
            self._index = index
            yield index / self.info.fps

    def retrieve(self) -> np.ndarray:
        import cv2

        return cv2.cvtColor(self._frames[self._index], cv2.COLOR_RGB2BGR)


def video_expected(video: dict) -> dict:
    from detection.engine.video.sampling import sample_frames
    from detection.engine.video.vpdq import frame_hash

    frames = [frame for scene in video["scenes"] for frame in scene_frames(scene)]
    sampled = [(round(s.t * video["fps"]), frame_hash(s.t, s.rgb)) for s in sample_frames(_Video(frames, video["fps"]))]
    return {**video, "frames": len(frames),
            "sampled": [{"index": index, "pdq": h.pdq_hex, "quality": h.quality} for index, h in sampled]}


def frame_expected(kind: str, width: int, height: int, seed: int) -> dict:
    import cv2

    from detection.engine.video.sampling import frame_signature
    from detection.engine.video.vpdq import frame_hash

    rgb = np.ascontiguousarray(rgba(kind, width, height, seed)[:, :, :3])
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    found = frame_hash(0.0, rgb)
    thumbnail = cv2.resize(bgr, (32, 32), interpolation=cv2.INTER_AREA)
    grey = cv2.resize(cv2.cvtColor(thumbnail, cv2.COLOR_BGR2GRAY), (16, 16), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(thumbnail, cv2.COLOR_BGR2HSV)
    counts = cv2.calcHist([hsv], [0, 1], None, [8, 8], [0, 180, 0, 256]).ravel()
    signature = frame_signature(bgr)
    return {
        "kind": kind, "width": width, "height": height, "seed": seed,
        "pdq": found.pdq_hex, "quality": found.quality,
        "grey16_sha256": hashlib.sha256(grey.tobytes()).hexdigest(),
        "hue_saturation_counts": [int(c) for c in counts],
        "brightness": signature.brightness,
    }


def changes_expected() -> list[dict]:
    """signature_change between each pair of FRAMES (and of a black frame), rounded to 6 places."""
    import cv2

    from detection.engine.video.sampling import frame_signature, signature_change

    signatures = [frame_signature(cv2.cvtColor(rgba(*recipe)[:, :, :3], cv2.COLOR_RGB2BGR)) for recipe in FRAMES]
    signatures.append(frame_signature(np.zeros((48, 64, 3), dtype=np.uint8)))
    return [{"a": a, "b": b, "change": round(float(signature_change(signatures[a], signatures[b])), 6)}
            for a in range(len(signatures)) for b in range(len(signatures)) if a < b]


def all_expected() -> dict:
    return {
        "frames": [frame_expected(*recipe) for recipe in FRAMES],
        "changes": changes_expected(),
        "videos": [video_expected(video) for video in VIDEOS],
        "flash": video_expected(FLASH),
    }


if __name__ == "__main__":
    CASES_FILE.write_text(json.dumps(all_expected(), indent=1) + "\n")
    print(f"Wrote {CASES_FILE}")
