"""Registering known images by their hashes: staff on the subject's page or from a public report's lines,
the subject in the portal. The images never come here (casework.services.known_hashes)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from casework import access
from casework.models import Subject
from casework.services.known_hashes import (
    KnownHashError,
    known_hashes_register,
    report_hashes_move,
)
from casework.views.portal import subject_required

NO_SUBJECT_CHOSEN = _("Choose the subject to register the report's hashes on.")


def hashes_added(added: int) -> str:
    return ngettext(
        "{added} new hash registered; media scanned from now on is matched against it.",
        "{added} new hashes registered; media scanned from now on is matched against them.",
        added,
    ).format(added=added)


def _register(request, subject: Subject) -> None:
    try:
        added = known_hashes_register(subject=subject, text=request.POST.get("hashes", ""), by=request.user)
    except KnownHashError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, hashes_added(added))


@require_POST
@login_required
def subject_hashes_add(request, pk: int):
    subject = access.subject_get_for_user(request.user, pk)
    access.require_role(request.user, subject.organization_id, access.REVIEWERS)
    _register(request, subject)
    return redirect("casework:subject_detail", pk=subject.pk)


@require_POST
@subject_required
def portal_hashes_add(request, subject: Subject):
    _register(request, subject)
    return redirect("casework:portal_home")


@require_POST
@login_required
def report_hashes_move_view(request, pk: int):
    """A caseworker moves a public report's hash lines to a subject who consents to hash matching."""
    report = access.report_get_for_user(request.user, pk)
    access.require_role(request.user, report.organization_id, access.REVIEWERS)
    subject_id = request.POST.get("subject", "")
    if not subject_id.isdigit():
        messages.error(request, NO_SUBJECT_CHOSEN)
        return redirect("casework:report_detail", pk=report.pk)
    subject = access.subject_get_for_user(request.user, int(subject_id))  # another organisation's: 404
    try:
        added = report_hashes_move(report=report, subject=subject, by=request.user)
    except KnownHashError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, hashes_added(added))
    return redirect("casework:report_detail", pk=report.pk)
