"""Uploads are bounded while they stream (config.uploads): a body over the limit is refused with 413
before it is read, a file over MEDIA_MAX_BYTES is stopped as it arrives, and a person reads why."""

import io
import json

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from config.middleware import RequestSizeLimitMiddleware
from config.uploads import FORM_FIELDS_ALLOWANCE_BYTES, MediaSizeLimitUploadHandler, upload_too_large_message


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = readinto = read


def answered(request) -> HttpResponse:
    return HttpResponse("the view ran")


def declared(path: str, length: int):
    request = RequestFactory().generic("POST", path, content_type="multipart/form-data; boundary=x")
    request.META["CONTENT_LENGTH"] = str(length)
    request.META["wsgi.input"] = UnreadableBody()
    request._stream = UnreadableBody()
    return request


def test_the_counting_handler_runs_first_and_djangos_own_handlers_keep_files_off_the_heap():
    assert django_settings.FILE_UPLOAD_HANDLERS == [
        "config.uploads.MediaSizeLimitUploadHandler",
        "django.core.files.uploadhandler.MemoryFileUploadHandler",
        "django.core.files.uploadhandler.TemporaryFileUploadHandler",
    ]
    assert django_settings.MIDDLEWARE.index("config.middleware.RequestSizeLimitMiddleware") < min(
        django_settings.MIDDLEWARE.index(name) for name in (
            "django.contrib.sessions.middleware.SessionMiddleware", "django.middleware.csrf.CsrfViewMiddleware",
        )
    )


def test_a_body_declared_over_the_limit_is_refused_before_a_byte_is_read(settings):
    settings.MEDIA_MAX_BYTES = 10_000
    response = RequestSizeLimitMiddleware(answered)(declared("/report/", 10_000 + FORM_FIELDS_ALLOWANCE_BYTES + 1))
    assert response.status_code == 413
    page = response.content.decode()
    assert upload_too_large_message() in page and "<html" in page and "the view ran" not in page


def test_the_api_is_refused_in_json(settings):
    settings.MEDIA_MAX_BYTES = 10_000
    response = RequestSizeLimitMiddleware(answered)(declared("/api/v1/media/", 50_000_000))
    assert response.status_code == 413 and json.loads(response.content) == {"detail": upload_too_large_message()}


def test_the_message_names_the_limit_in_megabytes(settings):
    settings.MEDIA_MAX_BYTES = 200 * 1024 * 1024
    assert "the limit is 200 MB" in upload_too_large_message()


def test_the_handler_stops_the_upload_once_the_files_pass_the_limit(settings):
    from config.uploads import UploadTooLarge

    settings.MEDIA_MAX_BYTES = 100
    handler = MediaSizeLimitUploadHandler()
    assert handler.receive_data_chunk(b"x" * 60, 0) == b"x" * 60  # passed on to Django's handlers
    with pytest.raises(UploadTooLarge):
        handler.receive_data_chunk(b"x" * 60, 60)


def test_a_file_over_the_limit_inside_an_allowed_body_is_a_413_not_a_500(client, caseworker, settings):
    # The declared length passes (MEDIA_MAX_BYTES plus the form allowance); the file part itself does not.
    settings.MEDIA_MAX_BYTES = 1000
    client.force_login(caseworker)
    response = client.post("/api/v1/media/", {"file": SimpleUploadedFile("big.png", b"\x89PNG" + b"x" * 5000)})
    assert response.status_code == 413 and response.json() == {"detail": upload_too_large_message()}


def test_a_file_within_the_limit_still_reaches_the_view(client, caseworker, settings):
    settings.MEDIA_MAX_BYTES = 10_000
    client.force_login(caseworker)
    response = client.post(reverse("api:media_submit"), {"file": SimpleUploadedFile("ok.png", b"\x89PNG" + b"x" * 500)})
    assert response.status_code == 201


@pytest.mark.parametrize("route", [
    ("casework:public_report_review", []),
    ("casework:subject_enrol", []),
    ("casework:subject_photo_add", [1]),
    ("casework:case_media_upload", [1]),
    ("casework:portal_photo_add", []),
    ("api:media_submit", []),
])
def test_every_upload_form_is_refused_over_the_limit_before_its_view_runs(client, caseworker, settings, route):
    # Signed in as staff, so a refusal is the size guard's and not a sign-in redirect.
    settings.MEDIA_MAX_BYTES = 1000
    client.force_login(caseworker)
    name, args = route
    response = client.post(reverse(name, args=args), {"file": SimpleUploadedFile("big.jpg", b"\xff\xd8\xff" + b"x" * 5000),
                                                      "photo": SimpleUploadedFile("big2.jpg", b"x" * 10)})
    assert response.status_code == 413
    assert upload_too_large_message() in response.content.decode().replace("&#x27;", "'")
