"""Review pages: the face crops a reviewer compares side by side. Same rules as the other views:
fetch-and-authorise, then serve privately (never cached: these are faces from intimate imagery)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from casework import access
from casework.views.files import private_jpeg, sensitive_media
from detection import crops

# 404 messages: for logs and tests, never shown (templates/404.html says the same for every missing thing).
PROBE_CROP_MISSING = "No face crop for this finding: a known-image match, a video, or a file no longer stored."
REFERENCE_CROP_MISSING = "The reference photo is no longer stored: the subject withdrew consent, or it was purged."


def _crop(request, finding, *, what: str, cut, missing: str) -> HttpResponse:
    """The crop, blurred unless this viewer recorded the choice to look (casework.views.files)."""
    data = cut(finding)
    if data is None:
        raise Http404(missing)
    return sensitive_media(request, finding=finding, what=what, original=lambda: private_jpeg(data),
                           blurred=lambda: private_jpeg(crops.jpeg_blurred(data)))


@require_GET
@login_required
def finding_probe_crop(request, pk: int):
    finding = access.finding_get_for_user(request.user, pk)
    return _crop(request, finding, what="probe_face", cut=crops.finding_probe_crop, missing=PROBE_CROP_MISSING)


@require_GET
@login_required
def finding_reference_crop(request, pk: int):
    finding = access.finding_get_for_user(request.user, pk)
    return _crop(request, finding, what="reference_face", cut=crops.finding_reference_crop,
                 missing=REFERENCE_CROP_MISSING)
