"""The review queue and finding pages: a person decides on each possible match."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from casework import access, selectors
from casework.forms import (
    ConfirmFindingForm,
    RejectFindingForm,
)
from casework.models import Regime
from casework.services.cases import ReviewError, finding_confirm, finding_reject
from casework.views.files import private_media, private_media_blurred, sensitive_media

FINDING_CONFIRMED = _("Finding confirmed and added to case {case}.")
FINDING_REJECTED = _("Finding rejected.")


@require_GET
@login_required
def review_queue(request):
    access.staff_organization_ids(request.user)
    page = selectors.review_queue(request.user, page=request.GET.get("page"))
    return render(request, "casework/review_queue.html", {"page": page, "query": ""})


def _finding_page(request, finding, *, confirm_form=None, reject_form=None, status=200):
    item = finding.media_item
    # The page names the platform better than the file: images are often served from a CDN's host.
    directory_platform = selectors.platform_for_url(item.page_url) or selectors.platform_for_url(item.source_url)
    confirm_form = confirm_form or ConfirmFindingForm(
        initial={"target_url": item.source_url, "regime": Regime.TAKE_IT_DOWN,
                 "directory_platform": directory_platform,
                 "platform": directory_platform.name if directory_platform else ""}
    )
    context = {
        "finding": finding,
        "media_item": finding.media_item,
        "confirm_form": confirm_form,
        "reject_form": reject_form or RejectFindingForm(),
        "cases": finding.cases.all(),
        "sightings": selectors.finding_sightings(finding),  # which watch's crawl found it, on which page
        "reference_available": selectors.finding_reference_available(finding),
        "indicators": selectors.indicators_for_page(finding.media_item),
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
    messages.success(request, FINDING_CONFIRMED.format(case=case.reference))
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
    messages.success(request, FINDING_REJECTED)
    return redirect("casework:review_queue")


@require_GET
@login_required
def finding_media(request, pk: int):
    finding = access.finding_get_for_user(request.user, pk)
    item = finding.media_item
    return sensitive_media(request, finding=finding, what="media",
                           original=lambda: private_media(item), blurred=lambda: private_media_blurred(item))
