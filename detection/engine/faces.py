"""Find faces and compute their templates (dlib's ResNet embedding via face_recognition).

Detection runs on a downscaled copy, because HOG's cost grows with pixel count and faces big enough
to identify survive the downscale; the boxes are mapped back and the embedding is computed on the
full-resolution pixels, where the detail is. Landmarks use the 5-point model (public domain), never
the 68-point iBUG model (non-commercial licence).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np

MODEL_NAME = "dlib_face_recognition_resnet_model_v1"
DETECT_MAX_SIDE = 800
EMBEDDING_SIZE = 128


@dataclass(frozen=True)
class Box:
    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def as_dict(self) -> dict[str, int]:
        return {"top": self.top, "right": self.right, "bottom": self.bottom, "left": self.left}


@dataclass(frozen=True)
class Face:
    box: Box
    embedding: np.ndarray  # float64, shape (128,)


@cache
def _face_recognition():
    # face_recognition_models still imports pkg_resources; the warning is not actionable here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import face_recognition
    return face_recognition


@cache
def model_version() -> str:
    import dlib

    return f"{MODEL_NAME} (face_recognition {_face_recognition().__version__}, dlib {dlib.__version__})"


def _downscale(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    height, width = rgb.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return rgb, 1.0
    import cv2

    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def detect(rgb: np.ndarray, *, max_side: int = DETECT_MAX_SIDE) -> list[Box]:
    """Face boxes in full-resolution coordinates."""
    fr = _face_recognition()
    small, scale = _downscale(rgb, max_side)
    # One upsampling pass lets HOG see faces down to ~40 px in the downscaled copy.
    locations = fr.face_locations(small, number_of_times_to_upsample=1, model="hog")
    height, width = rgb.shape[:2]
    boxes = []
    for top, right, bottom, left in locations:
        boxes.append(
            Box(
                top=max(0, round(top / scale)),
                right=min(width, round(right / scale)),
                bottom=min(height, round(bottom / scale)),
                left=max(0, round(left / scale)),
            )
        )
    return boxes


def embed(rgb: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
    if not boxes:
        return []
    fr = _face_recognition()
    locations = [(b.top, b.right, b.bottom, b.left) for b in boxes]
    return [np.asarray(e) for e in fr.face_encodings(rgb, known_face_locations=locations, model="small")]


def find_faces(rgb: np.ndarray) -> list[Face]:
    boxes = detect(rgb)
    return [Face(box=b, embedding=e) for b, e in zip(boxes, embed(rgb, boxes), strict=True)]
