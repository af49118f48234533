"""Uploads bounded while they stream, not after: every form and the API share one limit.

Django reads a multipart upload into memory (up to 2.5 MB) and then into a temporary file, and only
afterwards would a view see its size: an anonymous 1 GiB upload to the public form then costs a
gigabyte of disk or memory before anything says no. Two guards stop it early:

- ``config.middleware.RequestSizeLimitMiddleware`` refuses a body whose Content-Length is over
  ``request_max_bytes()`` before a byte of it is read;
- ``MediaSizeLimitUploadHandler``, first in ``FILE_UPLOAD_HANDLERS``, counts file bytes as they
  arrive (a body may be sent without a Content-Length, or lie about the part sizes) and raises
  ``UploadTooLarge`` past ``MEDIA_MAX_BYTES``; the middleware turns that into the same 413.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.translation import gettext_lazy as _

# Form fields around the file (CSRF token, answers, multipart boundaries) on top of the media limit.
FORM_FIELDS_ALLOWANCE_BYTES = 1024 * 1024

UPLOAD_TOO_LARGE = _(
    "This file is too large to send here: the limit is {limit_mb} MB, and nothing was kept. "
    "If it is a long video, a shorter clip or the web address where it is online works just as well."
)


class UploadTooLarge(Exception):
    """A request carries more file bytes than ``MEDIA_MAX_BYTES``."""


def request_max_bytes() -> int:
    """The largest request body accepted: one media file and the form around it."""
    return settings.MEDIA_MAX_BYTES + FORM_FIELDS_ALLOWANCE_BYTES


def upload_too_large_message() -> str:
    return UPLOAD_TOO_LARGE.format(limit_mb=max(1, round(settings.MEDIA_MAX_BYTES / (1024 * 1024))))


class MediaSizeLimitUploadHandler(FileUploadHandler):
    """Counts the bytes of every file in the request and stops at ``MEDIA_MAX_BYTES``.

    It passes each chunk on unchanged, so Django's own handlers after it still decide where the
    file lives (memory up to FILE_UPLOAD_MAX_MEMORY_SIZE, then a temporary file): memory stays flat.
    """

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0  # all files of this request together: one request, one media limit

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MEDIA_MAX_BYTES:
            raise UploadTooLarge(f"more than {settings.MEDIA_MAX_BYTES} bytes of files")
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler builds the UploadedFile
