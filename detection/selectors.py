"""Reads of the detection app."""

from __future__ import annotations

from detection.engine.matcher import KnownHash, Template
from detection.models import FaceTemplate, KnownImageHash


def templates_for_matching() -> list[Template]:
    """Every stored template. Templates exist only under active consent (see models docstring)."""
    rows = FaceTemplate.objects.only("pk", "subject_id", "embedding")
    return [Template(template_id=t.pk, subject_id=t.subject_id, embedding=t.vector()) for t in rows]


def known_hashes_for_matching() -> list[KnownHash]:
    rows = KnownImageHash.objects.only("pk", "subject_id", "algorithm", "value")
    return [KnownHash(hash_id=k.pk, subject_id=k.subject_id, algorithm=k.algorithm, hex=k.value) for k in rows]
