"""Compare probe faces and hashes with the templates and known-image hashes of consented subjects.

Per subject, every reference template is compared: the result carries the best distance and how
many of the subject's references agree, so a reviewer can see whether one photo or all of them match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from detection.engine.hashes import hamming


@dataclass(frozen=True)
class Template:
    template_id: int
    subject_id: int
    embedding: np.ndarray


@dataclass(frozen=True)
class LikenessMatch:
    subject_id: int
    template_id: int  # the closest reference template
    face_index: int  # which probe face
    distance: float
    threshold: float
    references_agreeing: int
    references_total: int


def match_likeness(
    probe_embeddings: Sequence[np.ndarray], templates: Sequence[Template], *, threshold: float
) -> list[LikenessMatch]:
    """The best matching probe face for each subject whose templates fall within ``threshold``."""
    if not probe_embeddings or not templates:
        return []
    references = np.stack([t.embedding for t in templates])
    subject_ids = np.array([t.subject_id for t in templates])
    probes = np.stack(probe_embeddings)
    distances = np.linalg.norm(probes[:, None, :] - references[None, :, :], axis=2)  # faces × templates

    best: dict[int, LikenessMatch] = {}
    for subject_id in np.unique(subject_ids):
        columns = np.flatnonzero(subject_ids == subject_id)
        per_face = distances[:, columns]
        face_index, column = np.unravel_index(np.argmin(per_face), per_face.shape)
        distance = float(per_face[face_index, column])
        if distance > threshold:
            continue
        best[int(subject_id)] = LikenessMatch(
            subject_id=int(subject_id),
            template_id=templates[columns[column]].template_id,
            face_index=int(face_index),
            distance=distance,
            threshold=threshold,
            references_agreeing=int((per_face[face_index] <= threshold).sum()),
            references_total=len(columns),
        )
    return sorted(best.values(), key=lambda m: m.distance)


@dataclass(frozen=True)
class KnownHash:
    hash_id: int
    subject_id: int
    algorithm: str
    hex: str


@dataclass(frozen=True)
class HashMatch:
    subject_id: int
    hash_id: int
    algorithm: str
    # Bits of 256 for PDQ (0 for MD5); for a video's frame hashes (vPDQ), the share of frames left unmatched.
    distance: int | float
    threshold: int | float


def match_pdq(probe_variants: Sequence[str], known: Sequence[KnownHash], *, threshold: int) -> list[HashMatch]:
    """Known PDQ hashes within ``threshold`` bits of any dihedral variant of the probe."""
    best: dict[int, HashMatch] = {}
    for item in known:
        if item.algorithm != "pdq":
            continue
        distance = min(hamming(item.hex, variant) for variant in probe_variants)
        if distance <= threshold and (item.subject_id not in best or distance < best[item.subject_id].distance):
            best[item.subject_id] = HashMatch(item.subject_id, item.hash_id, "pdq", distance, threshold)
    return sorted(best.values(), key=lambda m: m.distance)
