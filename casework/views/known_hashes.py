"""Registering known images by their hashes: staff on the subject's page, the subject in the portal.
The images never come here (casework.services.known_hashes)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from casework import access
from casework.models import Subject
from casework.services.known_hashes import KnownHashError, known_hashes_register
from casework.views.portal import subject_required

HASHES_ADDED = "{added} new hash(es) registered; media scanned from now on is matched against them."


def _register(request, subject: Subject) -> None:
    try:
        added = known_hashes_register(subject=subject, text=request.POST.get("hashes", ""), by=request.user)
    except KnownHashError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, HASHES_ADDED.format(added=added))


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
