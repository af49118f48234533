"""Does each face look like it was photographed with the rest of the picture?

A face pasted in, swapped or generated separately often carries a different noise level, sharpness
or colour noise than the pixels around it, and a hard seam along its outline. This compares the
inside of each face box with a ring around it:

- noise: Immerkær's estimate (1996): the mean absolute response of the luminance to a 3×3 kernel
  that cancels edges and smooth gradients, × √(π/2)/6 (a MAD of a median residual is 0 on most
  8-bit skin, where the residual is mostly exactly 0);
- sharpness: variance of the Laplacian (squared amplitude, so its log-ratio is halved);
- colour noise: the same estimate on the two chroma channels (YCrCb);
- seam: mean gradient magnitude in a thin band on the box outline over that of the ring (only an
  excess counts).

Each term is a |log2| ratio (face over ring, each side plus half a grey level so that two
near-zero values do not make a large ratio); their root mean square is the disagreement. The mean
colour difference is reported but not scored: skin and background differ in colour in any photo.
"""

from __future__ import annotations

import numpy as np

from detection.engine.faces import Box
from detection.engine.indicators.base import FACE, NO_FACE, Indicator, MediaContext, register

CORE_MARGIN = 0.10  # the face core: the box less 10% on each side, away from the seam
RING_INNER, RING_OUTER = 0.10, 0.50  # the ring: the box grown by 10% to 50% of its size per side
SEAM_WIDTH = 0.03  # of the box's side, on each side of the outline (at least 2 px)
FILTER_MARGIN = 2  # pixels around the ring kept for the 3×3 filters
MIN_FACE = 24  # pixels: below this the statistics are noise
MIN_RING_FRACTION = 0.25  # of a full ring's area: a face at the edge of a picture may have too little
SCALE = 1.0  # score = 1 − exp(−disagreement / SCALE): monotone, not calibrated
FLOOR = 0.5  # grey levels added to both sides of a ratio: 8-bit quantisation
NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)

TOO_SMALL = "The faces are too small (under 24 pixels) or too close to the picture's edge to compare."
MEANING = ("The face {which} differs from its surroundings mostly in {term} (face/surroundings ×{ratio:.2g}). "
           "This is a weak hint on its own.")
WEAKNESSES = (
    "Weak alone, and the score is an uncalibrated mapping, not a probability. Skin is smoother than "
    "hair, clothes and backgrounds; portraits have sharp faces before blurred backgrounds; make-up, "
    "beauty filters and lighting all change these statistics in genuine photos. A face swap blended "
    "with care, or a picture generated whole (face and surroundings by the same model), shows no "
    "disagreement. The face box comes from a detector and need not follow a pasted region's outline."
)
TERMS = {"noise": "noise level", "sharpness": "sharpness", "colour_noise": "colour noise", "seam": "edges along its outline"}


def _grow(box: Box, fraction: float, height: int, width: int) -> tuple[int, int, int, int]:
    dy, dx = round(box.height * fraction), round(box.width * fraction)
    return max(0, box.top - dy), min(width, box.right + dx), min(height, box.bottom + dy), max(0, box.left - dx)


def _mask(shape, rect, value=True) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    top, right, bottom, left = rect
    mask[top:bottom, left:right] = value
    return mask


def _noise_response(channel: np.ndarray) -> np.ndarray:
    import cv2

    return np.abs(cv2.filter2D(channel.astype(np.float32), -1, NOISE_KERNEL)) * float(np.sqrt(np.pi / 2) / 6)


def _log_ratio(face: float, ring: float) -> float:
    return float(np.log2((face + FLOOR) / (ring + FLOOR)))


def compare_face(rgb: np.ndarray, box: Box) -> dict | None:
    """The per-term ratios for one face, or None when the face or its ring is too small."""
    height, width = rgb.shape[:2]
    box = Box(top=max(0, box.top), right=min(width, box.right), bottom=min(height, box.bottom), left=max(0, box.left))
    if min(box.width, box.height) < MIN_FACE:
        return None
    # Work on the face and its ring only (plus a margin for the 3×3 filters): the cost then follows
    # the face's size, not the picture's.
    top, right, bottom, left = _grow(box, RING_OUTER, height, width)
    top, left = max(0, top - FILTER_MARGIN), max(0, left - FILTER_MARGIN)
    bottom, right = min(height, bottom + FILTER_MARGIN), min(width, right + FILTER_MARGIN)
    measured = _compare(np.ascontiguousarray(rgb[top:bottom, left:right]),
                        Box(top=box.top - top, right=box.right - left, bottom=box.bottom - top, left=box.left - left))
    if measured is None:
        return None
    measured["box"] = box.as_dict()
    return measured


def _compare(rgb: np.ndarray, box: Box) -> dict | None:
    import cv2

    height, width = rgb.shape[:2]
    core = _mask((height, width), _grow(box, -CORE_MARGIN, height, width))
    ring = _mask((height, width), _grow(box, RING_OUTER, height, width)) & ~_mask(
        (height, width), _grow(box, RING_INNER, height, width))
    full_ring = box.width * box.height * ((1 + 2 * RING_OUTER) ** 2 - (1 + 2 * RING_INNER) ** 2)
    if ring.sum() < MIN_RING_FRACTION * full_ring:
        return None
    seam_width = max(2, round(SEAM_WIDTH * min(box.width, box.height)))
    outer = (max(0, box.top - seam_width), min(width, box.right + seam_width),
             min(height, box.bottom + seam_width), max(0, box.left - seam_width))
    inner = (box.top + seam_width, box.right - seam_width, box.bottom - seam_width, box.left + seam_width)
    seam = _mask((height, width), outer) & ~_mask((height, width), inner)

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    noise = _noise_response(gray)
    laplacian = cv2.Laplacian(gray, cv2.CV_32F)
    ycrcb = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    chroma_noise = [_noise_response(ycrcb[:, :, c]) for c in (1, 2)]
    gradient = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)

    measured = {
        "noise": (float(noise[core].mean()), float(noise[ring].mean())),
        "sharpness": (float(laplacian[core].var()), float(laplacian[ring].var())),
        "colour_noise": (float(np.mean([c[core].mean() for c in chroma_noise])),
                         float(np.mean([c[ring].mean() for c in chroma_noise]))),
        "seam": (float(gradient[seam].mean()), float(gradient[ring].mean())),
    }
    terms = {name: abs(_log_ratio(*pair)) for name, pair in measured.items()}
    terms["sharpness"] /= 2  # variance is squared amplitude
    terms["seam"] = max(0.0, _log_ratio(*measured["seam"]))  # only a seam stronger than the ring is odd
    disagreement = float(np.sqrt(np.mean(np.square(list(terms.values())))))
    colour_difference = float(np.linalg.norm(lab[core].mean(axis=0) - lab[ring].mean(axis=0)))
    return {
        "face": {name: round(pair[0], 3) for name, pair in measured.items()},
        "surroundings": {name: round(pair[1], 3) for name, pair in measured.items()},
        "terms": {name: round(value, 3) for name, value in terms.items()},
        "disagreement": round(disagreement, 3),
        "mean_colour_difference_lab": round(colour_difference, 2),
    }


@register
class FaceVersusSurroundings(Indicator):
    name = "face_versus_surroundings"
    version = "1"
    applies_to = frozenset({FACE})
    meaning = MEANING
    weaknesses = WEAKNESSES

    def measure(self, context: MediaContext):
        boxes = context.face_boxes()
        if not boxes:
            return self.not_applicable(NO_FACE)
        rgb = context.image()
        faces = [(number, compare_face(rgb, box)) for number, box in enumerate(boxes)]
        faces = [(number, face) for number, face in faces if face is not None]
        if not faces:
            return self.not_applicable(TOO_SMALL)
        number, worst = max(faces, key=lambda item: item[1]["disagreement"])
        term = max(worst["terms"], key=worst["terms"].get)
        ratio = (worst["face"][term] + FLOOR) / (worst["surroundings"][term] + FLOOR)
        which = f"#{number + 1} of {len(boxes)}" if len(boxes) > 1 else "found"
        evidence = {"faces": [face for _, face in faces],
                    "regions": {"core": f"box less {CORE_MARGIN:.0%} per side",
                                "ring": f"box grown by {RING_INNER:.0%} to {RING_OUTER:.0%} per side"}}
        return self.result(
            value={"per_face": [face["disagreement"] for _, face in faces], "worst_face": number},
            score=1 - np.exp(-worst["disagreement"] / SCALE),
            evidence=evidence,
            meaning=MEANING.format(which=which, term=TERMS[term], ratio=ratio),
        )
