"""Media items on staff pages: asking for a failed or lost scan to be run again. Thin: fetch-and-authorise,
call a service, go back to the page the button was on."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from casework import access
from casework.services.scans import media_item_scan_again
from casework.views.totp import next_url
from detection.services import ScanAgainRefused

SCAN_QUEUED = _("The file is queued to be scanned again; its status changes here once a worker has scanned it.")


@require_POST
@login_required
def media_item_scan_again_view(request, pk: int):
    item, organization_id = access.media_item_get_for_user(request.user, pk, access.REVIEWERS)
    try:
        media_item_scan_again(item=item, organization_id=organization_id, by=request.user)
    except ScanAgainRefused as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, SCAN_QUEUED)
    return redirect(next_url(request, default=reverse("casework:home")))
