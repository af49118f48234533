"""The hash feed platforms read (StopNCII's hash API, casework.api.stopncii), kept in step with consent.

A known hash of a subject is in its organisation's feed, as an Active case of the hash's record, exactly
while the hash exists and the subject holds an active consent to hash sharing (ConsentPurpose.HASH_SHARING).
Every service that changes either calls ``hash_feed_subject_sync`` in its own transaction, under the
subject's row lock (the lock consent withdrawal takes): registering hashes (pasted, hashed in the browser,
from a confirmed finding), granting or withdrawing consent, a caseworker's removal, the retention purge.
So once a withdrawal commits, the next page any platform reads says Withdrawn.

Only PDQ (StopNCII's ImagePDQ) and a video's whole-file MD5 (VideoMD5) go out, the signal types HMA
matches; pHash and video frame hashes stay in Reclaim.

A hash that leaves the feed keeps its record as a tombstone: the case turns Withdrawn (consent ended) or
Deleted (a caseworker removed it, or the retention purge did), and with no case active the record's
``hashStatus`` says so; python-threatexchange's client deletes such a record ("Should be deleted by
client"). Tombstones are purged HASH_FEED_TOMBSTONE_DAYS after they were made (README, "For platforms").
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from casework.models import (
    Case,
    Consent,
    ConsentPurpose,
    FeedCase,
    FeedFeedback,
    FeedPlatform,
    FeedRecord,
    Subject,
)
from casework.services.audit import audit_record
from detection import services as detection
from detection.models import Finding, KnownImageHash, MediaItem

log = logging.getLogger(__name__)

Status = FeedRecord.Status
SIGNAL_TYPES = {KnownImageHash.Algorithm.PDQ: FeedRecord.SignalType.IMAGE_PDQ,
                KnownImageHash.Algorithm.MD5: FeedRecord.SignalType.VIDEO_MD5}
GONE = (Status.WITHDRAWN, Status.DELETED)
PURGE_BATCH = 1000


@dataclass(frozen=True)
class FeedChange:
    joined: int  # the subject's hashes that entered the feed
    left: int  # that left it (now Withdrawn or Deleted)


def _shares(subject_id: int) -> bool:
    # casework.services.consent.subject_consents_to, read here too: consent imports this module.
    return any(ConsentPurpose.HASH_SHARING in c.purposes
               for c in Consent.objects.filter(subject_id=subject_id, withdrawn_at__isnull=True))


def _record_locked(organization_id: int, signal_type: str, value: str) -> FeedRecord:
    """The organisation's record for a hash, made if new, locked: a tombstone purge deciding to delete it
    and a sync adding a case to it take turns (hash_feed_tombstones_purge locks the same rows)."""
    record, _ = FeedRecord.objects.select_for_update().get_or_create(
        organization_id=organization_id, signal_type=signal_type, hash_value=value,
        defaults={"status": Status.ACTIVE, "modified_at": timezone.now()},
    )
    return record


def _aggregate(statuses: list[str]) -> str:
    """The record's hashStatus from its cases': shared while any case is; else how the last ones left."""
    if Status.ACTIVE in statuses:
        return Status.ACTIVE
    return Status.WITHDRAWN if Status.WITHDRAWN in statuses else Status.DELETED


def _records_restate(record_ids: set[int], now: dt.datetime) -> None:
    for record in FeedRecord.objects.select_for_update().filter(pk__in=record_ids).order_by("pk"):
        record.status = _aggregate(list(record.cases.values_list("status", flat=True)))
        record.modified_at = now
        record.save(update_fields=["status", "modified_at"])


def hash_feed_subject_sync(*, subject: Subject, gone: str) -> FeedChange:
    """Make the feed say what the subject's hashes and consent allow now. ``gone`` is what a hash that leaves
    becomes: Withdrawn when consent ended, Deleted when the hash was removed or purged.

    Call inside the transaction that made the change, holding the subject's row lock."""
    assert gone in GONE
    now = timezone.now()
    shared = {}
    if _shares(subject.pk):
        shared = {known.pk: known for known in
                  KnownImageHash.objects.filter(subject_id=subject.pk, algorithm__in=list(SIGNAL_TYPES))}
    touched, left = set(), 0
    for case in FeedCase.objects.select_for_update().filter(subject_id=subject.pk, status=Status.ACTIVE):
        if shared.pop(case.known_hash_id, None) is not None:
            continue  # still shared
        # Whose it was is forgotten: the tombstone keeps only its random number and how it left.
        case.status, case.subject, case.known_hash, case.changed_at = gone, None, None, now
        case.save(update_fields=["status", "subject", "known_hash", "changed_at"])
        touched.add(case.record_id)
        left += 1
    for known in sorted(shared.values(), key=lambda k: k.pk):
        record = _record_locked(subject.organization_id, SIGNAL_TYPES[known.algorithm], known.value)
        FeedCase.objects.create(record=record, number=str(uuid.uuid4()), status=Status.ACTIVE, subject=subject,
                                known_hash=known, changed_at=now)
        touched.add(record.pk)
    _records_restate(touched, now)
    return FeedChange(joined=len(shared), left=left)


# --- Hashes of confirmed findings ------------------------------------------------------------------

def _media_hash(item: MediaItem) -> tuple[str, str, int | None] | None:
    """The hash of a finding's media that would go out: an image's PDQ, a video's whole-file MD5."""
    if item.kind == MediaItem.Kind.IMAGE and item.pdq:
        return KnownImageHash.Algorithm.PDQ, item.pdq, item.pdq_quality
    if item.kind == MediaItem.Kind.VIDEO and item.md5:
        return KnownImageHash.Algorithm.MD5, item.md5, None
    return None


def finding_hash_share(*, finding_id: int) -> KnownImageHash | None:
    """Share the hash of a confirmed finding's media, when the subject's consent covers it: hash matching
    (it becomes one of their known hashes, so Reclaim finds re-uploads of it too) and hash sharing.

    Runs after the confirmation commits (casework.tasks.finding_hash_share), in its own transaction that
    takes the subject's lock first, as withdrawal does, so the two never wait on each other's rows.
    Never for a case that depicts a minor: such hashes go to NCMEC's Take It Down, not to this feed."""
    finding = Finding.objects.select_related("media_item").filter(pk=finding_id).first()
    if finding is None or finding.status != Finding.Status.CONFIRMED:
        return None
    media_hash = _media_hash(finding.media_item)
    if media_hash is None:
        return None
    algorithm, value, quality = media_hash
    with transaction.atomic():
        subject = Subject.objects.select_for_update().select_related("organization").get(pk=finding.subject_id)
        purposes = {p for c in Consent.objects.filter(subject=subject, withdrawn_at__isnull=True) for p in c.purposes}
        if not {ConsentPurpose.HASH_MATCHING, ConsentPurpose.HASH_SHARING} <= purposes:
            return None
        # Read under the subject's lock, which minor_case_hashes_unshare takes too: a case marked as depicting
        # a minor since the confirmation is seen here, or is marked after this commits and removes the hash.
        if Case.objects.filter(findings=finding, depicts_minor=True).exists():
            return None
        before = KnownImageHash.objects.filter(subject=subject, algorithm=algorithm, value=value).exists()
        known = detection.known_hash_add(subject_id=subject.pk, algorithm=algorithm, value=value, quality=quality,
                                         label=f"finding {finding.pk}")
        change = hash_feed_subject_sync(subject=subject, gone=Status.DELETED)
        audit_record(action="known_hashes.registered", actor=finding.reviewed_by, organization=subject.organization,
                     target=subject, data={"from_finding": finding.pk, "submitted": 1, "added": 0 if before else 1,
                                           "shared": change.joined})
    return known


@dataclass(frozen=True)
class MinorUnshare:
    removed: int  # known hashes of the case's findings' media taken off their subjects
    left: int  # records' cases that left the feed (now Deleted)


def minor_case_hashes_unshare(*, case: Case) -> MinorUnshare:
    """Take the hashes of a case's findings' media (those finding_hash_share registers) off their subjects,
    so they leave the feed as Deleted: the case depicts a minor, whose hashes go to Take It Down instead.

    Call inside the transaction that marks the case, after locking it; takes each subject's lock (the one
    registration, withdrawal and finding_hash_share take), in pk order."""
    by_subject: dict[int, set[tuple[str, str]]] = {}
    for finding in Finding.objects.filter(cases=case).select_related("media_item").order_by("pk"):
        media_hash = _media_hash(finding.media_item)
        if media_hash is not None:
            by_subject.setdefault(finding.subject_id, set()).add((media_hash[0], media_hash[1].lower()))
    removed = left = 0
    for subject_id in sorted(by_subject):
        subject = Subject.objects.select_for_update().get(pk=subject_id)
        for known in KnownImageHash.objects.filter(subject_id=subject_id).order_by("pk"):
            if (known.algorithm, known.value) in by_subject[subject_id]:
                detection.known_hash_remove(subject_id=subject_id, known_hash_id=known.pk)
                removed += 1
        left += hash_feed_subject_sync(subject=subject, gone=Status.DELETED).left
    return MinorUnshare(removed=removed, left=left)


# --- Feedback from platforms -----------------------------------------------------------------------

@dataclass(frozen=True)
class FeedbackIn:
    hash_value: str
    value: str  # FeedFeedback.Value
    tags: tuple[str, ...] = ()


@dataclass
class FeedbackSummary:
    accepted: int = 0
    unknown: list[str] = field(default_factory=list)  # hash values not in the platform's feed


def hash_feed_feedback_record(*, platform: FeedPlatform, feedbacks: list[FeedbackIn]) -> FeedbackSummary:
    """A platform's feedback (SubmitFeedback): kept as history, and as the platform's latest opinion on each
    record (the CSPFeedbacks every platform of the feed reads). One audit event per submission.

    A value not in this organisation's feed is answered as unknown: another organisation's records are
    never looked at, so the answer cannot tell whether any other feed holds it."""
    now = timezone.now()
    summary = FeedbackSummary()
    with transaction.atomic():
        values = {f.hash_value.lower() for f in feedbacks}
        records = {
            record.hash_value: record for record in FeedRecord.objects.select_for_update().filter(
                organization_id=platform.organization_id, hash_value__in=values).order_by("pk")
        }
        rows, recorded, touched, counts = [], set(), {}, {}
        for feedback in feedbacks:
            record = records.get(feedback.hash_value.lower())
            if record is None:
                summary.unknown.append(feedback.hash_value)
                continue
            tags = sorted(set(feedback.tags))
            rows.append(FeedFeedback(organization_id=platform.organization_id, platform=platform, record=record,
                                     value=feedback.value, tags=tags, received_at=now))
            recorded.add(record.pk)
            if record.status == Status.ACTIVE:
                # Only the history row for a tombstone: moving its modified_at would restart the clock of
                # its purge (hash_feed_tombstones_purge) at every feedback, so it would never go.
                record.feedbacks[str(platform.pk)] = {"source": platform.name, "feedbackValue": feedback.value,
                                                      "tags": tags}
                touched[record.pk] = record
            counts[feedback.value] = counts.get(feedback.value, 0) + 1
        FeedFeedback.objects.bulk_create(rows)
        for record in touched.values():
            # Changed for every platform of the feed: the others read this one's opinion with the record.
            record.modified_at = now
            record.save(update_fields=["feedbacks", "modified_at"])
        summary.accepted = len(rows)
        audit_record(
            action="hash_feed.feedback_received", actor=None, actor_label=f"platform:{platform.pk}:{platform.name}",
            organization=platform.organization, target=platform,
            data={"platform": platform.name, "received": counts, "records": sorted(recorded),
                  "unknown": len(summary.unknown)},
        )
    return summary


# --- Tombstones ------------------------------------------------------------------------------------

def hash_feed_tombstones_purge(*, now: dt.datetime | None = None) -> int:
    """Delete tombstones older than HASH_FEED_TOMBSTONE_DAYS (records no case is active in, and cases that
    left the feed), in batches; returns how many records went. Runs with the daily retention purge.

    Each batch locks its records first and deletes only those still tombstones: a hash registered again
    meanwhile (its record locked and made Active by hash_feed_subject_sync) is kept."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.HASH_FEED_TOMBSTONE_DAYS)
    FeedCase.objects.filter(status__in=GONE, changed_at__lt=cutoff).delete()
    purged = 0
    while True:
        with transaction.atomic():
            ids = list(FeedRecord.objects.select_for_update().filter(status__in=GONE, modified_at__lt=cutoff)
                       .order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH])
            if not ids:
                break
            FeedFeedback.objects.filter(record_id__in=ids).update(record=None)
            FeedCase.objects.filter(record_id__in=ids).delete()
            FeedRecord.objects.filter(pk__in=ids).delete()
        purged += len(ids)
        if len(ids) < PURGE_BATCH:
            break
    if purged:
        log.info("hash feed: %d tombstones older than %d days purged", purged, settings.HASH_FEED_TOMBSTONE_DAYS)
    return purged
