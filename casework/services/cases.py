"""Review decisions, cases and takedown requests."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from casework.models import Case, Regime, Subject, TakedownRequest
from casework.services.audit import audit_record
from casework.services.minors import MINOR_NO_IMAGERY, MinorImageryRefused
from detection import services as detection
from detection.engine.errors import ReadableError
from detection.models import Finding, MediaItem

ALREADY_REVIEWED = "This finding was already {status} by another reviewer."
REJECTION_NEEDS_REASON = "Say why the finding is rejected; the reason keeps the same media from coming back."

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone


class ReviewError(ReadableError):
    pass


def new_reference(prefix: str) -> str:
    return prefix + "-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def case_open(*, subject: Subject, by, findings: list[Finding] = ()) -> Case:
    with transaction.atomic():
        case = Case.objects.create(
            organization=subject.organization, subject=subject, reference=new_reference("RC"), created_by=by, assignee=by
        )
        case.findings.add(*findings)
        audit_record(
            action="case.opened",
            actor=by,
            organization=case.organization,
            target=case,
            data={"subject": subject.pk, "findings": [f.pk for f in findings]},
        )
    return case


def case_media_add(*, case: Case, data: bytes, filename: str, by) -> MediaItem:
    """Add a file to a case, and scan it. Refused for a case that depicts a minor."""
    with transaction.atomic():
        # Locked so that recording a minor (casework.services.minors) cannot pass this check unseen.
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.depicts_minor:
            raise MinorImageryRefused(MINOR_NO_IMAGERY)
        item = detection.media_ingest(data=data, source=MediaItem.Source.UPLOAD, original_name=filename)
        locked.media_items.add(item)
        audit_record(
            action="case.media_added", actor=by, organization=locked.organization, target=locked,
            data={"media_item": item.pk, "sha256": item.sha256},
        )
        if item.status == MediaItem.Status.RECEIVED:
            detection.media_scan_enqueue(item)
    return item


def takedown_request_create(
    *, case: Case, platform: str, target_url: str, regime: str, by, recipient_email: str = ""
) -> TakedownRequest:
    Regime(regime)
    with transaction.atomic():
        request = TakedownRequest.objects.create(
            case=case,
            platform=platform,
            target_url=target_url,
            regime=regime,
            recipient_email=recipient_email,
            created_by=by,
        )
        audit_record(
            action="takedown_request.created",
            actor=by,
            organization=case.organization,
            target=request,
            data={"case": case.pk, "platform": platform, "url": target_url, "regime": regime},
        )
    return request


def _lock_pending(finding: Finding) -> Finding:
    # Two reviewers may decide at once; the row lock makes the second one see the first decision.
    locked = Finding.objects.select_for_update().select_related("subject__organization").get(pk=finding.pk)
    if locked.status != Finding.Status.PENDING:
        raise ReviewError(ALREADY_REVIEWED.format(status=locked.get_status_display().lower()))
    return locked


def finding_confirm(
    *, finding: Finding, by, platform: str, target_url: str, regime: str = Regime.TAKE_IT_DOWN
) -> tuple[Case, TakedownRequest]:
    """Confirm a finding: it joins the subject's open case (opened if none) with a takedown request."""
    with transaction.atomic():
        finding = _lock_pending(finding)
        finding.status, finding.reviewed_by, finding.reviewed_at = Finding.Status.CONFIRMED, by, timezone.now()
        finding.save(update_fields=["status", "reviewed_by", "reviewed_at"])
        audit_record(
            action="finding.confirmed",
            actor=by,
            organization=finding.subject.organization,
            target=finding,
            data={"kind": finding.kind, "distance": finding.distance, "threshold": finding.threshold},
        )
        case = (
            Case.objects.select_for_update()
            .filter(subject=finding.subject, status=Case.Status.OPEN)
            .order_by("created_at")
            .first()
        )
        if case is None:
            case = case_open(subject=finding.subject, by=by, findings=[finding])
        else:
            case.findings.add(finding)
        request = takedown_request_create(case=case, platform=platform, target_url=target_url, regime=regime, by=by)
    return case, request


def finding_reject(*, finding: Finding, by, reason: str) -> Finding:
    if not reason.strip():
        raise ReviewError(REJECTION_NEEDS_REASON)
    with transaction.atomic():
        finding = _lock_pending(finding)
        finding.status, finding.reviewed_by, finding.reviewed_at = Finding.Status.REJECTED, by, timezone.now()
        finding.review_reason = reason.strip()
        finding.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_reason"])
        audit_record(
            action="finding.rejected", actor=by, organization=finding.subject.organization, target=finding,
            data={"reason": finding.review_reason},
        )
    return finding
