"""Find faces and compute their templates (dlib's HOG detector and ResNet embedding).

Detection is a cascade, because HOG's cost grows with the pixels it scans and most media are
close-ups:

1. a *coarse* pass looks only for faces big enough to make the picture a close-up (a
   ``dominant_fraction`` of its short side), on a grayscale copy just large enough for HOG's
   80-pixel window to see them: a few tens of milliseconds;
2. unless that pass found exactly one face (a close-up), a *fine* pass searches down to ``min_face``
   pixels (at the ``max_side`` working scale, as face_recognition's own CLI does), upsampling only
   when the picture is too small for HOG's 80-pixel window to see a face that size.

So a close-up costs one cheap pass, while group photos and wide scenes get the full search that
the slow default would give them: speed does not cost recall where small faces are likely.
Templates are computed from the full-resolution pixels. Landmarks use the 5-point model (public
domain); the 68-point iBUG model (non-commercial licence) is never loaded.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache

import numpy as np

MODEL_NAME = "dlib_face_recognition_resnet_model_v1"
EMBEDDING_SIZE = 128
HOG_WINDOW = 80  # dlib's frontal detector scans 80×80 windows: smaller faces need a bigger picture


@dataclass(frozen=True)
class DetectionPolicy:
    max_side: int = 1600  # as face_recognition's CLI: detail beyond this is not searched
    min_face: int = 40  # smallest face searched, in pixels at the max_side scale (the CLI's floor)
    dominant_fraction: float = 0.2  # a face this share of the short side marks a close-up
    exhaustive: bool = False  # always run the fine pass (evaluation, or media that matters most)


DEFAULT_POLICY = DetectionPolicy()


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
class FaceQuality:
    """How usable a face is for identification, for ranking and for reviewers; not calibrated.

    ``size`` is the box's shorter side in pixels, ``sharpness`` the variance of the Laplacian of
    the face scaled to 64 px (below ~20 looks blurred), ``frontal`` 1.0 for a nose centred between
    the eyes and 0.0 for a full profile. ``score`` multiplies their [0, 1] versions.
    """

    score: float
    size: int
    sharpness: float
    frontal: float

    def as_dict(self) -> dict[str, float]:
        return {"score": round(self.score, 3), "size": self.size, "sharpness": round(self.sharpness, 1),
                "frontal": round(self.frontal, 3)}


@dataclass(frozen=True)
class Face:
    box: Box
    embedding: np.ndarray = field(repr=False)  # float64, shape (128,)
    quality: FaceQuality | None = None


@cache
def _dlib_models():
    """dlib's HOG detector, the 5-point landmark model and the ResNet encoder, loaded once.

    Loaded from face_recognition_models' files directly: importing face_recognition.api would also
    load the 68-point model (non-commercial licence, 95 MB) and the CNN detector, which we never use.
    """
    # face_recognition_models still imports pkg_resources; the warning is not actionable here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import face_recognition_models as models
    import dlib

    return (
        dlib,
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(models.pose_predictor_five_point_model_location()),
        dlib.face_recognition_model_v1(models.face_recognition_model_location()),
    )


@cache
def model_version() -> str:
    from importlib.metadata import version

    import dlib

    # face_recognition.__version__ still says 1.2.3 in the 1.3.0 release; ask the installed package.
    return f"{MODEL_NAME} (face_recognition {version('face-recognition')}, dlib {dlib.__version__})"


def _gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb


def _hog(gray: np.ndarray, scale: float, weakest: float = 0.0) -> list[tuple[Box, float]]:
    """HOG detections scoring at least ``weakest`` on ``gray`` resized by ``scale``, in ``gray``'s
    coordinates, with their scores (0 is dlib's own threshold; below it are near misses).

    Grayscale: dlib's HOG takes the strongest of three colour gradients, and one channel finds the
    same faces for about two thirds of the time (measured on the face test set).
    """
    import cv2

    _, detector, _, _ = _dlib_models()
    height, width = gray.shape[:2]
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        gray = cv2.resize(gray, size, interpolation=interpolation)
    rectangles, scores, _ = detector.run(gray, 0, weakest)
    return [
        (
            Box(
                top=max(0, round(r.top() / scale)),
                right=min(width, round(r.right() / scale)),
                bottom=min(height, round(r.bottom() / scale)),
                left=max(0, round(r.left() / scale)),
            ),
            float(score),
        )
        for r, score in zip(rectangles, scores, strict=True)
    ]


def coarse_scale_for(shape: tuple[int, ...], policy: DetectionPolicy = DEFAULT_POLICY) -> float:
    """The scale at which a face of ``dominant_fraction`` of the short side fills HOG's window."""
    return min(1.0, HOG_WINDOW / (policy.dominant_fraction * min(shape[:2])))


def detect_scored(
    rgb: np.ndarray, policy: DetectionPolicy = DEFAULT_POLICY, *, weakest: float = 0.0
) -> list[tuple[Box, float]]:
    """The cascade's boxes with their HOG scores, down to ``weakest`` in its final pass (the video
    tracker keeps following a face whose score dips just below 0)."""
    gray = _gray(rgb)
    height, width = gray.shape[:2]
    coarse_scale = coarse_scale_for(gray.shape, policy)
    working_scale = min(1.0, policy.max_side / max(height, width))
    smallest_face = policy.min_face / working_scale  # in full-resolution pixels
    fine_scale = HOG_WINDOW / smallest_face  # where that face fills the HOG window
    if fine_scale <= coarse_scale:
        return _hog(gray, coarse_scale, weakest)  # the coarse pass already looks at that detail
    coarse = _hog(gray, coarse_scale)
    # A close-up: one face, and a dominant one (HOG also finds faces a little under its window).
    # None, or a group, goes on: that is where small faces hide.
    if not policy.exhaustive and len(coarse) == 1:
        box = coarse[0][0]
        if min(box.width, box.height) >= policy.dominant_fraction * min(height, width):
            return coarse
    # The fine pass's pyramid covers every size from smallest_face up, coarse faces included.
    return _hog(gray, fine_scale, weakest)


def detect(rgb: np.ndarray, policy: DetectionPolicy = DEFAULT_POLICY) -> list[Box]:
    """Face boxes in full-resolution coordinates (see the module docstring for the cascade)."""
    return [box for box, score in detect_scored(rgb, policy) if score >= 0]


def _landmarks(rgb: np.ndarray, boxes: list[Box]):
    dlib, _, predictor, _ = _dlib_models()
    return [predictor(rgb, dlib.rectangle(b.left, b.top, b.right, b.bottom)) for b in boxes]


def embed(rgb: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
    """One template per box, from the full-resolution pixels."""
    return [face.embedding for face in describe(rgb, boxes)]


def describe(rgb: np.ndarray, boxes: list[Box]) -> list[Face]:
    """Templates and quality for the given boxes."""
    if not boxes:
        return []
    _, _, _, encoder = _dlib_models()
    rgb = np.ascontiguousarray(rgb)
    faces = []
    for box, shape in zip(boxes, _landmarks(rgb, boxes), strict=True):
        embedding = np.asarray(encoder.compute_face_descriptor(rgb, shape, 1))
        faces.append(Face(box=box, embedding=embedding, quality=face_quality(rgb, box, shape)))
    return faces


def face_quality(rgb: np.ndarray, box: Box, shape=None) -> FaceQuality:
    import cv2

    size = max(0, min(box.width, box.height))
    crop = _gray(rgb[max(0, box.top) : box.bottom, max(0, box.left) : box.right])
    sharpness = 0.0
    if crop.size:
        crop = cv2.resize(crop, (64, 64), interpolation=cv2.INTER_AREA)
        sharpness = float(cv2.Laplacian(crop, cv2.CV_64F).var())
    frontal = _frontal(shape) if shape is not None else 1.0
    size_term = float(np.clip((size - 30) / 70, 0, 1))  # 30 px: barely a face; 100 px: plenty
    sharp_term = float(np.clip(sharpness / 100, 0, 1))
    return FaceQuality(score=size_term * sharp_term * frontal, size=size, sharpness=sharpness, frontal=frontal)


def _frontal(shape) -> float:
    """1 when the nose tip projects midway between the eyes, falling to 0 as the head turns."""
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=float)
    eye_a, eye_b, nose = points[0:2].mean(axis=0), points[2:4].mean(axis=0), points[4]
    axis = eye_b - eye_a
    length = float(axis @ axis)
    if length == 0:
        return 0.0
    position = float((nose - eye_a) @ axis) / length  # 0.5 when centred
    return float(np.clip(1 - 2 * abs(position - 0.5), 0, 1))


def find_faces(rgb: np.ndarray, policy: DetectionPolicy = DEFAULT_POLICY) -> list[Face]:
    return describe(rgb, detect(rgb, policy))


class FaceFinder:
    """``find_faces`` with a per-process cache keyed by the media's SHA-256: identical bytes are
    never embedded twice. Templates of people in reported media stay in memory only."""

    def __init__(self, policy: DetectionPolicy = DEFAULT_POLICY, cache_size: int = 512):
        self.policy = policy
        self.cache_size = cache_size
        self._cache: OrderedDict[str, list[Face]] = OrderedDict()
        self.hits = 0

    def find(self, rgb: np.ndarray, *, sha256: str | None = None) -> list[Face]:
        if sha256 is not None and sha256 in self._cache:
            self._cache.move_to_end(sha256)
            self.hits += 1
            return self._cache[sha256]
        faces = find_faces(rgb, self.policy)
        if sha256 is not None and self.cache_size:
            self._cache[sha256] = faces
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return faces
