"""Head-pose consistency (Yang, Li & Lyu, ICASSP 2019, "Exposing deep fakes using inconsistent head
poses"): a face swap replaces the central face but keeps the outer face of the target, so a head
pose estimated from the central landmarks disagrees with one estimated from the whole face.

Needs dlib's 68-point landmark model, trained on the iBUG 300-W data set, whose licence forbids
commercial use. It runs only where the deployment has said it may (``allow_noncommercial_models``),
and every result names the licence.

Landmark sets (0-based, dlib's numbering), as in the paper: whole face = jaw line, brows, nose and
mouth (0–35, 48–67); central face = brows, nose and mouth (17–35, 48–67). Eyes are left out of both,
as blinking moves them.

The 3-D face model is generic and hand-built, not a scan: x and y are the mean frontal layout of
dlib's 68 points measured on the shared face test photos (26 near-frontal faces, mirrored to be
symmetric, in units of the outer-eye-corner distance); depth is a vertical cylinder of radius 0.8
with the nose raised and the eyes sunk slightly, matching the proportions of the common six-point
head model (nose tip about 0.3 in front of the outer eye corners).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from detection.engine.indicators.base import FACE, NO_FACE, Indicator, MediaContext, register

LICENCE = ("dlib shape_predictor_68_face_landmarks.dat, trained on iBUG 300-W: "
           "licensed for non-commercial research use only")
NOT_ALLOWED = ("Head-pose consistency needs a landmark model licensed for non-commercial use only; "
               "this deployment has not allowed such models.")
MODEL_MISSING = "Head-pose consistency needs dlib's 68-point landmark model, which is not installed here."
MEANING = ("The head pose from the central face and from the whole face differ by {angle:.1f}° (face {which}); "
           "a face swap can make them disagree. This is a weak hint on its own.")
WEAKNESSES = (
    "Weak alone, and the score is an uncalibrated mapping of the angle, not a probability. It uses a "
    "generic 3-D face and a guessed camera, so genuine faces that are turned, tilted, close to the "
    "lens, expressive or partly hidden also show differences of several degrees; landmarks on small "
    "or blurred faces are unreliable. It detects swaps that keep the target's outer face; whole-image "
    "generation and careful swaps show nothing. The landmark model's licence forbids commercial use."
)
SCALE_DEG = 10.0  # score = 1 − exp(−angle / SCALE_DEG)
MIN_FACE = 60  # pixels: 68-point landmarks on smaller faces are guesses

WHOLE_FACE = list(range(36)) + list(range(48, 68))
CENTRAL_FACE = list(range(17, 36)) + list(range(48, 68))

# Mean frontal layout (x right, y down), outer-eye-corner distance = 1, origin between the outer corners.
_LAYOUT = np.array([
    (-0.796, 0.016), (-0.782, 0.228), (-0.756, 0.438), (-0.723, 0.650), (-0.654, 0.848), (-0.534, 1.024),
    (-0.382, 1.174), (-0.203, 1.296), (0.000, 1.333), (0.203, 1.296), (0.382, 1.174), (0.534, 1.024),
    (0.654, 0.848), (0.723, 0.650), (0.756, 0.438), (0.782, 0.228), (0.796, 0.016),  # jaw 0–16
    (-0.667, -0.131), (-0.565, -0.223), (-0.421, -0.252), (-0.274, -0.232), (-0.133, -0.176),
    (0.133, -0.176), (0.274, -0.232), (0.421, -0.252), (0.565, -0.223), (0.667, -0.131),  # brows 17–26
    (0.000, -0.026), (0.000, 0.115), (0.000, 0.258), (0.000, 0.403),  # nose bridge 27–30
    (-0.158, 0.489), (-0.082, 0.514), (0.000, 0.541), (0.082, 0.514), (0.158, 0.489),  # nostrils 31–35
    (-0.500, 0.000), (-0.411, -0.055), (-0.305, -0.052), (-0.214, 0.022), (-0.314, 0.036), (-0.418, 0.034),
    (0.214, 0.022), (0.305, -0.052), (0.411, -0.055), (0.500, 0.000), (0.418, 0.034), (0.314, 0.036),  # eyes
    (-0.344, 0.727), (-0.218, 0.683), (-0.094, 0.664), (0.000, 0.685), (0.094, 0.664), (0.218, 0.683),
    (0.344, 0.727), (0.226, 0.853), (0.101, 0.915), (0.000, 0.927), (-0.101, 0.915), (-0.226, 0.853),  # lips
    (-0.293, 0.738), (-0.096, 0.740), (0.000, 0.752), (0.096, 0.740), (0.293, 0.738), (0.098, 0.804),
    (0.000, 0.818), (-0.098, 0.804),  # inner lips 60–67
])
CYLINDER_RADIUS = 0.8
# Towards the camera (positive) beyond the cylinder, per landmark.
_RAISED = {27: 0.05, 28: 0.08, 29: 0.11, 30: 0.15, 31: 0.06, 32: 0.08, 33: 0.10, 34: 0.08, 35: 0.06,
           **{i: 0.02 for i in range(17, 27)}, **{i: -0.02 for i in (37, 38, 39, 40, 41, 42, 43, 44, 46, 47)},
           **{i: 0.03 for i in range(48, 68)}, 48: 0.0, 54: 0.0, 51: 0.05, 57: 0.05, 7: 0.01, 8: 0.02, 9: 0.01}


def face_model() -> np.ndarray:
    """68×3 points, x right, y down, z away from the camera (OpenCV's camera axes for a frontal face)."""
    x, y = _LAYOUT[:, 0], _LAYOUT[:, 1]
    recession = CYLINDER_RADIUS * (1 - np.sqrt(1 - np.clip(x / CYLINDER_RADIUS, -1, 1) ** 2))
    raised = np.array([_RAISED.get(i, 0.0) for i in range(68)])
    return np.column_stack([x, y, recession - raised]).astype(np.float64)


def model_path() -> Path | None:
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # face_recognition_models imports pkg_resources
            import face_recognition_models
        path = Path(face_recognition_models.pose_predictor_model_location())
    except ImportError:
        return None
    return path if path.is_file() else None


@cache
def landmark_predictor(path: str):
    """dlib's 68-point landmark model, loaded once (non-commercial licence: callers check the option)."""
    import dlib

    return dlib.shape_predictor(path)


def _pose(points_2d: np.ndarray, indices: list[int], camera: np.ndarray) -> np.ndarray:
    """The rotation of the model that best projects onto the landmarks.

    Started from a frontal face at the distance its eye corners imply: from a blind start the
    iterative solver often lands on the mirror solution (a face seen from behind, 180° off), which
    fits the nearly flat central landmarks almost as well."""
    import cv2

    focal, centre = camera[0, 0], camera[:2, 2]
    eye_distance = float(np.linalg.norm(points_2d[45] - points_2d[36])) or 1.0
    depth = focal / eye_distance  # the model's eye-corner distance is 1
    origin = (points_2d[36] + points_2d[45]) / 2
    guess = np.array([*((origin - centre) * depth / focal), depth], dtype=np.float64).reshape(3, 1)
    ok, rotation, _ = cv2.solvePnP(face_model()[indices], points_2d[indices], camera, None,
                                   rvec=np.zeros((3, 1)), tvec=guess, useExtrinsicGuess=True,
                                   flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        raise ValueError("solvePnP found no pose")
    return cv2.Rodrigues(rotation)[0]


def pose_difference(points_2d: np.ndarray, width: int, height: int) -> dict:
    """Angles in degrees between the poses from the whole and the central face landmarks."""
    focal = float(max(width, height))  # the usual guess without camera data: about a 53° field of view
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)
    whole, central = _pose(points_2d, WHOLE_FACE, camera), _pose(points_2d, CENTRAL_FACE, camera)
    relative = np.clip((np.trace(whole.T @ central) - 1) / 2, -1, 1)
    facing = np.clip(whole[:, 2] @ central[:, 2], -1, 1)
    return {"rotation_difference_deg": round(float(np.degrees(np.arccos(relative))), 2),
            "facing_difference_deg": round(float(np.degrees(np.arccos(facing))), 2)}


@register
class HeadPoseConsistency(Indicator):
    name = "head_pose_consistency"
    version = "1"
    applies_to = frozenset({FACE})
    meaning = NOT_ALLOWED
    weaknesses = WEAKNESSES

    def measure(self, context: MediaContext):
        if not context.options.allow_noncommercial_models:
            return self.not_applicable(NOT_ALLOWED, licence=LICENCE)
        path = model_path()
        if path is None:
            return self.not_applicable(MODEL_MISSING)
        boxes = [box for box in context.face_boxes() if min(box.width, box.height) >= MIN_FACE]
        if not boxes:
            return self.not_applicable(NO_FACE, licence=LICENCE)
        import dlib

        rgb = np.ascontiguousarray(context.image())
        predictor = landmark_predictor(str(path))
        per_face = []
        for box in boxes:
            shape = predictor(rgb, dlib.rectangle(box.left, box.top, box.right, box.bottom))
            points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
            per_face.append({"box": box.as_dict(), **pose_difference(points, rgb.shape[1], rgb.shape[0])})
        number, worst = max(enumerate(per_face), key=lambda item: item[1]["rotation_difference_deg"])
        angle = worst["rotation_difference_deg"]
        which = f"#{number + 1} of {len(per_face)}" if len(per_face) > 1 else "found"
        return self.result(
            value={"per_face_deg": [face["rotation_difference_deg"] for face in per_face], "worst_face": number},
            score=1 - np.exp(-angle / SCALE_DEG),
            evidence={"faces": per_face, "licence": LICENCE, "whole_face_landmarks": "0-35, 48-67",
                      "central_face_landmarks": "17-35, 48-67", "model": "generic hand-built 3-D face"},
            meaning=MEANING.format(angle=angle, which=which),
        )
