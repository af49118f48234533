"""Caseworker and legal pages. Thin: fetch-and-authorise, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from casework import access, deadlines
from casework.forms import (
    CaseMediaForm,
    ConfirmFindingForm,
    DeadlineExtensionForm,
    NoticeForm,
    RejectFindingForm,
    TakedownTransitionForm,
)
from casework.models import Regime
from casework.services import minors
from casework.services.cases import ReviewError, case_media_add, finding_confirm, finding_reject
from casework.services.deadlines import DeadlineError, takedown_deadline_extend
from casework.services.notices import NoticeDraft, NoticeIncomplete, notice_elements, notice_generate
from casework.services.receipts import consent_receipt_pdf
from casework.services.takedowns import (
    TransitionRefused,
    TransitionRoleRefused,
    takedown_actions_available,
    takedown_transition,
)
from detection.models import Finding


@require_GET
@login_required
def home(request):
    return redirect("casework:review_queue")


@require_GET
@login_required
def review_queue(request):
    findings = access.findings_for_user(request.user).filter(status=Finding.Status.PENDING).order_by("-created_at", "distance")
    return render(request, "casework/review_queue.html", {"findings": findings})


def _finding_page(request, finding, *, confirm_form=None, reject_form=None, status=200):
    confirm_form = confirm_form or ConfirmFindingForm(
        initial={"target_url": finding.media_item.source_url, "regime": Regime.TAKE_IT_DOWN}
    )
    context = {
        "finding": finding,
        "media_item": finding.media_item,
        "confirm_form": confirm_form,
        "reject_form": reject_form or RejectFindingForm(),
        "cases": finding.cases.all(),
        # Applicable signals first, strongest first; "not applicable" ones last, still listed.
        "indicators": sorted(
            finding.media_item.indicators.all(), key=lambda r: (r.score is None, -(r.score or 0), r.name)
        ),
    }
    return render(request, "casework/finding_detail.html", context, status=status)


@require_GET
@login_required
def finding_detail(request, pk: int):
    return _finding_page(request, access.finding_get_for_user(request.user, pk))


@require_POST
@login_required
def finding_confirm_view(request, pk: int):
    finding = access.finding_get_for_user(request.user, pk)
    access.require_role(request.user, finding.subject.organization_id, access.REVIEWERS)
    form = ConfirmFindingForm(request.POST)
    if not form.is_valid():
        return _finding_page(request, finding, confirm_form=form, status=400)
    try:
        case, _ = finding_confirm(finding=finding, by=request.user, **form.cleaned_data)
    except ReviewError as exc:
        messages.error(request, exc.reason)
        return redirect("casework:finding_detail", pk=finding.pk)
    messages.success(request, f"Finding confirmed and added to case {case.reference}.")
    return redirect("casework:case_detail", pk=case.pk)


@require_POST
@login_required
def finding_reject_view(request, pk: int):
    finding = access.finding_get_for_user(request.user, pk)
    access.require_role(request.user, finding.subject.organization_id, access.REVIEWERS)
    form = RejectFindingForm(request.POST)
    if not form.is_valid():
        return _finding_page(request, finding, reject_form=form, status=400)
    try:
        finding_reject(finding=finding, by=request.user, reason=form.cleaned_data["reason"])
    except ReviewError as exc:
        messages.error(request, exc.reason)
        return redirect("casework:finding_detail", pk=finding.pk)
    messages.success(request, "Finding rejected.")
    return redirect("casework:review_queue")


def _private_file(field, *, attachment: bool):
    if not field:
        raise Http404("The file is not stored.")
    response = FileResponse(field.open("rb"), as_attachment=attachment, filename=field.name.rsplit("/", 1)[-1])
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def finding_media(request, pk: int):
    finding = access.finding_get_for_user(request.user, pk)
    return _private_file(finding.media_item.file, attachment=False)


@require_GET
@login_required
def case_detail(request, pk: int):
    case = access.case_get_for_user(request.user, pk)
    now = timezone.now()
    takedowns = list(case.takedown_requests.order_by("created_at"))
    context = {
        "case": case,
        "findings": case.findings.select_related("media_item"),
        "takedown_requests": [(t, deadlines.deadline_state(t, now)) for t in takedowns],
        "consents": case.subject.consents.select_related("text").order_by("-granted_at") if case.subject else [],
        "media_items": minors.case_media_items(case).order_by("pk"),
        "media_form": CaseMediaForm(),
        "take_it_down_url": minors.TAKE_IT_DOWN_URL,
        "iwf_url": minors.IWF_URL,
    }
    return render(request, "casework/case_detail.html", context)


@require_POST
@login_required
def case_minor_record_view(request, pk: int):
    case = access.case_get_for_user(request.user, pk)
    minors.case_minor_record(case=case, by=request.user)
    messages.success(request, "Recorded: the person depicted is a minor. Its imagery is deleted; the hashes stay.")
    return redirect("casework:case_detail", pk=case.pk)


@require_POST
@login_required
def case_media_upload(request, pk: int):
    case = access.case_get_for_user(request.user, pk)
    access.require_role(request.user, case.organization_id, access.REVIEWERS)
    form = CaseMediaForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a file to upload.")
        return redirect("casework:case_detail", pk=case.pk)
    upload = form.cleaned_data["file"]
    try:
        case_media_add(case=case, data=upload.read(), filename=upload.name, by=request.user)
    except minors.MinorImageryRefused as exc:
        messages.error(request, exc.reason)
        return redirect("casework:case_detail", pk=case.pk)
    messages.success(request, "File added to the case; it is being scanned.")
    return redirect("casework:case_detail", pk=case.pk)


@require_GET
@login_required
def consent_receipt(request, pk: int):
    consent = access.consent_get_for_user(request.user, pk)
    response = HttpResponse(consent_receipt_pdf(consent=consent), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{consent.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def _takedown_page(request, takedown, form=None, status=200):
    form = form or NoticeForm()
    if form.is_bound:
        values = {name: form.data.get(name, "") for name in form.fields}
    else:
        values = {name: form.get_initial_for_field(field, name) or "" for name, field in form.fields.items()}
    draft = NoticeDraft(**values)
    try:
        elements = notice_elements(takedown, draft)
        available = True
    except NoticeIncomplete as exc:
        elements, available = [], False
        messages.info(request, exc.missing[0])
    role = access.role_in(request.user, takedown.case.organization_id)
    context = {
        "takedown": takedown,
        "case": takedown.case,
        "notices": takedown.notices.order_by("-created_at"),
        "form": form,
        "elements": elements,
        "notice_available": available,
        "may_issue": role in access.NOTICE_ISSUERS,
        "actions": takedown_actions_available(request=takedown, role=role),
        "transition_form": TakedownTransitionForm(),
        "deadline": deadlines.deadline_state(takedown, timezone.now()),
        "may_extend": takedown.regime == Regime.GDPR and takedown.state in deadlines.CLOCK_RUNNING
        and takedown.deadline_extended_at is None,
        "extension_form": DeadlineExtensionForm(),
    }
    return render(request, "casework/takedown_detail.html", context, status=status)


@require_GET
@login_required
def takedown_detail(request, pk: int):
    return _takedown_page(request, access.takedown_request_get_for_user(request.user, pk))


@require_POST
@login_required
def notice_create(request, pk: int):
    takedown = access.takedown_request_get_for_user(request.user, pk)
    access.require_role(request.user, takedown.case.organization_id, access.NOTICE_ISSUERS)
    form = NoticeForm(request.POST)
    if not form.is_valid():
        return _takedown_page(request, takedown, form, status=400)
    try:
        notice = notice_generate(request=takedown, draft=NoticeDraft(**form.cleaned_data), by=request.user)
    except NoticeIncomplete as exc:
        messages.error(request, exc.reason)
        return _takedown_page(request, takedown, form, status=400)
    messages.success(request, f"Notice generated (SHA-256 {notice.pdf_sha256[:16]}…).")
    return redirect("casework:takedown_detail", pk=takedown.pk)


@require_POST
@login_required
def takedown_transition_view(request, pk: int):
    takedown = access.takedown_request_get_for_user(request.user, pk)
    form = TakedownTransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the actions offered.")
        return redirect("casework:takedown_detail", pk=takedown.pk)
    try:
        takedown = takedown_transition(request=takedown, by=request.user, **form.cleaned_data)
    except TransitionRoleRefused as exc:
        raise PermissionDenied(exc.reason) from None
    except TransitionRefused as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, f"The request is now: {takedown.get_state_display()}.")
    return redirect("casework:takedown_detail", pk=takedown.pk)


@require_POST
@login_required
def takedown_deadline_extend_view(request, pk: int):
    takedown = access.takedown_request_get_for_user(request.user, pk)
    form = DeadlineExtensionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Record the reason the platform gave for the delay.")
        return redirect("casework:takedown_detail", pk=takedown.pk)
    try:
        takedown = takedown_deadline_extend(request=takedown, by=request.user, reason=form.cleaned_data["reason"])
    except DeadlineError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, f"Deadline extended to {takedown.deadline_at:%Y-%m-%d %H:%M} UTC.")
    return redirect("casework:takedown_detail", pk=takedown.pk)


@require_GET
@login_required
def notice_pdf(request, pk: int):
    notice = access.notice_get_for_user(request.user, pk)
    return _private_file(notice.pdf, attachment=True)
