"""Sensitive files are streamed only through views that have already authorised the viewer.

A finding's media and face crops are sent blurred by default; the original only to a viewer whose
choice to look is recorded (``casework.services.reveals``) and who asks for it (``?view=original``).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header

from casework.services.reveals import media_revealed
from detection import crops
from detection.engine.sniffing import IMAGE, VIDEO, sniff
from detection.media_files import media_item_read
from detection.models import MediaItem

NOT_STORED = "The file is not stored."  # a 404's message: for logs, never shown (templates/404.html)
# The query that asks a media view for the original rather than the blurred rendering.
ORIGINAL_VIEW = "original"


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


def private_file(field, *, attachment: bool):
    if not field:
        raise Http404(NOT_STORED)
    return _private(FileResponse(field.open("rb"), as_attachment=attachment, filename=field.name.rsplit("/", 1)[-1]))


def private_media(item: MediaItem) -> HttpResponse:
    """A media item's captured bytes, shown in the page: its file is stored encrypted."""
    if not item.file:
        raise Http404(NOT_STORED)
    data = media_item_read(item)
    content_type, kind = sniff(data)
    if kind not in (IMAGE, VIDEO):
        # Anyone may upload a report: a file that is not an image or a video (an HTML page) must not
        # be rendered in a staff member's session.
        content_type = "application/octet-stream"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(False, PurePosixPath(item.file.name).name)
    return _private(response)


def private_jpeg(data: bytes) -> HttpResponse:
    return _private(HttpResponse(data, content_type="image/jpeg"))


def private_media_blurred(item: MediaItem) -> HttpResponse:
    """What the page shows of a media item before anyone chose to look: a blurred JPEG rendering (a
    video's first frame), or a grey placeholder for anything that cannot be rendered."""
    if not item.file:
        raise Http404(NOT_STORED)
    data = media_item_read(item)
    _, kind = sniff(data)
    return private_jpeg(crops.media_blurred_jpeg(data, kind=kind))


def sensitive_media(request, *, finding, what: str, original, blurred) -> HttpResponse:
    """``original()`` only where the viewer asked for it and recorded the choice to look at ``what`` of
    ``finding`` in this session; ``blurred()`` otherwise: an old page, an expired or another person's
    reveal, a forged URL all get the blurred rendering, never the original."""
    if request.GET.get("view") == ORIGINAL_VIEW and media_revealed(
        finding=finding, what=what, session=request.session, user=request.user
    ):
        return original()
    return blurred()
