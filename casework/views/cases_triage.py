"""Case pages beyond the thin path: triage (assignee, priority, tags), notes, closing and re-opening,
and opening a case from a public report. Thin: fetch-and-authorise, call a service, redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from casework import access, selectors
from casework.forms import CaseNoteForm, CaseStatusForm, CaseTriageForm
from casework.services.cases import CaseError, case_close, case_open_from_report, case_reopen
from casework.services.triage import TriageError, case_assign, case_note_add, case_priority_set, case_tags_set
from detection.services import media_items_mark_scan_again

FORM_INVALID = _("Check the form: {errors}")
CASE_UPDATED = _("Case updated.")
NOTE_ADDED = _("Note added.")
CASE_IS = _("The case is {status}.")
CASE_OPENED_FROM_REPORT = _("Case {case} opened from report {report}.")


def _errors(form) -> str:
    return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())


@require_POST
@login_required
def case_triage(request, pk: int):
    case = access.case_get_for_user(request.user, pk)
    access.require_role(request.user, case.organization_id, access.STAFF)
    form = CaseTriageForm(request.POST, organization=case.organization)
    if not form.is_valid():
        messages.error(request, FORM_INVALID.format(errors=_errors(form)))
        return redirect("casework:case_detail", pk=case.pk)
    data = form.cleaned_data
    try:
        # Each service records a change only when its value changed: one audit event per real change.
        # All or nothing: a refused tag list must not leave the new assignee saved alone.
        with transaction.atomic():
            case = case_assign(case=case, assignee=data["assignee"], by=request.user)
            case = case_priority_set(case=case, priority=data["priority"], by=request.user)
            case = case_tags_set(case=case, tags=data["tags"], by=request.user)
    except TriageError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, CASE_UPDATED)
    return redirect("casework:case_detail", pk=case.pk)


@require_POST
@login_required
def case_note_create(request, pk: int):
    case = access.case_get_for_user(request.user, pk)
    access.require_role(request.user, case.organization_id, access.STAFF)
    form = CaseNoteForm(request.POST)
    try:
        if not form.is_valid():
            raise TriageError(FORM_INVALID.format(errors=_errors(form)))
        case_note_add(case=case, body=form.cleaned_data["body"], by=request.user)
    except TriageError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, NOTE_ADDED)
    return redirect("casework:case_detail", pk=case.pk)


@require_POST
@login_required
def case_status(request, pk: int):
    case = access.case_get_for_user(request.user, pk)
    access.require_role(request.user, case.organization_id, access.STAFF)
    form = CaseStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, FORM_INVALID.format(errors=_errors(form)))
        return redirect("casework:case_detail", pk=case.pk)
    action, note = form.cleaned_data["action"], form.cleaned_data["note"]
    try:
        if action == "close":
            case = case_close(case=case, by=request.user, note=note)
        else:
            case = case_reopen(case=case, by=request.user, reason=note)
    except CaseError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, CASE_IS.format(status=case.get_status_display().lower()))
    return redirect("casework:case_detail", pk=case.pk)


@require_GET
@login_required
def report_detail(request, pk: int):
    report = access.report_get_for_user(request.user, pk)
    known_hashes = [selectors.hash_line_shown(line) for line in report.known_hashes.splitlines()]
    may_move = bool(known_hashes) and access.role_in(request.user, report.organization_id) in access.REVIEWERS
    context = {"report": report, "urls": report.urls.split(), "known_hashes": known_hashes,
               "cases": report.cases.order_by("created_at"),
               "media_items": media_items_mark_scan_again(report.media_items.order_by("pk")),
               # Caseworkers move the lines to a subject who consents to hash matching (known_hashes views).
               "hash_subjects": selectors.subjects_consenting_to_hash_matching(report.organization_id)
               if may_move else None,
               "hash_subjects_shown": selectors.HASH_LINE_SUBJECTS_SHOWN}
    return render(request, "casework/report_detail.html", context)


@require_POST
@login_required
def report_case_open(request, pk: int):
    report = access.report_get_for_user(request.user, pk)
    access.require_role(request.user, report.organization_id, access.REVIEWERS)
    try:
        case = case_open_from_report(report=report, by=request.user)
    except CaseError as exc:
        messages.error(request, exc.reason)
        return redirect("casework:report_detail", pk=report.pk)
    messages.success(request, CASE_OPENED_FROM_REPORT.format(case=case.reference, report=report.reference))
    return redirect("casework:case_detail", pk=case.pk)
