"""Subjects, their consent, and the biometric data that consent allows."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import PurePath

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.models import Consent, ConsentMethod, ConsentPurpose, ConsentText, FeedRecord, Organization, Subject
from casework.services.audit import audit_record
from casework.services.hash_feed import hash_feed_subject_sync
from detection import services as detection
from detection.encryption import data_encrypt
from detection.engine.errors import ReadableError

NO_ACTIVE_CONSENT = _("{subject} has no active consent to likeness matching, so no reference photo can be stored.")
PURPOSE_NOT_OFFERED = _("Consent text v{version} does not ask for: {purposes}.")
CONSENT_ALREADY_WITHDRAWN = _("This consent was already withdrawn on {date:%Y-%m-%d %H:%M} UTC.")
AUTHORITY_DOCUMENT_REQUIRED = _(
    "Consent given by a representative needs the document that gives them authority to act (for example a "
    "power of attorney, a court order or a guardianship record). Attach it to record this consent."
)


class ConsentError(ReadableError):
    pass


def subject_create(*, organization: Organization, display_name: str, contact_email: str = "", language: str = "",
                   by=None) -> Subject:
    """``language``: the one the subject reads, when known (Subject.language)."""
    with transaction.atomic():
        subject = Subject.objects.create(organization=organization, display_name=display_name,
                                         contact_email=contact_email, language=language)
        audit_record(action="subject.created", actor=by, organization=organization, target=subject)
    return subject


def consent_grant(
    *,
    subject: Subject,
    text: ConsentText,
    purposes: list[str],
    method: str,
    signature: str,
    authority_document: File | None = None,
    by=None,
) -> Consent:
    """Record consent to ``text``. A representative's consent must come with their authority document."""
    missing = sorted(set(purposes) - set(text.purposes))
    if missing:
        raise ConsentError(PURPOSE_NOT_OFFERED.format(version=text.version, purposes=", ".join(missing)))
    ConsentMethod(method)  # a bad method is a programming error: fail loudly
    document = authority_document.read() if authority_document else b""
    if method == ConsentMethod.REPRESENTATIVE and not document:
        raise ConsentError(AUTHORITY_DOCUMENT_REQUIRED)
    data = {"subject": subject.pk, "text_version": text.version, "text_language": text.language,
            "purposes": sorted(set(purposes)), "method": method}
    with transaction.atomic():
        # First, before the consent row: the lock registration and withdrawal take, held while the feed syncs.
        Subject.objects.select_for_update().get(pk=subject.pk)
        consent = Consent(
            subject=subject,
            text=text,
            purposes=sorted(set(purposes)),
            method=method,
            signature=signature,
            recorded_by=by,
            granted_at=timezone.now(),
        )
        if document:
            suffix = PurePath(authority_document.name or "").suffix.lower()[:10]
            # A random name: the stored path must not reveal whose document it is; encrypted, as it may
            # be identity papers (detection.encryption).
            consent.authority_document.save(f"{secrets.token_hex(16)}{suffix}",
                                            ContentFile(data_encrypt(data=document)), save=False)
            data["authority_document_sha256"] = hashlib.sha256(document).hexdigest()
        consent.save()
        if ConsentPurpose.HASH_SHARING in consent.purposes:
            # Hashes registered before this consent enter the platforms' feed now, under the subject's lock.
            data["shared"] = hash_feed_subject_sync(subject=subject, gone=FeedRecord.Status.DELETED).joined
        audit_record(action="consent.granted", actor=by, organization=subject.organization, target=consent, data=data)
    return consent


def subject_consents_to(subject: Subject, purpose: str) -> bool:
    return any(purpose in c.purposes for c in subject.consents.filter(withdrawn_at__isnull=True))


def reference_photo_add(*, subject: Subject, data: bytes, filename: str, by=None):
    with transaction.atomic():
        # Lock the subject so a withdrawal cannot slip between this check and the template insert.
        Subject.objects.select_for_update().get(pk=subject.pk)
        if not subject_consents_to(subject, ConsentPurpose.LIKENESS_MATCHING):
            raise ConsentError(NO_ACTIVE_CONSENT.format(subject=subject))
        photo = detection.reference_photo_add(subject_id=subject.pk, data=data, filename=filename)
        audit_record(
            action="reference_photo.added",
            actor=by,
            organization=subject.organization,
            target=subject,
            data={"reference_photo": photo.pk, "sha256": photo.sha256},
        )
    return photo


def reference_photo_remove(*, subject: Subject, photo_id: int, by=None):
    """Delete one reference photo and its face data; the subject's consent stays as it is."""
    with transaction.atomic():
        # The same lock as adding and withdrawal, so the three never interleave for one subject.
        Subject.objects.select_for_update().get(pk=subject.pk)
        photo = detection.reference_photo_remove(subject_id=subject.pk, photo_id=photo_id)
        audit_record(
            action="reference_photo.removed",
            actor=by,
            organization=subject.organization,
            target=subject,
            data={"reference_photo": photo_id, "sha256": photo.sha256},
        )
    return photo


def consent_withdraw(*, consent: Consent, by=None, reason: str = "") -> detection.PurgeSummary:
    """Withdraw consent and purge the subject's biometric data in the same transaction.

    The audit event records what was deleted (counts and photo SHA-256s), never the data itself.
    """
    with transaction.atomic():
        subject = Subject.objects.select_for_update().get(pk=consent.subject_id)
        consent = Consent.objects.select_for_update().get(pk=consent.pk)
        if consent.withdrawn_at is not None:
            raise ConsentError(CONSENT_ALREADY_WITHDRAWN.format(date=consent.withdrawn_at))
        consent.withdrawn_at, consent.withdrawn_by, consent.withdrawal_reason = timezone.now(), by, reason
        consent.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
        still_likeness = subject_consents_to(subject, ConsentPurpose.LIKENESS_MATCHING)
        still_hashes = subject_consents_to(subject, ConsentPurpose.HASH_MATCHING)
        summary = detection.subject_biometrics_purge(
            subject_id=subject.pk, likeness=not still_likeness, known_hashes=not still_hashes
        )
        # Hashes no longer shared (sharing withdrawn, or the hashes purged) turn Withdrawn in the platforms'
        # feed in this same transaction: the next page a platform reads tells it to delete them.
        unshared = hash_feed_subject_sync(subject=subject, gone=FeedRecord.Status.WITHDRAWN).left
        audit_record(
            action="consent.withdrawn",
            actor=by,
            organization=subject.organization,
            target=consent,
            data={"subject": subject.pk, "purged": summary.as_dict(), "unshared": unshared},
        )
    return summary


def subject_enroll(
    *,
    organization: Organization,
    display_name: str,
    text: ConsentText,
    method: str,
    signature: str,
    photos: list[tuple[str, bytes]],
    purposes: list[str] | None = None,
    contact_email: str = "",
    authority_document: File | None = None,
    by=None,
) -> Subject:
    """Create a subject, record their consent, and enrol their reference photos, all or nothing."""
    with transaction.atomic():
        # The language of the consent text the subject read is the first we know they read.
        subject = subject_create(organization=organization, display_name=display_name, contact_email=contact_email,
                                 language=text.language, by=by)
        consent_grant(
            subject=subject,
            text=text,
            purposes=purposes or [ConsentPurpose.LIKENESS_MATCHING],
            method=method,
            signature=signature,
            authority_document=authority_document,
            by=by,
        )
        for filename, data in photos:
            reference_photo_add(subject=subject, data=data, filename=filename, by=by)
    return subject


def authority_documents_reencrypt() -> int:
    """Put every consent's authority document under the first FIELD_ENCRYPTION_KEYS key
    (``manage.py rotate_encryption_keys``); documents stored before they were encrypted are encrypted."""
    return detection.stored_files_reencrypt(Consent.objects.exclude(authority_document=""), "authority_document")
