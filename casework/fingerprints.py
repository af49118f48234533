"""Is this the same picture as the case's? SHA-256 for the exact bytes, PDQ for the same image re-encoded,
resized or lightly edited. Used by the URL recheck and the re-upload watch; computation only.

Thresholds are detection's: PDQ_MATCH_THRESHOLD (Meta's recommended 31 of 256 bits) and PDQ_MIN_QUALITY,
below which hashes of flat, featureless images collide and say nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings

from detection.engine.hashes import hamming
from detection.models import MediaItem


@dataclass(frozen=True)
class Fingerprints:
    sha256: frozenset[str]
    pdq: tuple[str, ...]  # usable PDQ hashes: images, and each sampled frame of videos


def fingerprints_of(items: Iterable[MediaItem]) -> Fingerprints:
    sha256, pdq = set(), []
    for item in items:
        if item.size:  # a failed fetch is recorded with the hash of no bytes; it matches nothing
            sha256.add(item.sha256)
        if item.pdq and (item.pdq_quality or 0) >= settings.PDQ_MIN_QUALITY:
            pdq.append(item.pdq)
        pdq.extend(f["pdq"] for f in item.frame_pdq or [] if f.get("pdq")
                   and (f.get("quality") or 0) >= settings.PDQ_MIN_QUALITY)
    return Fingerprints(frozenset(sha256), tuple(dict.fromkeys(pdq)))


@dataclass(frozen=True)
class Match:
    matched: bool
    by: str  # "sha256", "pdq" or ""
    pdq_distance: int | None  # the closest, matched or not; None when there was nothing to compare


def fingerprints_compare(known: Fingerprints, *, sha256: str, pdq_variants: Sequence[str]) -> Match:
    distance = None
    if pdq_variants and known.pdq:
        distance = min(hamming(a, b) for a in pdq_variants for b in known.pdq)
    if sha256 in known.sha256:
        return Match(True, "sha256", distance)
    if distance is not None and distance <= settings.PDQ_MATCH_THRESHOLD:
        return Match(True, "pdq", distance)
    return Match(False, "", distance)


def item_pdq_variants(item: MediaItem) -> list[str]:
    """The stored PDQ hashes of a media item worth comparing (its image hash, its video frames)."""
    return list(fingerprints_of([item]).pdq)
