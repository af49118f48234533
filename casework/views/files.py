"""Sensitive files are streamed only through views that have already authorised the viewer."""

from __future__ import annotations

from django.http import FileResponse, Http404


def private_file(field, *, attachment: bool):
    if not field:
        raise Http404("The file is not stored.")
    response = FileResponse(field.open("rb"), as_attachment=attachment, filename=field.name.rsplit("/", 1)[-1])
    response["Cache-Control"] = "private, no-store"
    return response
