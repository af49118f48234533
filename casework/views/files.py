"""Sensitive files are streamed only through views that have already authorised the viewer."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header

from detection.engine.sniffing import IMAGE, VIDEO, sniff
from detection.media_files import media_item_read
from detection.models import MediaItem

NOT_STORED = "The file is not stored."


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
