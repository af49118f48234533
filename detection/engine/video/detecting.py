"""Faces in a sampled frame: what HOG finds, the windows it nearly took, and a second opinion.

A small face in a wide shot sits near HOG's decision threshold, so HOG finds it in one frame and
not the next: on short_hamilton_clip.mp4 at 720p, Alex Lacamoire (a 52 px face at the piano) scores
from −0.46 to +0.13 over the 20 frames of his shot and passes HOG's threshold (0) in only two of
them, neither of them a sampled frame. Sampling more densely cannot make that reliable short of
looking at every frame. Instead the search that already runs on each sampled frame also keeps its
near misses (*weak* boxes), at no extra cost, and the tracker uses them two ways (tracking.py):

- a weak box that overlaps a face already being followed continues its track (hysteresis: HOG
  found that face before; a lower score now is a turned head or blur, not a different object);
- a weak box seen again at the same place in the next sample is shown to dlib's CNN face detector,
  on a small crop around it; only if the CNN finds a face there does it become a track.

The second opinion is needed because near misses are mostly not faces: on the face test set (76
photos and 9 without faces) 1 of the 16 windows scoring from −0.5 to 0 is a face HOG missed, and on
the Hamilton clip a wall ornament and an ear score as high as Alex does. dlib's CNN (MMOD) detector
turned all of those down and confirmed Alex and the missed face. Both detectors ship with
face_recognition_models and are public domain (dlib-models README); the CNN costs about 0.15 s a
crop on one core, where a whole 720p frame would cost seconds, so it is asked only about near misses
that persist, once per track.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np

from detection.engine import faces
from detection.engine.faces import Box, DetectionPolicy
from detection.engine.video.tracking import associate

# HOG windows scoring from here up to its own threshold (0) are kept as weak boxes. Measured with
# the fine pass that faces.detect runs: Alex Lacamoire's face in the Hamilton clip scores −0.46 at
# its lowest, the face HOG misses in the face test set −0.45; of the 231 windows from −1.0 to −0.5
# on that set, none is a face HOG missed (17 are offsets of faces it found). Every window kept costs
# tracking work and, if it persists, a CNN look, so the threshold is no lower than the faces need.
WEAK_SCORE = -0.5
# The crop shown to the CNN: the box with half its width on each side (a HOG box runs from the
# brows to the chin, so this holds the whole head and some background), scaled so the box is 80 px
# wide: dlib's MMOD face model scans 80×80 windows, like the HOG model, and an 80 px face is the
# smallest it sees without upsampling the crop (scaled to 60 px, Alex was missed in both frames tried).
SECOND_OPINION_MARGIN = 0.5
SECOND_OPINION_FACE = faces.HOG_WINDOW


class FrameFaces(NamedTuple):
    faces: list[Box]  # what faces.detect finds on the frame
    weak: list[Box]  # HOG's near misses: windows scoring from WEAK_SCORE up to its threshold


def detect_with_near_misses(rgb: np.ndarray, policy: DetectionPolicy = faces.DEFAULT_POLICY) -> FrameFaces:
    """``faces.detect``'s answer, plus the final pass's near misses. A close-up (one dominant face)
    has no weak boxes: its fine pass is not run at all."""
    return _split(faces.detect_scored(rgb, policy, weakest=WEAK_SCORE))


def _split(scored: list[tuple[Box, float]]) -> FrameFaces:
    found = [box for box, score in scored if score >= 0]
    # A near miss centred inside a found face is that face seen off-centre (2 of the 15 near misses
    # on the face test set), not another face; a neighbour's centre lies outside the face's box.
    weak = [box for box, score in scored if score < 0 and not any(_centre_inside(box, face) for face in found)]
    return FrameFaces(found, weak)


def _centre_inside(box: Box, face: Box) -> bool:
    row, column = (box.top + box.bottom) / 2, (box.left + box.right) / 2
    return face.top <= row <= face.bottom and face.left <= column <= face.right


@cache
def _cnn_detector():
    import warnings

    import dlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # face_recognition_models imports pkg_resources
        import face_recognition_models as models
    return dlib.cnn_face_detection_model_v1(models.cnn_face_detector_model_location())


def second_opinion(rgb: np.ndarray, box: Box) -> bool:
    """Whether dlib's CNN face detector finds a face at ``box`` (the tracker's pairing rule) in a
    small crop around it."""
    import cv2

    height, width = rgb.shape[:2]
    margin = round(SECOND_OPINION_MARGIN * max(box.width, 1))
    top, left = max(0, box.top - margin), max(0, box.left - margin)
    bottom, right = min(height, box.bottom + margin), min(width, box.right + margin)
    if bottom <= top or right <= left:
        return False
    scale = SECOND_OPINION_FACE / max(box.width, 1)
    crop = cv2.resize(
        np.ascontiguousarray(rgb[top:bottom, left:right]),
        (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    found = [
        Box(
            top=top + round(d.rect.top() / scale),
            right=left + round(d.rect.right() / scale),
            bottom=top + round(d.rect.bottom() / scale),
            left=left + round(d.rect.left() / scale),
        )
        for d in _cnn_detector()(crop, 0)
    ]
    return bool(associate([box], found))
