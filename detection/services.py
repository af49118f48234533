"""Writes of the detection app: enrolment of biometric data, purge, media ingest and scan."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache
from pathlib import PurePath

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Case, F, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from detection import fetching
from detection.encryption import EncryptionError, data_encrypt, data_rotate
from detection.engine import faces as face_engine
from detection.engine import hashes, matcher
from detection.engine.analysis import Analysis, VideoAnalysis, analyze
from detection.engine.errors import ReadableError
from detection.engine.media import MediaError, MediaLimits, check_size, decode_image
from detection.engine.video import vpdq
from detection.index import match_index, match_index_bump
from detection.media_files import media_item_read
from detection.models import (
    FaceTemplate,
    Finding,
    FindingSuppression,
    IndicatorResult,
    KnownImageHash,
    KnownVideo,
    MediaItem,
    ReferencePhoto,
)

log = logging.getLogger(__name__)

NO_FACE_IN_REFERENCE = gettext_lazy("No face was found in this photo. Use a clear, front-facing photo of the subject.")
SEVERAL_FACES_IN_REFERENCE = gettext_lazy(
    "This photo shows {count} faces. A reference photo must show only the subject's face; crop it first."
)


# Kept in MediaItem.failure_reason in English (a scan runs on a worker, for no reader); a page translates
# the stored reason where it shows it (templates/casework/_media_scan.html).
SCAN_TOO_LONG = gettext_noop("Scanning took longer than the time limit; the file may be too long or too large.")
SCAN_CRASHED = gettext_noop("An internal error stopped the scan; it has been logged for the maintainers.")
FILE_GONE = gettext_noop(
    "The stored file is gone (deleted since it was received, e.g. by a purge); nothing was scanned.")
SCAN_STOPPED = (
    "The scan stopped before it finished {attempts} times (its worker was killed, ran out of memory, or "
    "passed the time limit), so it was not tried again. Staff can choose “Scan again” once the cause is fixed."
)


class EnrolmentError(ReadableError):
    """A reference photo that cannot be enrolled."""


def media_limits() -> MediaLimits:
    return MediaLimits(
        max_bytes=settings.MEDIA_MAX_BYTES,
        max_pixels=settings.MEDIA_MAX_PIXELS,
        max_video_pixels=settings.MEDIA_MAX_VIDEO_PIXELS,
        max_duration_s=settings.MEDIA_MAX_DURATION_S,
    )


def _store(folder: str, data: bytes, sha256: str, original_name: str, *, encrypt: bool = False) -> str:
    # Content-addressed names: the same bytes are stored once, and the name reveals nothing.
    suffix = PurePath(original_name).suffix.lower()[:10]
    name = f"{folder}/{sha256[:2]}/{sha256}{suffix}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data_encrypt(data=data) if encrypt else data))
    return name


def reference_photo_add(*, subject_id: int, data: bytes, filename: str) -> ReferencePhoto:
    """Store a reference photo and its face template. The caller has checked consent."""
    try:
        image = decode_image(data, media_limits())
    except MediaError as exc:
        # Shown at once (not stored), so translated here: the engine's reasons are English, marked with gettext_noop.
        raise EnrolmentError(gettext(exc.reason)) from None
    found = face_engine.find_faces(image.rgb)
    if not found:
        raise EnrolmentError(NO_FACE_IN_REFERENCE)
    if len(found) > 1:
        raise EnrolmentError(SEVERAL_FACES_IN_REFERENCE.format(count=len(found)))
    face = found[0]
    sha256 = hashes.sha256_hex(data)
    photo = ReferencePhoto.objects.create(
        subject_id=subject_id, image=_store("reference", data, sha256, filename, encrypt=True), sha256=sha256
    )
    FaceTemplate.objects.create(
        subject_id=subject_id,
        reference_photo=photo,
        embedding=data_encrypt(data=face.embedding.astype("<f8").tobytes()),
        box=face.box.as_dict(),
        model_name=face_engine.MODEL_NAME,
        model_version=face_engine.model_version(),
    )
    match_index_bump()
    return photo


REFERENCE_PHOTO_NOT_FOUND = gettext_lazy("This reference photo is no longer stored.")


def reference_photo_remove(*, subject_id: int, photo_id: int) -> ReferencePhoto:
    """Delete one of a subject's reference photos, its face templates and (after commit) its file.

    Call inside the caller's transaction, which audits the removal.
    """
    photo = ReferencePhoto.objects.select_for_update().filter(pk=photo_id, subject_id=subject_id).first()
    if photo is None:
        raise EnrolmentError(REFERENCE_PHOTO_NOT_FOUND)
    FaceTemplate.objects.filter(reference_photo=photo).delete()
    name = photo.image.name
    ReferencePhoto.objects.filter(pk=photo.pk).delete()
    # Matchers must stop using the removed templates: bumped in this transaction, so no worker sees
    # the new generation while the templates are still there.
    match_index_bump()

    def delete_file() -> None:
        # After commit, and only if no other photo row names it: files are content-addressed, so the
        # same bytes enrolled for another subject share this file.
        if name and not ReferencePhoto.objects.filter(image=name).exists():
            default_storage.delete(name)

    transaction.on_commit(delete_file)
    return photo


def known_hash_add(*, subject_id: int, algorithm: str, value: str, quality: int | None, label: str = "") -> KnownImageHash:
    known, created = KnownImageHash.objects.get_or_create(
        subject_id=subject_id, algorithm=algorithm, value=value.lower(), defaults={"quality": quality, "label": label}
    )
    if created:
        match_index_bump()
    return known


def known_video_add(*, subject_id: int, frames: list[vpdq.FrameHash], label: str = "") -> tuple[KnownVideo, bool]:
    """Register a known video's frame hashes; the same frames registered again are the same row. Returns
    the row and whether it is new. The caller has checked consent, under the subject's lock.

    Not in the match index: a scanned video is compared with every known video (_vpdq_hits)."""
    distinct = sorted({frame.pdq_hex for frame in frames})
    fingerprint = hashes.sha256_hex("\n".join(distinct).encode())
    return KnownVideo.objects.get_or_create(
        subject_id=subject_id, fingerprint=fingerprint,
        defaults={"frames": [{"t": round(f.t, 3), "pdq": f.pdq_hex, "quality": f.quality} for f in frames],
                  "label": label},
    )


KNOWN_HASH_NOT_FOUND = gettext_lazy("This hash is no longer registered.")


def known_hash_remove(*, subject_id: int, known_hash_id: int) -> KnownImageHash:
    """Delete one of a subject's known hashes (the caller holds the subject's lock, as for a purge)."""
    known = KnownImageHash.objects.filter(subject_id=subject_id, pk=known_hash_id).first()
    if known is None:
        raise ReadableError(KNOWN_HASH_NOT_FOUND)
    known.delete()
    match_index_bump()
    return known


@dataclass(frozen=True)
class PurgeSummary:
    reference_photos: int
    face_templates: int
    known_hashes: int
    pending_findings: int
    known_videos: int

    def as_dict(self) -> dict[str, int]:
        return self.__dict__.copy()

    @property
    def stored_items(self) -> int:
        """What the subject gave that was deleted, as told to them: photos, hashes and known videos
        (templates are made from the photos)."""
        return self.reference_photos + self.known_hashes + self.known_videos


def subject_biometrics_purge(*, subject_id: int, likeness: bool = True, known_hashes: bool = True) -> PurgeSummary:
    """Delete a subject's biometric data: face data for ``likeness``, hashes for ``known_hashes``.

    Call inside the consent-withdrawal transaction.

    Templates go first: a finding writer holds a lock on the template rows it relies on, so this
    delete waits for any finding being written right now, and the pending-finding delete after it
    (a new statement, a new snapshot under READ COMMITTED) then sees and removes that finding too.
    """
    templates = known = videos = pending = 0
    photos: list[ReferencePhoto] = []
    kinds = []
    if likeness:
        templates, _ = FaceTemplate.objects.filter(subject_id=subject_id).delete()
        photos = list(ReferencePhoto.objects.filter(subject_id=subject_id))
        ReferencePhoto.objects.filter(pk__in=[p.pk for p in photos]).delete()
        kinds.append(Finding.Kind.LIKENESS)
    if known_hashes:
        known, _ = KnownImageHash.objects.filter(subject_id=subject_id).delete()
        # Before the pending hash findings, for the reason templates go first: a finding writer locks
        # the known video a match came from.
        videos, _ = KnownVideo.objects.filter(subject_id=subject_id).delete()
        kinds.append(Finding.Kind.HASH)
    if templates or known:
        match_index_bump()
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
    return PurgeSummary(len(photos), templates, known, pending, known_videos=videos)


def media_ingest(
    *, data: bytes, source: str, original_name: str = "", source_url: str = "", organization_id: int | None = None
) -> MediaItem:
    """Record a captured file; the same bytes from the same place are one item of an organisation, so a
    re-scan adds nothing. Another organisation's capture of the same bytes is never returned: its id and
    its ``received_at`` would tell this one that the file was sent before, and when.

    Over-limit files become a failed item with the reason: nothing is lost silently.
    """
    sha256 = hashes.sha256_hex(data)
    existing = _capture_existing(sha256, source_url, organization_id)
    if existing is not None:
        return existing
    item = MediaItem(
        source=source,
        organization_id=organization_id,
        source_url=source_url,
        original_name=original_name[:255],
        sha256=sha256,
        md5=hashes.md5_hex(data),
        size=len(data),
    )
    _capture_fill(item, data)
    return _capture_save(item)


def _capture_fill(item: MediaItem, data: bytes) -> None:
    try:
        check_size(len(data), media_limits())
    except MediaError as exc:
        item.status = MediaItem.Status.FAILED
        item.failure_reason = exc.reason
    else:
        item.status = MediaItem.Status.RECEIVED
        item.file = _store("media_items", data, item.sha256, item.original_name, encrypt=True)


def _capture_existing(sha256: str, source_url: str, organization_id: int | None) -> MediaItem | None:
    """The same bytes from the same place are one capture of an organisation (the model's unique constraints)."""
    # organization_id=None filters on IS NULL: captures of no organisation are one per place too.
    return MediaItem.objects.filter(organization_id=organization_id, sha256=sha256, source_url=source_url).first()


def _capture_save(item: MediaItem) -> MediaItem:
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:  # a concurrent ingest of the same capture won the race
        return MediaItem.objects.get(organization_id=item.organization_id, sha256=item.sha256,
                                     source_url=item.source_url)
    return item


def media_scan_enqueue(item: MediaItem) -> None:
    from detection.tasks import scan_media

    transaction.on_commit(lambda: scan_media.delay(item.pk))


# --- Scans that are never lost ---------------------------------------------------------------------
# A scan's message can be lost: with its worker (acks_late and reject-on-worker-lost put it back, and
# Redis hands out a dead worker's messages after its visibility timeout, but a Redis restart without
# persistence loses the queue), or by a bug. The item then waits "received", or stays "processing" with
# a claim older than any scan can run (SCAN_STUCK_AFTER_S). The sweeper on beat, a re-submission of the
# same file, and a person's "Scan again" queue such an item again; media_scan decides who scans it.

SCAN_AGAIN_RUNNING = gettext_lazy(
    "This file is being scanned now. If it is still not done {minutes} minutes after its scan started, "
    "its worker was lost and it can be scanned again."
)
SCAN_AGAIN_DONE = gettext_lazy("This file was scanned; its results stand.")
SCAN_AGAIN_NO_FILE = gettext_lazy(
    "No file is stored for this item (not fetched, over the size limit, or deleted): nothing to scan.")
SWEEP_BATCH = 500  # per sweep: a backlog after an outage is worked off over a few minutes, not in one query


class ScanAgainRefused(ReadableError):
    """A media item a person may not queue for scanning again now."""


def _stuck() -> Q:
    now = timezone.now()
    queued_before = now - timedelta(seconds=settings.SCAN_QUEUED_STALE_S)
    waiting_long = Q(scan_queued_at__lt=queued_before) | Q(scan_queued_at__isnull=True, received_at__lt=queued_before)
    return (Q(status=MediaItem.Status.PROCESSING) & _claim_stale(now)) | (
        Q(status=MediaItem.Status.RECEIVED) & waiting_long
    )


def _requeue(pk: int, condition: Q, *, fresh_attempts: bool = False) -> bool:
    """Put an item back to "received" and queue its scan, if ``condition`` still holds in the update:
    a worker that claims it meanwhile wins, and the item is not queued twice by two sweeps."""
    fields = {"status": MediaItem.Status.RECEIVED, "scan_queued_at": timezone.now()}
    if fresh_attempts:
        fields.update(scan_attempts=0, failure_reason="", processed_at=None)
    if not MediaItem.objects.filter(condition, pk=pk).update(**fields):
        return False
    media_scan_enqueue(MediaItem(pk=pk))
    return True


@dataclass(frozen=True)
class SweepSummary:
    requeued: list[int]
    failed: list[int]

    def as_dict(self) -> dict[str, list[int]]:
        return {"requeued": self.requeued, "failed": self.failed}


def media_scans_requeue_stuck() -> SweepSummary:
    """Queue again each item whose scan was lost; fail those already claimed SCAN_MAX_ATTEMPTS times.

    Safe beside running workers: each change is a conditional update of a stale claim, and a queued
    duplicate is skipped by media_scan's own claim.
    """
    requeued, failed = [], []
    stuck = MediaItem.objects.filter(_stuck()).order_by("pk").values_list("pk", "scan_attempts")[:SWEEP_BATCH]
    for pk, attempts in stuck:
        if attempts >= settings.SCAN_MAX_ATTEMPTS:
            reason = SCAN_STOPPED.format(attempts=attempts)
            now = timezone.now()
            if MediaItem.objects.filter(_stuck(), pk=pk).update(
                status=MediaItem.Status.FAILED, failure_reason=reason, processed_at=now
            ):
                failed.append(pk)
        elif _requeue(pk, _stuck()):
            requeued.append(pk)
    if requeued or failed:
        log.warning("scan sweep: re-queued %d lost scans %s, failed %d after %d attempts %s",
                    len(requeued), requeued, len(failed), settings.SCAN_MAX_ATTEMPTS, failed)
    fetches = _url_fetches_requeue_stuck()
    return SweepSummary(requeued=requeued + fetches.requeued, failed=failed + fetches.failed)


def _url_fetches_requeue_stuck() -> SweepSummary:
    """Submitted URLs still "fetching" long after they were queued: the message was lost (a broker
    restart) or its retries ran out. Queued again, up to SCAN_MAX_ATTEMPTS times (counted in
    scan_attempts, which the capture resets), then failed with a reason."""
    queued_before = timezone.now() - timedelta(seconds=max(settings.SCAN_QUEUED_STALE_S, settings.SCAN_STUCK_AFTER_S))
    stale = Q(status=MediaItem.Status.FETCHING, scan_queued_at__lt=queued_before)
    requeued, failed = [], []
    for pk, attempts in MediaItem.objects.filter(stale).order_by("pk").values_list("pk", "scan_attempts")[:SWEEP_BATCH]:
        now = timezone.now()
        if attempts + 1 >= settings.SCAN_MAX_ATTEMPTS:
            if MediaItem.objects.filter(stale, pk=pk).update(
                status=MediaItem.Status.FAILED, failure_reason=FETCH_STOPPED, processed_at=now
            ):
                failed.append(pk)
        elif MediaItem.objects.filter(stale, pk=pk).update(scan_queued_at=now, scan_attempts=F("scan_attempts") + 1):
            media_url_fetch_enqueue(MediaItem(pk=pk))
            requeued.append(pk)
    if requeued or failed:
        log.warning("scan sweep: re-queued %d lost URL fetches %s, failed %d %s", len(requeued), requeued,
                    len(failed), failed)
    return SweepSummary(requeued=requeued, failed=failed)


def media_scan_enqueue_if_stale(item: MediaItem) -> bool:
    """Queue a scan of an item sent again (a re-submission, a re-upload) if it still needs one: it is
    received, or its scan was lost (processing past the limit). Running, done and failed items are left.

    Returns whether a scan was queued.
    """
    if item.status == MediaItem.Status.RECEIVED:
        media_scan_enqueue(item)  # media_scan is idempotent: a second message is skipped
        return True
    if item.status == MediaItem.Status.PROCESSING and _requeue(item.pk, Q(status=MediaItem.Status.PROCESSING)
                                                               & _claim_stale(timezone.now())):
        item.refresh_from_db()
        return True
    return False


def media_items_mark_scan_again(items: QuerySet[MediaItem]) -> QuerySet[MediaItem]:
    """``items``, each with ``may_scan_again``: a stored file whose scan failed or was lost (what a page
    offers "Scan again" for; media_scan_again also takes an item still waiting for a worker)."""
    offered = ~Q(file="") & (Q(status=MediaItem.Status.FAILED) | _stuck())
    return items.annotate(may_scan_again=Case(When(offered, then=Value(True)), default=Value(False),
                                              output_field=BooleanField()))


def media_scan_again(*, item: MediaItem) -> MediaItem:
    """Queue a failed or lost scan again with a fresh count of attempts: a person decided to try again.

    Raises ScanAgainRefused for a scan running now, a done item, or an item with no stored file.
    """
    if not item.file:
        raise ScanAgainRefused(SCAN_AGAIN_NO_FILE)
    if item.status == MediaItem.Status.DONE:
        raise ScanAgainRefused(SCAN_AGAIN_DONE)
    stale_or_failed = Q(status=MediaItem.Status.FAILED) | _stuck()
    if item.status == MediaItem.Status.RECEIVED:
        # Waiting for a worker now, maybe behind a backlog: queued again, it is scanned once all the same.
        stale_or_failed |= Q(status=MediaItem.Status.RECEIVED)
    if not _requeue(item.pk, stale_or_failed, fresh_attempts=True):
        item.refresh_from_db()
        if item.status == MediaItem.Status.DONE:
            raise ScanAgainRefused(SCAN_AGAIN_DONE)
        raise ScanAgainRefused(SCAN_AGAIN_RUNNING.format(minutes=-(-settings.SCAN_STUCK_AFTER_S // 60)))
    item.refresh_from_db()
    return item


@dataclass(frozen=True)
class ScanOutcome:
    item: MediaItem
    findings: list[Finding]
    skipped: bool = False  # another worker had it, or it was already done


def _claimable(*, resume: bool, now) -> Q:
    """Items a scan may claim: received ones; processing ones when this delivery resumes a scan (its
    worker was lost, or it is a retry) or when their claim is older than any scan can run."""
    if resume:
        return Q(status__in=[MediaItem.Status.RECEIVED, MediaItem.Status.PROCESSING])
    return Q(status=MediaItem.Status.RECEIVED) | (Q(status=MediaItem.Status.PROCESSING) & _claim_stale(now))


def _claim_stale(now) -> Q:
    before = now - timedelta(seconds=settings.SCAN_STUCK_AFTER_S)
    # No claim time: claimed before it was recorded (or by ``manage.py scan``); its age is the item's.
    return Q(scan_started_at__lt=before) | Q(scan_started_at__isnull=True, received_at__lt=before)


def media_scan(*, media_item_id: int, resume: bool = False) -> ScanOutcome:
    """Analyse one media item and write its findings. Safe to run twice, and from two workers.

    The claim is a conditional update: a second message for an item another worker is scanning is
    skipped, unless it ``resume``s that scan (the task says so for a redelivered message or a retry).
    Findings and indicators are written with get_or_create, so a scan resumed after a worker died
    having written some adds nothing twice. Every claim is counted; past SCAN_MAX_ATTEMPTS the item
    fails with SCAN_STOPPED instead of being scanned (and killing its worker) once more.
    """
    now = timezone.now()
    claimable = MediaItem.objects.filter(_claimable(resume=resume, now=now), pk=media_item_id)
    claimed = claimable.filter(scan_attempts__lt=settings.SCAN_MAX_ATTEMPTS).update(
        status=MediaItem.Status.PROCESSING, scan_started_at=now, scan_attempts=F("scan_attempts") + 1
    )
    if not claimed:
        claimable.update(
            status=MediaItem.Status.FAILED, processed_at=now,
            failure_reason=SCAN_STOPPED.format(attempts=settings.SCAN_MAX_ATTEMPTS),
        )
    item = MediaItem.objects.get(pk=media_item_id)
    if not claimed:
        return ScanOutcome(item=item, findings=[], skipped=True)
    started = time.monotonic()
    try:
        data = media_item_read(item)
    except FileNotFoundError:
        return ScanOutcome(item=media_scan_fail(item=item, reason=FILE_GONE), findings=[])
    except EncryptionError as exc:  # keys misconfigured: say so on the item rather than retry blindly
        return ScanOutcome(item=media_scan_fail(item=item, reason=str(exc)), findings=[])
    try:
        result = analyze(
            data, limits=media_limits(), finder=_face_finder(), sha256=item.sha256,
            allow_noncommercial_models=settings.INDICATORS_ALLOW_NONCOMMERCIAL_MODELS,
        )
    except MediaError as exc:
        return ScanOutcome(item=media_scan_fail(item=item, reason=exc.reason), findings=[])
    except SoftTimeLimitExceeded:
        return ScanOutcome(item=media_scan_fail(item=item, reason=SCAN_TOO_LONG), findings=[])
    except Exception:
        # A bug must not leave the item "processing" forever, nor stop a batch: fail it, keep the trace.
        log.exception("scan of media item %s crashed", item.pk)
        return ScanOutcome(item=media_scan_fail(item=item, reason=SCAN_CRASHED), findings=[])
    analysed_at = time.monotonic()
    outcome = media_scan_record(item=item, result=result)
    log.info(
        "scanned media item %s: %d faces, %d findings (analysis %.0f ms, match+write %.0f ms)",
        item.pk, len(result.faces), len(outcome.findings),
        (analysed_at - started) * 1000, (time.monotonic() - analysed_at) * 1000,
    )
    return outcome


@cache
def _face_finder() -> face_engine.FaceFinder:
    return face_engine.FaceFinder()


def media_scan_fail(*, item: MediaItem, reason: str) -> MediaItem:
    item.status, item.failure_reason, item.processed_at = MediaItem.Status.FAILED, reason, timezone.now()
    item.save(update_fields=["status", "failure_reason", "processed_at"])
    return item


def media_scan_record(*, item: MediaItem, result: Analysis) -> ScanOutcome:
    """Match an analysis against consented subjects, write findings, and mark the item done."""
    index = match_index()  # raises IndexNotReady: "not ready" must never read as "no match"
    likeness = index.match_likeness([f.embedding for f in result.faces], threshold=settings.FACE_MATCH_THRESHOLD)
    hash_hits = []
    if result.pdq_quality >= settings.PDQ_MIN_QUALITY:
        hash_hits = index.match_pdq(result.pdq_variants, threshold=settings.PDQ_MATCH_THRESHOLD)
    video_hits = []
    if isinstance(result, VideoAnalysis):
        hash_hits += _md5_hits(item)
        video_hits = _vpdq_hits(result.frame_hashes)
    faces = _faces_for_record(result)
    written = [
        *(_likeness_finding_write(item, m, faces[m.face_index]) for m in likeness),
        *(_hash_finding_write(item, m) for m in hash_hits),
        *(_hash_finding_write(item, m, known=KnownVideo) for m in video_hits),
    ]
    item.kind = result.kind
    item.width, item.height = result.width, result.height
    if isinstance(result, VideoAnalysis):
        item.duration_s, item.fps = result.duration_s, result.fps
        item.frame_pdq = [{"t": round(f.t, 3), "pdq": f.pdq_hex, "quality": f.quality} for f in result.frame_hashes]
        best = max(result.frame_hashes, key=lambda f: f.quality, default=None)
        item.pdq, item.pdq_quality = (best.pdq_hex, best.quality) if best else ("", None)
    else:
        item.pdq, item.pdq_quality, item.phash = result.pdq, result.pdq_quality, result.phash
    item.faces = faces
    _indicators_write(item, result.indicators)
    item.status, item.failure_reason, item.processed_at = MediaItem.Status.DONE, "", timezone.now()
    item.save()
    return ScanOutcome(item=item, findings=[f for f in written if f is not None])


def _indicators_write(item: MediaItem, results) -> None:
    for result in results:
        fields = result.as_dict()
        IndicatorResult.objects.update_or_create(
            media_item=item, name=fields.pop("name"), version=fields.pop("version"), defaults=fields
        )


def _faces_for_record(result: Analysis) -> list[dict]:
    """Faces as stored on the media item: box, quality, and for video the track and the second."""
    records = []
    for index, face in enumerate(result.faces):
        record = {**face.box.as_dict(), "quality": face.quality.as_dict() if face.quality else None}
        if isinstance(result, VideoAnalysis):
            record["track"], record["t"] = result.seen[index][0], round(result.seen[index][1], 3)
        records.append(record)
    return records


def _likeness_finding_write(item: MediaItem, match: matcher.LikenessMatch, face: dict) -> Finding | None:
    with transaction.atomic():
        # Re-check consent where it is decided: a withdrawal deletes the templates. Locking them makes
        # a concurrent withdrawal wait for this write, and then purge the finding with the rest.
        organization_id = _locked_organization_id(FaceTemplate, match.template_id)
        if organization_id is None:
            return None
        if _suppressed(item, match.subject_id):
            return None
        finding, _ = Finding.objects.get_or_create(
            media_item=item,
            subject_id=match.subject_id,
            kind=Finding.Kind.LIKENESS,
            defaults={
                "organization_id": organization_id,
                "distance": match.distance,
                "threshold": match.threshold,
                "model_version": face_engine.model_version(),
                "face_box": face,
                "template_id": match.template_id,
                "references_agreeing": match.references_agreeing,
                "references_total": match.references_total,
            },
        )
    return finding


def _md5_hits(item: MediaItem) -> list[matcher.HashMatch]:
    """Known videos registered by their file's MD5 (StopNCII's VideoMD5): the very same bytes, so distance 0.
    Read from the table, not the index: an exact lookup is one indexed query, and a withdrawal deletes the
    rows, which _hash_finding_write checks again under the lock."""
    rows = KnownImageHash.objects.filter(algorithm=KnownImageHash.Algorithm.MD5, value=item.md5.lower())
    return [matcher.HashMatch(subject_id, pk, "md5", 0, 0) for pk, subject_id in rows.values_list("pk", "subject_id")]


def _vpdq_hits(frames: list[vpdq.FrameHash]) -> list[matcher.HashMatch]:
    """Known videos whose frame hashes and the scanned video's match each other (Meta's vPDQ comparison,
    80 % of the frames of each): the same video, re-encoded, resized or trimmed a little. The distance is
    the share of frames left unmatched on the worse side (0 for the same frames), the threshold the most
    a match may leave. Every known video is compared, row by row: vPDQ hashes vary in length and are
    not in the match index; a withdrawal deletes the rows, which _hash_finding_write checks again under
    the lock."""
    if not frames:
        return []
    best: dict[int, matcher.HashMatch] = {}
    rows = KnownVideo.objects.order_by("pk").values_list("pk", "subject_id", "frames")
    for pk, subject_id, known in rows.iterator(chunk_size=200):
        shares = vpdq.match_vpdq(frames, [vpdq.FrameHash(f["t"], f["pdq"], f["quality"]) for f in known])
        if not vpdq.vpdq_same_video(shares):
            continue
        unmatched = round(1.0 - min(shares.query, shares.known), 4)
        if subject_id not in best or unmatched < best[subject_id].distance:
            best[subject_id] = matcher.HashMatch(subject_id, pk, "vpdq", unmatched,
                                                 round(1.0 - vpdq.SAME_VIDEO_SHARE, 4))
    return list(best.values())


def _locked_organization_id(model, pk: int) -> int | None:
    """Lock the reference (a face template or a known hash) a match came from and return its subject's
    organisation, which the finding is filed under; None when consent was withdrawn and the reference is gone.
    Only the reference row is locked (``of``): the subject and its organisation are read, not changed."""
    return (
        model.objects.select_for_update(of=("self",)).filter(pk=pk)
        .values_list("subject__organization_id", flat=True).first()
    )


def _suppressed(item: MediaItem, subject_id: int) -> bool:
    # A reviewer said these bytes do not show this subject (finding_suppression_add): asking again
    # would make them look at the same intimate image twice.
    return FindingSuppression.objects.filter(sha256=item.sha256, subject_id=subject_id).exists()


def finding_suppression_add(*, sha256: str, subject_id: int) -> FindingSuppression:
    """Never raise a finding for this file and this subject again. Idempotent; call inside the rejection's
    transaction, so a rolled-back rejection leaves no suppression behind."""
    suppression, _ = FindingSuppression.objects.get_or_create(sha256=sha256, subject_id=subject_id)
    return suppression


def _hash_finding_write(item: MediaItem, match: matcher.HashMatch, *, known=KnownImageHash) -> Finding | None:
    """``known``: the model ``match.hash_id`` is a row of (a known-image hash, or a known video)."""
    with transaction.atomic():
        organization_id = _locked_organization_id(known, match.hash_id)
        if organization_id is None:
            return None
        if _suppressed(item, match.subject_id):
            return None
        finding, _ = Finding.objects.get_or_create(
            media_item=item,
            subject_id=match.subject_id,
            kind=Finding.Kind.HASH,
            defaults={"organization_id": organization_id, "distance": match.distance, "threshold": match.threshold,
                      "model_version": match.algorithm},
        )
    return finding


# --- Ingest from a URL ----------------------------------------------------------------------------

NOT_MEDIA_OR_PAGE = "{url} is {content_type}: not an image, a video or a web page."
NOT_MEDIA = "{url} is {content_type}: not an image or a video."
PAGE_MEDIA_TOO_SLOW = (
    "Not fetched: the page and its media took longer than {seconds:g} seconds together, and this one came after."
)
FETCH_TOO_LONG = gettext_noop("Fetching took longer than the time limit; the media captured before it are kept.")
FETCH_STOPPED = (
    "This address was queued for fetching several times and no worker finished it, so it was not tried "
    "again. Submit it again once the workers are running."
)
_MEDIA_KINDS = (fetching.IMAGE, fetching.VIDEO)


def fetch_policy() -> fetching.FetchPolicy:
    return fetching.FetchPolicy(
        max_bytes=settings.MEDIA_MAX_BYTES,
        connect_timeout_s=settings.FETCH_TIMEOUT_S,
        read_timeout_s=settings.FETCH_TIMEOUT_S,
        deadline_s=settings.FETCH_DEADLINE_S,
        allowed_networks=tuple(settings.FETCH_ALLOWED_NETWORKS),
        user_agent=settings.FETCH_USER_AGENT,
        max_media_per_page=settings.FETCH_MAX_MEDIA_PER_PAGE,
    )


def _fetch_url(url: str, policy: fetching.FetchPolicy) -> fetching.Fetched:
    fetched = fetching.fetch(url, policy)
    if fetched.kind not in _MEDIA_KINDS and fetched.kind != fetching.HTML:
        raise fetching.FetchError(NOT_MEDIA_OR_PAGE.format(url=fetched.final_url, content_type=fetched.content_type))
    return fetched


def media_ingest_url(*, url: str, source: str, organization_id: int | None = None) -> list[MediaItem]:
    """Fetch ``url`` and ingest what it is: one image or video, or the media a web page shows.

    In the foreground (``manage.py scan``); a URL submitted through the web is fetched by a task instead
    (``media_url_receive``). A page's media that cannot be fetched become failed items with the reason,
    so one broken link loses nothing else and a person sees what was missed. Only a failure of ``url``
    itself raises ``FetchError``.
    """
    policy = fetch_policy()
    fetched = _fetch_url(url, policy)
    if fetched.kind in _MEDIA_KINDS:
        return [media_ingest_fetched(fetched, source=source, page_url="", organization_id=organization_id)]
    items: dict[int, MediaItem] = {}  # two links may redirect to the same capture
    for item in _page_media_ingest(fetched, source=source, organization_id=organization_id, policy=policy):
        items.setdefault(item.pk, item)
    return list(items.values())


def _page_media_ingest(
    page: fetching.Fetched, *, source: str, organization_id: int | None, policy: fetching.FetchPolicy,
    ends: float | None = None,
) -> Iterator[MediaItem]:
    """Each media the page shows, as an item, in page order. With ``ends`` (a ``time.monotonic()``), the
    page's fetch and its media's end then, as the policy's deadline; media left over fail with the reason."""
    for media_url in fetching.discover_media(page.final_url, page.data)[: policy.max_media_per_page]:
        left = None if ends is None else ends - time.monotonic()
        try:
            if left is not None and left <= 0:
                raise fetching.FetchError(PAGE_MEDIA_TOO_SLOW.format(seconds=policy.deadline_s))
            media = fetching.fetch(media_url, policy if left is None else replace(
                policy, deadline_s=min(policy.deadline_s, left)
            ))
            if media.kind not in _MEDIA_KINDS:
                raise fetching.FetchError(NOT_MEDIA.format(url=media.final_url, content_type=media.content_type))
        except fetching.FetchError as exc:
            yield media_record_failure(
                source=source, source_url=media_url, page_url=page.final_url, reason=exc.reason,
                organization_id=organization_id,
            )
        else:
            yield media_ingest_fetched(media, source=source, page_url=page.final_url, organization_id=organization_id)


def _evidence(fetched: fetching.Fetched, *, page_url: str) -> dict:
    return {
        "page_url": page_url,
        "http_status": fetched.status,
        "http_headers": fetched.headers,
        "fetched_at": fetched.fetched_at,
        "content_type": fetched.content_type,
    }


def media_ingest_fetched(
    fetched: fetching.Fetched, *, source: str, page_url: str, organization_id: int | None
) -> MediaItem:
    item = media_ingest(
        data=fetched.data,
        source=source,
        original_name=fetching.url_filename(fetched.final_url),
        source_url=fetched.final_url,
        organization_id=organization_id,
    )
    # The first capture's evidence stands: the same bytes fetched again from the same URL add nothing,
    # and the conditional update keeps two concurrent fetches from both writing it.
    MediaItem.objects.filter(pk=item.pk, fetched_at__isnull=True).update(**_evidence(fetched, page_url=page_url))
    item.refresh_from_db()
    return item


def media_record_failure(
    *, source: str, source_url: str, page_url: str = "", reason: str, organization_id: int | None = None
) -> MediaItem:
    """Keep a media file that could not be fetched as a failed item, with the reason."""
    empty = hashes.sha256_hex(b"")
    existing = _capture_existing(empty, source_url, organization_id)
    if existing is not None:
        return existing
    return _capture_save(MediaItem(
        source=source,
        organization_id=organization_id,
        source_url=source_url,
        page_url=page_url,
        original_name=fetching.url_filename(source_url),
        sha256=empty,
        md5=hashes.md5_hex(b""),
        size=0,
        status=MediaItem.Status.FAILED,
        failure_reason=reason,
    ))


# --- A URL submitted through the web: fetched by a task -------------------------------------------
# A remote server may take FETCH_DEADLINE_S to answer, far past a web worker's timeout, so the request
# only records the URL as an item "fetching" and answers with its id; the task fetches it and turns it
# into what the URL gave. The item's ``found_media_items`` then lists the captures: the item itself
# (an image or a video), the organisation's earlier capture of the same bytes at the same place (no
# duplicate: the item is "fetched" and points at it), or a page's media (the item is "fetched").


def media_url_receive(*, url: str, source: str, organization_id: int | None) -> MediaItem:
    """Record a submitted URL to be fetched by a task (``media_url_fetch_enqueue``); nothing is fetched here."""
    return MediaItem.objects.create(
        source=source,
        organization_id=organization_id,
        source_url=url,
        original_name=fetching.url_filename(url),
        sha256="",  # no bytes yet: out of the capture constraints
        md5="",
        size=0,
        status=MediaItem.Status.FETCHING,
        scan_queued_at=timezone.now(),  # the sweeper queues the fetch again if it is lost
    )


def media_url_fetch_enqueue(item: MediaItem) -> None:
    from detection.tasks import fetch_media_url

    transaction.on_commit(lambda: fetch_media_url.delay(item.pk))


def media_url_fetch(*, media_item_id: int) -> MediaItem:
    """Fetch a submitted URL (an item "fetching") and record what it gave; each capture is queued for
    scanning. Safe to run twice: an item no longer fetching is left as it is, and captures are one per
    organisation and place. A URL that cannot be fetched fails the item with the reason."""
    item = MediaItem.objects.get(pk=media_item_id)
    if item.status != MediaItem.Status.FETCHING:
        return item
    policy = fetch_policy()
    ends = time.monotonic() + policy.deadline_s
    try:
        try:
            fetched = _fetch_url(item.source_url, policy)
        except fetching.FetchError as exc:
            return _url_fetch_end(item, status=MediaItem.Status.FAILED, failure_reason=exc.reason)
        if fetched.kind in _MEDIA_KINDS:
            return _url_fetch_capture(item, fetched)
        # The page's own evidence of capture; its media are items of their own, found one by one so
        # that a time limit keeps what was captured before it.
        MediaItem.objects.filter(pk=item.pk, status=MediaItem.Status.FETCHING).update(**_evidence(fetched, page_url=""))
        for found in _page_media_ingest(fetched, source=item.source, organization_id=item.organization_id,
                                        policy=policy, ends=ends):
            item.found_media_items.add(found)
            media_scan_enqueue_if_stale(found)  # new, or the organisation's earlier capture whose scan was lost
    except SoftTimeLimitExceeded:
        return _url_fetch_end(item, status=MediaItem.Status.FAILED, failure_reason=FETCH_TOO_LONG)
    return _url_fetch_end(item, status=MediaItem.Status.FETCHED)


def _url_fetch_end(item: MediaItem, **fields) -> MediaItem:
    # Conditional: a second delivery of the task that finished first has already said how it ended.
    MediaItem.objects.filter(pk=item.pk, status=MediaItem.Status.FETCHING).update(processed_at=timezone.now(), **fields)
    item.refresh_from_db()
    return item


def _url_fetch_capture(item: MediaItem, fetched: fetching.Fetched) -> MediaItem:
    """The submitted item becomes the capture of an image or a video, unless the organisation already
    has these bytes from that place: then it points at that capture."""
    sha256 = hashes.sha256_hex(fetched.data)
    existing = _capture_existing(sha256, fetched.final_url, item.organization_id)
    if existing is None:
        capture = MediaItem(
            source=item.source, organization_id=item.organization_id, source_url=fetched.final_url,
            original_name=fetching.url_filename(fetched.final_url), sha256=sha256,
            md5=hashes.md5_hex(fetched.data), size=len(fetched.data),
        )
        _capture_fill(capture, fetched.data)
        fields = {
            name: getattr(capture, name)
            for name in ("source_url", "original_name", "sha256", "md5", "size", "status", "failure_reason")
        }
        fields["scan_attempts"] = 0  # the fetch's tries are over; the scan's are counted from here
        try:
            with transaction.atomic():
                became = MediaItem.objects.filter(pk=item.pk, status=MediaItem.Status.FETCHING).update(
                    file=capture.file.name or "", **fields, **_evidence(fetched, page_url="")
                )
                if became:
                    item.found_media_items.add(item)
        except IntegrityError:  # a concurrent fetch of the same bytes at the same place captured them first
            existing = _capture_existing(sha256, fetched.final_url, item.organization_id)
        else:
            item.refresh_from_db()
            if became and item.status == MediaItem.Status.RECEIVED:
                media_scan_enqueue(item)
            return item
    with transaction.atomic():
        ended = MediaItem.objects.filter(pk=item.pk, status=MediaItem.Status.FETCHING).update(
            status=MediaItem.Status.FETCHED, processed_at=timezone.now(), **_evidence(fetched, page_url="")
        )
        if ended:
            item.found_media_items.add(existing)
    if ended:
        media_scan_enqueue_if_stale(existing)  # the same file sent again: a lost scan of it is queued again
    item.refresh_from_db()
    return item


@dataclass(frozen=True)
class ReencryptSummary:
    face_templates: int
    reference_photos: int
    media_files: int  # media items with the same bytes share one file


def encrypted_data_reencrypt() -> ReencryptSummary:
    """Put every face template, reference photo file and media item file under the first
    FIELD_ENCRYPTION_KEYS key (``manage.py rotate_encryption_keys``); values stored before encryption
    existed are encrypted."""
    templates = _face_templates_reencrypt()
    photos = stored_files_reencrypt(ReferencePhoto.objects.exclude(image=""), "image")
    media = stored_files_reencrypt(MediaItem.objects.exclude(file=""), "file")
    log.info("re-encrypted %d face templates, %d reference photo files and %d media item files",
             templates, photos, media)
    return ReencryptSummary(face_templates=templates, reference_photos=photos, media_files=media)


def _face_templates_reencrypt() -> int:
    done = 0
    for pk in FaceTemplate.objects.order_by("pk").values_list("pk", flat=True).iterator():
        # Row by row under a lock, so a concurrent purge or enrolment is neither undone nor lost.
        with transaction.atomic():
            template = FaceTemplate.objects.select_for_update().filter(pk=pk).first()
            if template is None:
                continue
            FaceTemplate.objects.filter(pk=pk).update(embedding=data_rotate(token=template.embedding))
            done += 1
    return done


def stored_files_reencrypt(rows: QuerySet, field: str) -> int:
    """Rewrite each file that ``field`` of ``rows`` names; files are content-addressed, so rows share them."""
    done = 0
    for name in sorted(set(rows.values_list(field, flat=True))):
        if not default_storage.exists(name):
            continue
        with default_storage.open(name, "rb") as handle:
            rotated = data_rotate(token=handle.read())
        default_storage.delete(name)
        saved = default_storage.save(name, ContentFile(rotated))
        if saved != name:
            # The same bytes were stored again while the file was gone, by a process already
            # encrypting under the first key: a second copy would outlive a purge.
            default_storage.delete(saved)
        if not rows.filter(**{field: name}).exists():
            # A purge (consent withdrawn, a minor's case) committed while the file was rewritten, and
            # its deletion may have come before this save: the rewrite must not bring the file back.
            default_storage.delete(name)
            continue
        done += 1
    return done
