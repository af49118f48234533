"""Takedown request pages: the notice form, state transitions and deadlines."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from casework import access, deadlines
from casework.forms import (
    DeadlineExtensionForm,
    TakedownTransitionForm,
)
from casework.models import Regime
from casework.notices import REGIMES, NoticeDraft
from casework.services.deadlines import DeadlineError, takedown_deadline_extend
from casework.services.notices import NoticeIncomplete, notice_elements, notice_generate
from casework.services.takedowns import (
    TransitionRefused,
    TransitionRoleRefused,
    takedown_actions_available,
    takedown_transition,
)

NOTICE_GENERATED = _("Notice generated (SHA-256 {sha256}…).")
CHOOSE_AN_ACTION = _("Choose one of the actions offered.")
REQUEST_IS_NOW = _("The request is now: {state}.")
EXTENSION_NEEDS_REASON = _("Record the reason the platform gave for the delay.")
DEADLINE_EXTENDED = _("Deadline extended to {deadline:%Y-%m-%d %H:%M} UTC.")


def _notice_form(takedown, data=None):
    """The regime's own notice form; a regime without a notice gets none."""

    definition = REGIMES.get(takedown.regime)
    return definition.form(data) if definition else None


def _takedown_page(request, takedown, form=None, status=200):
    form = form or _notice_form(takedown)
    if form is None:
        values = {}
    elif form.is_bound:
        form.is_valid()
        values = form.cleaned_data  # the fields that are valid: the checklist shows the rest as missing
    else:
        values = {name: form.get_initial_for_field(field, name) for name, field in form.fields.items()}
    draft = NoticeDraft.from_fields(values)
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
    form = _notice_form(takedown, request.POST)
    if form is None or not form.is_valid():
        return _takedown_page(request, takedown, form, status=400)
    try:
        notice = notice_generate(request=takedown, draft=NoticeDraft.from_fields(form.cleaned_data), by=request.user)
    except NoticeIncomplete as exc:
        messages.error(request, exc.reason)
        return _takedown_page(request, takedown, form, status=400)
    messages.success(request, NOTICE_GENERATED.format(sha256=notice.pdf_sha256[:16]))
    return redirect("casework:notice_detail", pk=notice.pk)


@require_POST
@login_required
def takedown_transition_view(request, pk: int):
    takedown = access.takedown_request_get_for_user(request.user, pk)
    form = TakedownTransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, CHOOSE_AN_ACTION)
        return redirect("casework:takedown_detail", pk=takedown.pk)
    try:
        takedown = takedown_transition(request=takedown, by=request.user, **form.cleaned_data)
    except TransitionRoleRefused as exc:
        raise PermissionDenied(exc.reason) from None
    except TransitionRefused as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, REQUEST_IS_NOW.format(state=takedown.get_state_display()))
    return redirect("casework:takedown_detail", pk=takedown.pk)


@require_POST
@login_required
def takedown_deadline_extend_view(request, pk: int):
    takedown = access.takedown_request_get_for_user(request.user, pk)
    form = DeadlineExtensionForm(request.POST)
    if not form.is_valid():
        messages.error(request, EXTENSION_NEEDS_REASON)
        return redirect("casework:takedown_detail", pk=takedown.pk)
    try:
        takedown = takedown_deadline_extend(request=takedown, by=request.user, reason=form.cleaned_data["reason"])
    except DeadlineError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, DEADLINE_EXTENDED.format(deadline=takedown.deadline_at))
    return redirect("casework:takedown_detail", pk=takedown.pk)
