"""Writes of the detection app: enrolment of biometric data, purge, media ingest and scan."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from detection import selectors
from detection.engine import faces as face_engine
from detection.engine import hashes, matcher
from detection.engine.errors import ReadableError
from detection.engine.media import MediaError, MediaLimits, check_size, decode_image
from detection.models import FaceTemplate, Finding, KnownImageHash, MediaItem, ReferencePhoto

log = logging.getLogger(__name__)

NO_FACE_IN_REFERENCE = "No face was found in this photo. Use a clear, front-facing photo of the subject."
SEVERAL_FACES_IN_REFERENCE = (
    "This photo shows {count} faces. A reference photo must show only the subject's face; crop it first."
)


class EnrolmentError(ReadableError):
    """A reference photo that cannot be enrolled."""


def media_limits() -> MediaLimits:
    return MediaLimits(max_bytes=settings.MEDIA_MAX_BYTES, max_pixels=settings.MEDIA_MAX_PIXELS)


def _store(folder: str, data: bytes, sha256: str, original_name: str) -> str:
    # Content-addressed names: the same bytes are stored once, and the name reveals nothing.
    suffix = PurePath(original_name).suffix.lower()[:10]
    name = f"{folder}/{sha256[:2]}/{sha256}{suffix}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    return name


def reference_photo_add(*, subject_id: int, data: bytes, filename: str) -> ReferencePhoto:
    """Store a reference photo and its face template. The caller has checked consent."""
    try:
        image = decode_image(data, media_limits())
    except MediaError as exc:
        raise EnrolmentError(exc.reason) from None
    found = face_engine.find_faces(image.rgb)
    if not found:
        raise EnrolmentError(NO_FACE_IN_REFERENCE)
    if len(found) > 1:
        raise EnrolmentError(SEVERAL_FACES_IN_REFERENCE.format(count=len(found)))
    face = found[0]
    sha256 = hashes.sha256_hex(data)
    photo = ReferencePhoto.objects.create(
        subject_id=subject_id, image=_store("reference", data, sha256, filename), sha256=sha256
    )
    FaceTemplate.objects.create(
        subject_id=subject_id,
        reference_photo=photo,
        embedding=face.embedding.astype("<f8").tobytes(),
        box=face.box.as_dict(),
        model_name=face_engine.MODEL_NAME,
        model_version=face_engine.model_version(),
    )
    return photo


def known_hash_add(*, subject_id: int, algorithm: str, value: str, quality: int | None, label: str = "") -> KnownImageHash:
    known, _ = KnownImageHash.objects.get_or_create(
        subject_id=subject_id, algorithm=algorithm, value=value.lower(), defaults={"quality": quality, "label": label}
    )
    return known


@dataclass(frozen=True)
class PurgeSummary:
    reference_photos: int
    face_templates: int
    known_hashes: int
    pending_findings: int

    def as_dict(self) -> dict[str, int]:
        return self.__dict__.copy()


def subject_biometrics_purge(*, subject_id: int, likeness: bool = True, known_hashes: bool = True) -> PurgeSummary:
    """Delete a subject's biometric data: face data for ``likeness``, hashes for ``known_hashes``.

    Call inside the consent-withdrawal transaction.

    Templates go first: a finding writer holds a lock on the template rows it relies on, so this
    delete waits for any finding being written right now, and the pending-finding delete after it
    (a new statement, a new snapshot under READ COMMITTED) then sees and removes that finding too.
    """
    templates = known = pending = 0
    photos: list[ReferencePhoto] = []
    kinds = []
    if likeness:
        templates, _ = FaceTemplate.objects.filter(subject_id=subject_id).delete()
        photos = list(ReferencePhoto.objects.filter(subject_id=subject_id))
        ReferencePhoto.objects.filter(pk__in=[p.pk for p in photos]).delete()
        kinds.append(Finding.Kind.LIKENESS)
    if known_hashes:
        known, _ = KnownImageHash.objects.filter(subject_id=subject_id).delete()
        kinds.append(Finding.Kind.HASH)
    if kinds:
        pending, _ = Finding.objects.filter(
            subject_id=subject_id, kind__in=kinds, status=Finding.Status.PENDING
        ).delete()
    names = [p.image.name for p in photos if p.image]

    def delete_files() -> None:
        # After commit: a rolled-back withdrawal must not lose the photos it failed to purge.
        for name in names:
            if not ReferencePhoto.objects.filter(image=name).exists():
                default_storage.delete(name)

    transaction.on_commit(delete_files)
    return PurgeSummary(len(photos), templates, known, pending)


def media_ingest(
    *, data: bytes, source: str, original_name: str = "", source_url: str = ""
) -> MediaItem:
    """Record a captured file; the same bytes from the same place are one item, so a re-scan adds nothing.

    Over-limit files become a failed item with the reason: nothing is lost silently.
    """
    sha256 = hashes.sha256_hex(data)
    existing = MediaItem.objects.filter(sha256=sha256, source_url=source_url).first()
    if existing is not None:
        return existing
    item = MediaItem(
        source=source,
        source_url=source_url,
        original_name=original_name[:255],
        sha256=sha256,
        md5=hashes.md5_hex(data),
        size=len(data),
    )
    try:
        check_size(len(data), media_limits())
    except MediaError as exc:
        item.status = MediaItem.Status.FAILED
        item.failure_reason = exc.reason
    else:
        item.file = _store("media_items", data, sha256, original_name)
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:  # a concurrent ingest of the same capture won the race
        return MediaItem.objects.get(sha256=sha256, source_url=source_url)
    return item


def media_scan_enqueue(item: MediaItem) -> None:
    from detection.tasks import scan_media

    transaction.on_commit(lambda: scan_media.delay(item.pk))


@dataclass(frozen=True)
class ScanOutcome:
    item: MediaItem
    findings: list[Finding]
    skipped: bool = False  # another worker had it, or it was already done


def media_scan(*, media_item_id: int) -> ScanOutcome:
    """Decode, hash, find faces and match one media item; write findings. Safe to run twice."""
    claimed = MediaItem.objects.filter(
        pk=media_item_id, status__in=[MediaItem.Status.RECEIVED, MediaItem.Status.PROCESSING]
    ).update(status=MediaItem.Status.PROCESSING)
    item = MediaItem.objects.get(pk=media_item_id)
    if not claimed:
        return ScanOutcome(item=item, findings=[], skipped=True)

    started = time.monotonic()
    try:
        with item.file.open("rb") as handle:
            data = handle.read()
        image = decode_image(data, media_limits())
    except MediaError as exc:
        item.status, item.failure_reason, item.processed_at = MediaItem.Status.FAILED, exc.reason, timezone.now()
        item.save(update_fields=["status", "failure_reason", "processed_at"])
        return ScanOutcome(item=item, findings=[])

    pdq = hashes.pdq(image.rgb)
    pdq_variants, _ = hashes.pdq_dihedral(image.rgb)
    found = face_engine.find_faces(image.rgb)
    decoded_at = time.monotonic()

    likeness = matcher.match_likeness(
        [f.embedding for f in found], selectors.templates_for_matching(), threshold=settings.FACE_MATCH_THRESHOLD
    )
    hash_hits = []
    if pdq.quality is not None and pdq.quality >= settings.PDQ_MIN_QUALITY:
        hash_hits = matcher.match_pdq(
            pdq_variants, selectors.known_hashes_for_matching(), threshold=settings.PDQ_MATCH_THRESHOLD
        )

    findings = [
        f
        for f in (
            *(_likeness_finding_write(item, m, found[m.face_index].box) for m in likeness),
            *(_hash_finding_write(item, m) for m in hash_hits),
        )
        if f is not None
    ]

    item.kind = MediaItem.Kind.IMAGE
    item.width, item.height = image.width, image.height
    item.pdq, item.pdq_quality = pdq.hex, pdq.quality
    item.phash = hashes.phash(image.rgb).hex
    item.faces = [f.box.as_dict() for f in found]
    item.status, item.processed_at = MediaItem.Status.DONE, timezone.now()
    item.save()
    log.info(
        "scanned media item %s: %d faces, %d findings (decode+faces %.0f ms, match+write %.0f ms)",
        item.pk, len(found), len(findings), (decoded_at - started) * 1000, (time.monotonic() - decoded_at) * 1000,
    )
    return ScanOutcome(item=item, findings=findings)


def _likeness_finding_write(item: MediaItem, match: matcher.LikenessMatch, box: face_engine.Box) -> Finding | None:
    with transaction.atomic():
        # Re-check consent where it is decided: a withdrawal deletes the templates. Locking them makes
        # a concurrent withdrawal wait for this write, and then purge the finding with the rest.
        if not FaceTemplate.objects.select_for_update().filter(pk=match.template_id).exists():
            return None
        finding, _ = Finding.objects.get_or_create(
            media_item=item,
            subject_id=match.subject_id,
            kind=Finding.Kind.LIKENESS,
            defaults={
                "distance": match.distance,
                "threshold": match.threshold,
                "model_version": face_engine.model_version(),
                "face_box": box.as_dict(),
                "references_agreeing": match.references_agreeing,
                "references_total": match.references_total,
            },
        )
    return finding


def _hash_finding_write(item: MediaItem, match: matcher.HashMatch) -> Finding | None:
    with transaction.atomic():
        if not KnownImageHash.objects.select_for_update().filter(pk=match.hash_id).exists():
            return None
        finding, _ = Finding.objects.get_or_create(
            media_item=item,
            subject_id=match.subject_id,
            kind=Finding.Kind.HASH,
            defaults={"distance": match.distance, "threshold": match.threshold, "model_version": "pdq"},
        )
    return finding
