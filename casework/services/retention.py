"""Storage limitation for biometric data (GDPR Art. 5(1)(e)): what is no longer used is deleted.

A subject's face templates, reference photos, known-image hashes and known videos are purged when the
subject has no open case and nothing has happened for BIOMETRIC_RETENTION_DAYS. A subject we can write to is
told first and the purge waits RETENTION_NOTICE_DAYS: they may want us to keep looking. Activity
after the notice (a new consent, photo, finding, case or takedown step) cancels it; the next period
of inactivity needs a new notice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from casework.models import Case, Consent, FeedRecord, Subject, TakedownRequest
from casework.services.audit import audit_record
from casework.services.hash_feed import hash_feed_subject_sync, hash_feed_tombstones_purge
from casework.services.portal import subject_language
from detection import services as detection
from detection.models import FaceTemplate, Finding, KnownImageHash, KnownVideo, ReferencePhoto

log = logging.getLogger(__name__)

NOTICE_SUBJECT = _("{organization}: your data for image matching will be deleted")


@dataclass
class RetentionSummary:
    noticed: list[int] = field(default_factory=list)
    purged: list[int] = field(default_factory=list)
    feed_tombstones_purged: int = 0


def _latest(queryset: QuerySet, column: str) -> Coalesce:
    newest = queryset.filter(**{column + "__isnull": False}).order_by("-" + column).values(column)[:1]
    # Greatest() is NULL on SQLite when any argument is: an absent relation counts as the subject's creation.
    return Coalesce(Subquery(newest, output_field=DateTimeField()), F("created_at"))


def _subjects_with_activity() -> QuerySet[Subject]:
    subject = OuterRef("pk")
    return Subject.objects.annotate(
        last_activity=Greatest(
            F("created_at"),
            _latest(Consent.objects.filter(subject=subject), "granted_at"),
            _latest(ReferencePhoto.objects.filter(subject=subject), "created_at"),
            _latest(KnownImageHash.objects.filter(subject=subject), "created_at"),
            _latest(KnownVideo.objects.filter(subject=subject), "created_at"),
            _latest(Finding.objects.filter(subject=subject), "created_at"),
            _latest(Case.objects.filter(subject=subject), "created_at"),
            _latest(TakedownRequest.objects.filter(case__subject=subject), "created_at"),
            _latest(TakedownRequest.objects.filter(case__subject=subject), "state_changed_at"),
        ),
        has_biometrics=Exists(FaceTemplate.objects.filter(subject=subject))
        | Exists(ReferencePhoto.objects.filter(subject=subject))
        | Exists(KnownImageHash.objects.filter(subject=subject))
        | Exists(KnownVideo.objects.filter(subject=subject)),
        has_open_case=Exists(Case.objects.filter(subject=subject, status=Case.Status.OPEN)),
    )


def subjects_due_for_retention(now: dt.datetime) -> QuerySet[Subject]:
    cutoff = now - dt.timedelta(days=settings.BIOMETRIC_RETENTION_DAYS)
    return (
        _subjects_with_activity()
        .filter(has_biometrics=True, has_open_case=False, last_activity__lt=cutoff)
        .select_related("organization")
        .order_by("pk")
    )


def _notice_send(subject: Subject, now: dt.datetime) -> bool:
    with transaction.atomic():
        # A doubled run must not write twice: the conditional update lets one of them claim the notice.
        claimed = Subject.objects.filter(
            pk=subject.pk, retention_notice_sent_at=subject.retention_notice_sent_at
        ).update(retention_notice_sent_at=now)
        if not claimed:
            return False
        purge_after = now + dt.timedelta(days=settings.RETENTION_NOTICE_DAYS)
        audit_record(
            action="subject.retention_notice_sent", actor=None, organization=subject.organization, target=subject,
            data={"last_activity": subject.last_activity.isoformat(), "purge_after": purge_after.isoformat()},
        )
        with translation.override(subject_language(subject)):  # the subject's e-mail, in their language
            body = render_to_string(
                "casework/emails/retention_notice.txt",
                {"subject": subject, "organization": subject.organization, "last_activity": subject.last_activity,
                 "purge_after": purge_after},
            )
            message_subject = NOTICE_SUBJECT.format(organization=subject.organization.name)
        # Inside the transaction: a failed send rolls the claim back and the next run tries again.
        send_mail(message_subject, body, None, [subject.contact_email])
    return True


def _purge(subject: Subject, now: dt.datetime) -> bool:
    with transaction.atomic():
        Subject.objects.select_for_update().get(pk=subject.pk)
        # Re-check under the lock: a case opened or a photo added since the query keeps the data.
        still_due = subjects_due_for_retention(now).filter(pk=subject.pk).first()
        if still_due is None:
            return False
        summary = detection.subject_biometrics_purge(subject_id=subject.pk, likeness=True, known_hashes=True)
        # Its hashes turn Deleted in the platforms' feed with the purge (casework.services.hash_feed).
        unshared = hash_feed_subject_sync(subject=subject, gone=FeedRecord.Status.DELETED).left
        audit_record(
            action="subject.biometrics_purged", actor=None, organization=subject.organization, target=subject,
            data={"reason": "retention", "retention_days": settings.BIOMETRIC_RETENTION_DAYS,
                  "last_activity": still_due.last_activity.isoformat(), "purged": summary.as_dict(),
                  "unshared": unshared},
        )
    return True


def biometrics_retention_purge(*, now: dt.datetime | None = None) -> RetentionSummary:
    """Tell, then purge, subjects whose biometric data has not been used for the retention period."""
    now = now or timezone.now()
    notice_period = dt.timedelta(days=settings.RETENTION_NOTICE_DAYS)
    summary = RetentionSummary()
    for subject in subjects_due_for_retention(now):
        noticed_at = subject.retention_notice_sent_at
        # A notice sent before the latest activity belongs to an earlier period of inactivity.
        current_notice = noticed_at is not None and noticed_at >= subject.last_activity
        try:
            if subject.contact_email and not current_notice:
                if _notice_send(subject, now):
                    summary.noticed.append(subject.pk)
            elif not subject.contact_email or now - noticed_at >= notice_period:
                if _purge(subject, now):
                    summary.purged.append(subject.pk)
        except Exception:
            # One bad address or subject must not keep every other subject's data beyond its time.
            log.exception("retention for subject %s failed; retried next run", subject.pk)
    # The platforms' feed keeps a hash that left it as a tombstone for HASH_FEED_TOMBSTONE_DAYS; then it goes.
    summary.feed_tombstones_purged = hash_feed_tombstones_purge(now=now)
    return summary
