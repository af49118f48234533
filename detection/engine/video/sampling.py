"""Choose the frames of a video to look at: a steady rate, plus the first frame after a scene cut.

Frames are sampled at a steady rate and also where the picture changes, so a face seen only briefly
after a cut is still looked at while a long static shot costs little.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from detection.engine.video.opening import OpenVideo

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
    import cv2

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
    import cv2

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
