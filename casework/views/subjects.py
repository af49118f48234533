"""Subjects on the desk: the people whose likeness the organisation looks for, with their consent.

Caseworkers enrol them (consent, then a reference photo, all or nothing) and, when a subject has lost
the phone that gives their portal sign-in codes, turn those codes off after checking who is asking.
Biometric data itself is never shown here: photos are counted, not displayed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import user_has_device

from casework import access, hash_feed_reads, selectors
from casework.forms import ENROLLED, CodesResetForm, EnrolSubjectForm, KnownHashesForm, PhotoForm
from casework.models import ConsentPurpose, Membership, Organization
from casework.services.consent import subject_consents_to
from casework.services.known_hashes import known_hash_remove
from casework.services.two_factor import totp_devices_reset
from detection.engine.errors import ReadableError

HASH_REMOVED = _("The hash is removed: it is no longer matched, and platforms reading the hash feed are told "
                 "to delete it.")
CODES_RESET = _("Sign-in codes are off for {subject}. They can turn them on again in their portal.")
CODES_RESET_NEEDS_REASON = _("Say how you checked it is them, and why, before turning the codes off.")


@require_GET
@login_required
def subject_list(request):
    access.staff_organization_ids(request.user)
    text = request.GET.get("text", "").strip()
    page = Paginator(selectors.subjects_search(request.user, text=text), 50).get_page(request.GET.get("page"))
    return render(request, "casework/subject_list.html", {
        "page": page, "text": text, "query": f"text={text}" if text else "",
        "may_enrol": _enrolling_organizations(request.user).exists(),
    })


def _enrolling_organizations(user):
    memberships = Membership.objects.filter(user=user, role__in=access.REVIEWERS)
    return Organization.objects.filter(pk__in=memberships.values("organization_id")).order_by("name")


@require_http_methods(["GET", "POST"])
@login_required
def subject_enrol(request):
    organizations = _enrolling_organizations(request.user)
    if not organizations.exists():
        access.staff_organization_ids(request.user)  # not staff: 403 saying so
        raise PermissionDenied(access.ROLE_REQUIRED)
    form = EnrolSubjectForm(request.POST or None, request.FILES or None, organizations=organizations)
    if request.method == "POST" and form.is_valid() and (subject := form.enroll(by=request.user)):
        messages.success(request, ENROLLED.format(subject=subject))
        return redirect("casework:subject_detail", pk=subject.pk)
    return render(request, "casework/subject_enrol.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
@login_required
def subject_detail(request, pk: int):
    subject = access.subject_get_for_user(request.user, pk)
    role = access.role_in(request.user, subject.organization_id)
    return render(request, "casework/subject_detail.html", {
        "subject": subject,
        "consents": subject.consents.select_related("text").order_by("-granted_at"),
        "photo_count": subject.reference_photos.count(),
        "hash_count": subject.known_hashes.count(),
        "video_count": subject.known_videos.count(),
        "cases": subject.cases.order_by("-created_at"),
        "has_codes": bool(subject.user) and user_has_device(subject.user, confirmed=True),
        "may_reset_codes": role in access.REVIEWERS,
        "codes_form": CodesResetForm(),
        "hashes_form": KnownHashesForm() if role in access.REVIEWERS and subject_consents_to(
            subject, ConsentPurpose.HASH_MATCHING) else None,
        "photo_form": PhotoForm() if role in access.REVIEWERS and subject_consents_to(
            subject, ConsentPurpose.LIKENESS_MATCHING) else None,
        # The hashes themselves (a caseworker removes one registered by mistake), which of them platforms
        # read in the hash feed, and what the platforms reported (casework.hash_feed_reads).
        "known_hashes": Paginator(hash_feed_reads.subject_known_hashes(subject), 25).get_page(
            request.GET.get("hashes_page")),
        "may_remove_hashes": role in access.REVIEWERS,
        "shares_hashes": subject_consents_to(subject, ConsentPurpose.HASH_SHARING),
        "platform_feedback": hash_feed_reads.feedback_for_subject(subject),
    })


@require_POST
@login_required
def subject_codes_reset(request, pk: int):
    subject = access.subject_get_for_user(request.user, pk)
    access.require_role(request.user, subject.organization_id, access.REVIEWERS)
    form = CodesResetForm(request.POST)
    if not form.is_valid():
        messages.error(request, CODES_RESET_NEEDS_REASON)
    elif subject.user is not None:
        totp_devices_reset(user=subject.user, by=request.user, organization=subject.organization,
                           reason=form.cleaned_data["reason"])
        messages.success(request, CODES_RESET.format(subject=subject))
    return redirect("casework:subject_detail", pk=subject.pk)


@require_POST
@login_required
def known_hash_remove_view(request, pk: int):
    """A caseworker removes one hash: no longer matched, and Deleted in the platforms' feed."""
    known = access.known_hash_get_for_user(request.user, pk)
    subject = known.subject
    access.require_role(request.user, subject.organization_id, access.REVIEWERS)
    try:
        known_hash_remove(subject=subject, known_hash_id=known.pk, by=request.user)
    except ReadableError as exc:  # removed meanwhile by someone else
        messages.error(request, exc.reason)
    else:
        messages.success(request, HASH_REMOVED)
    return redirect("casework:subject_detail", pk=subject.pk)
