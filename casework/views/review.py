"""Review pages: the face crops a reviewer compares side by side. Same rules as the other views:
fetch-and-authorise, then serve privately (never cached: these are faces from intimate imagery)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from casework import access
from detection import crops

PROBE_CROP_MISSING = "No face crop for this finding: a known-image match, a video, or a file no longer stored."
REFERENCE_CROP_MISSING = "The reference photo is no longer stored: the subject withdrew consent, or it was purged."


def _jpeg(data: bytes | None, missing: str) -> HttpResponse:
    if data is None:
        raise Http404(missing)
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def finding_probe_crop(request, pk: int):
    finding = access.finding_get_for_user(request.user, pk)
    return _jpeg(crops.finding_probe_crop(finding), PROBE_CROP_MISSING)


@require_GET
@login_required
def finding_reference_crop(request, pk: int):
    finding = access.finding_get_for_user(request.user, pk)
    return _jpeg(crops.finding_reference_crop(finding), REFERENCE_CROP_MISSING)
