"""A video's vPDQ hash (one PDQ hash per sampled frame), Meta's vPDQ comparison, and the line a known
video's frame hashes travel in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from detection.engine import hashes

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


class FrameHash(NamedTuple):
    t: float
    pdq_hex: str
    quality: int


class VpdqShares(NamedTuple):
    query: float  # share of the query's frames that match some known frame
    known: float  # share of the known video's frames that match some query frame


def frame_hash(t: float, rgb: np.ndarray) -> FrameHash:
    import cv2

    height, width = rgb.shape[:2]
    scale = PDQ_MAX_SIDE / max(height, width)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    found = hashes.pdq(rgb)
    return FrameHash(t, found.hex, int(found.quality or 0))


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


# A known video's frame hashes on one line, as the browser (casework/static/casework/hashing/vpdq.js) and
# hash_files write them and the portal, the desk and the public form read them: "vpdq:", then each sampled
# frame as "seconds,PDQ hex,quality" (the fields of Meta's vPDQ output, less the frame number), frames
# apart by ";". One line per video keeps "one line, one known thing" for the parsers and the saved file.
VPDQ_PREFIX = "vpdq:"
# An hour at 2 frames a second (MEDIA_MAX_DURATION_S's default), and the scene cuts of a busy hour.
VPDQ_MAX_FRAMES = 10_000
_FRAME = re.compile(r"^(\d{1,6}(?:\.\d{1,6})?),([0-9a-f]{64}),(\d{1,3})$")


def vpdq_body(frames: Sequence[FrameHash]) -> str:
    """A vPDQ line's body: for each frame, seconds, PDQ hash and quality, frames apart by ";"."""
    return ";".join(f"{frame.t:.3f},{frame.pdq_hex},{frame.quality}" for frame in frames)


def vpdq_line(frames: Sequence[FrameHash], name: str = "") -> str:
    comment = " ".join(name.splitlines())  # a file name must not start a line of its own
    return f"{VPDQ_PREFIX}{vpdq_body(frames)}" + (f"  # {comment}" if comment else "")


def vpdq_parse(body: str) -> list[FrameHash]:
    """The frames of a vPDQ line's body (after "vpdq:", before any "#"). Raises ValueError for anything
    else: a frame that is not "seconds,64 hex digits,quality", a quality over 100, no frames, or too many."""
    frames = []
    for part in body.strip().lower().split(";"):
        match = _FRAME.match(part.strip())
        if match is None or int(match[3]) > 100:
            raise ValueError(f"not a frame hash: {part[:80]!r}")
        frames.append(FrameHash(float(match[1]), match[2], int(match[3])))
    if not frames or len(frames) > VPDQ_MAX_FRAMES:
        raise ValueError(f"{len(frames)} frames; a line holds 1 to {VPDQ_MAX_FRAMES}")
    return frames
