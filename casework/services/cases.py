"""Review decisions, cases (opened from findings or reports, closed, re-opened) and takedown requests."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework import deadlines
from casework.models import Case, Platform, Regime, Report, Subject, TakedownRequest
from casework.selectors import platform_recipient
from casework.services.audit import audit_record
from casework.services.minors import MINOR_NO_IMAGERY, MinorImageryRefused, case_minor_record
from casework.services.webhooks import FINDING_CONFIRMED, webhooks_notify
from detection import services as detection
from detection.engine.errors import ReadableError
from detection.models import Finding, MediaItem

ALREADY_REVIEWED = _("This finding was already {status} by another reviewer.")
REJECTION_NEEDS_REASON = _("Say why the finding is rejected; the reason keeps the same media from coming back.")
# Kept in the twin finding's record (review_reason and its audit event) as written: a record, not a message.
SAME_FILE_REJECTED = "Same file as finding {pk}, rejected: {reason}"
PLATFORM_NEEDED = _("Name the platform, or choose it from the directory.")
REPORT_ALREADY_OPENED = _("This report already has case {reference}.")
SUBJECT_OF_ANOTHER_ORGANISATION = _("The subject belongs to another organisation.")
CASE_HAS_RUNNING_REQUESTS = _(
    "Requests {references} are waiting for the platform; record what happened to them before closing the case."
)

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone


class ReviewError(ReadableError):
    pass


class CaseError(ReadableError):
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
        item = detection.media_ingest(data=data, source=MediaItem.Source.UPLOAD, original_name=filename,
                                      organization_id=locked.organization_id)
        locked.media_items.add(item)
        audit_record(
            action="case.media_added", actor=by, organization=locked.organization, target=locked,
            data={"media_item": item.pk, "sha256": item.sha256},
        )
        detection.media_scan_enqueue_if_stale(item)  # received, or a lost scan of the same file
    return item


def takedown_request_create(
    *,
    case: Case,
    platform: str,
    target_url: str,
    regime: str,
    by,
    recipient_email: str = "",
    directory_platform: Platform | None = None,
) -> TakedownRequest:
    """A draft request. With a ``directory_platform``, its name and its contact for ``regime`` fill in
    whatever the caller left empty."""
    Regime(regime)
    if directory_platform is not None:
        platform = platform.strip() or directory_platform.name
        recipient_email = recipient_email or platform_recipient(directory_platform, regime)
    if not platform.strip():
        raise CaseError(PLATFORM_NEEDED)
    with transaction.atomic():
        request = TakedownRequest.objects.create(
            case=case,
            organization_id=case.organization_id,
            platform=platform,
            directory_platform=directory_platform,
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
            data={"case": case.pk, "platform": platform, "url": target_url, "regime": regime,
                  "directory_platform": directory_platform.pk if directory_platform else None},
        )
    return request


def _lock_pending(finding: Finding) -> Finding:
    # Two reviewers may decide at once; the row lock makes the second one see the first decision.
    locked = Finding.objects.select_for_update().select_related("subject__organization").get(pk=finding.pk)
    if locked.status != Finding.Status.PENDING:
        raise ReviewError(ALREADY_REVIEWED.format(status=locked.get_status_display().lower()))
    return locked


def finding_confirm(
    *,
    finding: Finding,
    by,
    platform: str,
    target_url: str,
    regime: str = Regime.TAKE_IT_DOWN,
    directory_platform: Platform | None = None,
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
        request = takedown_request_create(
            case=case, platform=platform, target_url=target_url, regime=regime, by=by,
            directory_platform=directory_platform,
        )
        webhooks_notify(
            organization=finding.subject.organization,
            event=FINDING_CONFIRMED,
            payload={
                "finding": finding.pk, "kind": finding.kind, "subject": finding.subject_id,
                "media_item": finding.media_item_id, "case": case.reference, "takedown_request": request.pk,
                "confirmed_at": finding.reviewed_at,
            },
        )
        finding_hash_share_enqueue(finding)
    return case, request


def finding_hash_share_enqueue(finding: Finding) -> None:
    """The confirmed media's hash joins the platforms' feed if the subject's consent covers sharing: after
    this commits, in a transaction that takes the subject's lock first, as withdrawal does (a lock taken
    here, after the finding's, could deadlock with a withdrawal deleting pending findings)."""
    from casework.tasks import finding_hash_share

    transaction.on_commit(lambda pk=finding.pk: finding_hash_share.delay(pk))


def _reject(finding: Finding, *, by, reason: str, data: dict) -> None:
    finding.status, finding.reviewed_by, finding.reviewed_at = Finding.Status.REJECTED, by, timezone.now()
    finding.review_reason = reason
    finding.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_reason"])
    audit_record(
        action="finding.rejected", actor=by, organization=finding.subject.organization, target=finding,
        data={"reason": reason, **data},
    )


def finding_reject(*, finding: Finding, by, reason: str) -> Finding:
    """Reject a finding: this file does not show the subject. The file goes on the subject's ignore list
    (detection's FindingSuppression, by SHA-256), so no scan raises it again for them, and pending
    findings of the same file at other URLs are rejected with it: the answer is the same."""
    if not reason.strip():
        raise ReviewError(REJECTION_NEEDS_REASON)
    with transaction.atomic():
        finding = _lock_pending(finding)
        sha256 = finding.media_item.sha256
        _reject(finding, by=by, reason=reason.strip(), data={"ignored_file": sha256})
        # Written in the same transaction as the rejection: a scan committing a finding for these bytes
        # after this commits is refused by the writer; one that committed before is pending and caught here.
        detection.finding_suppression_add(sha256=sha256, subject_id=finding.subject_id)
        twins = (
            Finding.objects.select_for_update()
            .select_related("subject__organization")
            .filter(subject_id=finding.subject_id, media_item__sha256=sha256, status=Finding.Status.PENDING)
            .exclude(pk=finding.pk)
        )
        for twin in twins:
            _reject(twin, by=by, reason=SAME_FILE_REJECTED.format(pk=finding.pk, reason=finding.review_reason),
                    data={"same_file_as": finding.pk})
    return finding


def case_open_from_report(*, report: Report, by, subject: Subject | None = None) -> Case:
    """Open the case for a public report. A report saying the person depicted is a minor makes a case
    that keeps no imagery (casework.services.minors) from its first moment."""
    if subject is not None and subject.organization_id != report.organization_id:
        raise CaseError(SUBJECT_OF_ANOTHER_ORGANISATION)
    with transaction.atomic():
        # Two caseworkers opening the same report at once would make two cases for one person.
        locked = Report.objects.select_for_update().select_related("organization").get(pk=report.pk)
        existing = locked.cases.order_by("created_at").first()
        if existing is not None:
            raise CaseError(REPORT_ALREADY_OPENED.format(reference=existing.reference))
        case = Case.objects.create(
            organization=locked.organization, subject=subject, report=locked, reference=new_reference("RC"),
            created_by=by, assignee=by,
        )
        # What the reporter uploaded (casework.services.reports) is the case's media from the start.
        media = sorted(locked.media_items.values_list("pk", flat=True))
        case.media_items.add(*media)
        audit_record(
            action="case.opened", actor=by, organization=case.organization, target=case,
            data={"report": locked.reference, "subject": subject.pk if subject else None, "media_items": media},
        )
        if locked.status == Report.Status.RECEIVED:
            locked.status = Report.Status.IN_REVIEW
            locked.save(update_fields=["status"])
            audit_record(action="report.in_review", actor=by, organization=locked.organization, target=locked,
                         data={"case": case.pk})
        if locked.depicts_minor:
            case = case_minor_record(case=case, by=by)
    return case


def case_close(*, case: Case, by, note: str = "") -> Case:
    """Close a case whose requests are settled. Closing twice changes nothing and records nothing."""
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status == Case.Status.CLOSED:
            return locked
        running = locked.takedown_requests.filter(state__in=deadlines.CLOCK_RUNNING).order_by("pk")
        if running:
            raise CaseError(CASE_HAS_RUNNING_REQUESTS.format(references=", ".join(f"#{r.pk}" for r in running)))
        locked.status, locked.closed_at = Case.Status.CLOSED, timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        audit_record(action="case.closed", actor=by, organization=locked.organization, target=locked,
                     data={"note": note.strip()})
    return locked


def case_reopen(*, case: Case, by, reason: str) -> Case:
    """Re-open a closed case (content came back, new evidence). ``by`` None: the system (re-upload watch)."""
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status == Case.Status.OPEN:
            return locked
        locked.status, locked.closed_at = Case.Status.OPEN, None
        locked.save(update_fields=["status", "closed_at"])
        audit_record(action="case.reopened", actor=by, organization=locked.organization, target=locked,
                     data={"reason": reason.strip()})
    return locked
