"""The public report form: two steps, no imagery before confirmation or ever on the minors path, a PIN
shown once and kept hashed, and a status page behind reference + PIN with a rate limit."""

import hashlib
import re
import secrets
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import check_password
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from casework.models import AuditEvent, Regime, Report, ReporterRole
from casework.ratelimit import TOO_MANY_POSTS
from casework.services import reports
from casework.services.cases import case_close, case_open_from_report, takedown_request_create
from casework.services.minors import TAKE_IT_DOWN_URL, MinorImageryRefused
from casework.views.public import SUBMITTED_ALREADY, URL_NOT_VALID
from config.uploads import upload_too_large_message
from detection.models import MediaItem

URL = "https://video.example.com/watch/abc123"
FORM = reverse("casework:public_report")
REVIEW = reverse("casework:public_report_review")
STATUS = reverse("casework:public_report_status")


@pytest.fixture(autouse=True)
def receiving(org, settings):
    """The organisation receives public reports (the cache, with its counters, is emptied by tests/conftest.py)."""
    settings.PUBLIC_REPORTS_ORGANIZATION = org.slug
    return org


def answers(**changes) -> dict:
    return {"reporter_role": ReporterRole.DEPICTED, "under_18": "no", "urls": f"{URL}\nimages.example.net/i/42.jpg",
            "description": "A fake of me, posted by @someone.", "contact_email": "", **changes}


def send(client, file=None, **changes):
    """Both steps; returns the confirmation response."""
    assert client.post(FORM, answers(**changes)).status_code == 302
    return client.post(REVIEW, {"file": file} if file is not None else {})


def pin_of(response) -> str:
    return re.search(r"data-pin>(\d+)<", response.content.decode()).group(1)


def unlock(client, reference: str, pin: str):
    return client.post(STATUS, {"reference": reference, "pin": pin})


def unique_image(images) -> bytes:
    """A real JPEG no other test stored: trailing bytes after the end marker change only its hash."""
    return images["reported-astronaut.jpg"] + secrets.token_bytes(16)


def stored_anywhere(data: bytes) -> bool:
    digest = hashlib.sha256(data).hexdigest()
    return any(digest in path.name for path in Path(django_settings.MEDIA_ROOT).rglob("*"))


def test_the_form_says_plainly_when_no_organisation_receives_reports(client, settings):
    settings.PUBLIC_REPORTS_ORGANIZATION = ""
    page = client.get(FORM).content.decode()
    assert str(reports.NOT_CONFIGURED) in page and "public-form" not in page
    assert client.post(FORM, answers()).status_code == 200
    assert client.post(REVIEW).status_code == 302
    assert not Report.objects.exists()


def test_a_slug_that_names_no_organisation_counts_as_not_configured(client, settings):
    settings.PUBLIC_REPORTS_ORGANIZATION = "no-such-org"
    assert str(reports.NOT_CONFIGURED) in client.get(FORM).content.decode()


def test_the_reporter_checks_their_answers_before_anything_is_stored(client, org):
    page = client.get(FORM).content.decode()
    assert "Content warning" in page and 'name="viewport"' in page and org.name in page
    # A no-referrer policy makes Chromium send "Origin: null" with the form, which CSRF then refuses.
    assert 'content="no-referrer"' not in page
    assert client.post(FORM, answers(contact_email="me@example.org")).status_code == 302
    review = client.get(REVIEW).content.decode()
    assert URL in review and "https://images.example.net/i/42.jpg" in review and "me@example.org" in review
    assert 'type="file"' in review
    assert not Report.objects.exists() and not MediaItem.objects.exists()
    # Going back to change an answer keeps what was typed.
    assert "@someone" in client.get(FORM).content.decode()


def test_confirming_files_the_report_and_ingests_the_upload_for_scanning(
    client, org, images, django_capture_on_commit_callbacks
):
    data = unique_image(images)
    upload = SimpleUploadedFile("me.jpg", data, content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = send(client, file=upload, reporter_role=ReporterRole.REPRESENTATIVE)
    assert response.status_code == 200
    report = Report.objects.get()
    assert report.organization == org and report.reference.startswith("RR-")
    assert report.reporter_role == ReporterRole.REPRESENTATIVE and report.depicts_minor is False
    assert report.urls.split() == [URL, "https://images.example.net/i/42.jpg"]
    item = report.media_items.get()
    assert item.source == MediaItem.Source.REPORT and item.original_name == "me.jpg" and stored_anywhere(data)
    assert callbacks and MediaItem.objects.get(pk=item.pk).status == MediaItem.Status.DONE  # scanned on commit
    event = AuditEvent.objects.get(action="report.received")
    assert event.data["media"] == [{"media_item": item.pk, "sha256": item.sha256}] and event.actor is None
    page = response.content.decode()
    assert report.reference in page and "<img" not in page


def test_a_case_opened_from_the_report_holds_its_upload(client, images, caseworker):
    send(client, file=SimpleUploadedFile("me.jpg", unique_image(images), content_type="image/jpeg"))
    report = Report.objects.get()
    case = case_open_from_report(report=report, by=caseworker)
    assert list(case.media_items.all()) == list(report.media_items.all()) and case.media_items.count() == 1


def test_the_pin_is_shown_once_and_stored_hashed(client):
    response = send(client)
    pin = pin_of(response)
    report = Report.objects.get()
    assert len(pin) == reports.PIN_DIGITS and pin not in report.pin_hash
    assert check_password(pin, report.pin_hash) and "no-store" in response["Cache-Control"]
    assert pin not in str(dict(client.session))
    # Sending the same confirmation again files nothing and shows no PIN.
    again = client.post(REVIEW, follow=True)
    assert Report.objects.count() == 1 and str(SUBMITTED_ALREADY) in again.content.decode()
    assert unlock(client, report.reference, pin).status_code == 302
    assert pin not in client.get(STATUS).content.decode()


def test_nothing_to_report_is_refused_on_the_confirm_step(client):
    response = send(client, urls="", description="")
    assert response.status_code == 400 and str(reports.NOTHING_REPORTED) in response.content.decode()
    assert not Report.objects.exists()


def test_a_line_that_is_not_a_web_address_is_explained(client):
    response = client.post(FORM, answers(urls="my ex's profile"))
    assert response.status_code == 200
    assert URL_NOT_VALID.format(url="my ex's profile") in unescape(response.content.decode())


def test_who_is_reporting_and_the_age_question_are_required(client):
    response = client.post(FORM, answers(reporter_role="", under_18=""))
    assert response.content.decode().count("This field is required.") == 2


def test_the_minors_path_stores_no_imagery_and_shows_where_to_go(client, images):
    assert client.post(FORM, answers(under_18="yes")).status_code == 302
    review = client.get(REVIEW).content.decode()
    assert 'type="file"' not in review
    assert TAKE_IT_DOWN_URL in review and reports.IWF_REPORT_URL in review
    # A file sent anyway (a crafted request) is dropped, and the reporter is told.
    data = unique_image(images)
    page = unescape(client.post(REVIEW, {"file": SimpleUploadedFile("x.jpg", data, content_type="image/jpeg")}).content.decode())
    report = Report.objects.get()
    assert report.depicts_minor is True and not report.media_items.exists()
    assert not MediaItem.objects.exists() and not stored_anywhere(data)
    assert str(reports.MINOR_UPLOAD_REFUSED) in page and TAKE_IT_DOWN_URL in page
    assert report.urls.split()[0] == URL  # the addresses are kept: they are how removal is asked for


def test_an_unknown_age_takes_no_file_and_is_recorded_as_unknown(client):
    assert client.post(FORM, answers(under_18="unsure")).status_code == 302
    assert 'type="file"' not in client.get(REVIEW).content.decode()
    send(client, under_18="unsure")
    assert Report.objects.get().depicts_minor is None and not MediaItem.objects.exists()


def test_the_service_refuses_imagery_for_a_minor(org, images):
    for depicts_minor in (True, None):
        with pytest.raises(MinorImageryRefused) as error:
            reports.report_submit(organization=org, reporter_role=ReporterRole.BYSTANDER, urls=[URL],
                                  depicts_minor=depicts_minor, upload=("x.jpg", images["reference.jpg"]))
        assert error.value.reason == reports.MINOR_UPLOAD_REFUSED
    assert not Report.objects.exists() and not MediaItem.objects.exists()


def test_the_reporter_sees_the_status_in_plain_words_and_adds_information(client, caseworker):
    pin = pin_of(send(client))
    report = Report.objects.get()
    assert client.get(STATUS).content.decode().count('name="pin"') == 1  # asks first
    assert unlock(client, report.reference.lower(), pin).status_code == 302  # case does not matter
    page = client.get(STATUS).content.decode()
    assert "We have your report" in page and "<img" not in page

    response = client.post(reverse("casework:public_report_add"),
                           {"urls": f"{URL}\nhttps://mirror.example.org/v/9", "note": "It is on a mirror too."})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.urls.split() == [URL, "https://images.example.net/i/42.jpg", "https://mirror.example.org/v/9"]
    assert "It is on a mirror too." in report.description and "@someone" in report.description
    assert AuditEvent.objects.get(action="report.information_added").data == {"urls_added": 1, "note_added": True}

    case = case_open_from_report(report=report, by=caseworker)
    takedown_request_create(case=case, platform="P", target_url=URL, regime=Regime.TAKE_IT_DOWN, by=caseworker)
    page = client.get(STATUS).content.decode()
    assert "A caseworker is working on your report." in page and "preparing 1 request" in page
    assert "P" not in re.findall(r"<p>([^<]*)</p>", page)  # no platform names for the reporter


def test_nothing_can_be_added_without_new_information_or_to_a_closed_report(client, caseworker):
    pin = pin_of(send(client))
    report = Report.objects.get()
    unlock(client, report.reference, pin)
    add = reverse("casework:public_report_add")
    assert str(reports.NOTHING_TO_ADD) in client.post(add, {"urls": URL}, follow=True).content.decode()
    case_close(case=case_open_from_report(report=report, by=caseworker), by=caseworker)
    Report.objects.filter(pk=report.pk).update(status=Report.Status.CLOSED)
    page = client.post(add, {"note": "more"}, follow=True).content.decode()
    assert str(reports.REPORT_CLOSED) in page and "Your report is closed" in page


def test_another_reporters_reference_and_pin_are_refused(client):
    pin_a = pin_of(send(client))
    pin_b = pin_of(send(client, urls="https://other.example.com/x"))
    report_a, report_b = Report.objects.order_by("pk")
    for reference, pin in [(report_a.reference, pin_b), (report_b.reference, pin_a), ("RR-NOSUCH00", pin_a)]:
        response = unlock(client, reference, pin)
        assert response.status_code == 400 and str(reports.PIN_WRONG) in response.content.decode()
    assert client.post(reverse("casework:public_report_add"), {"note": "x"}).status_code == 404
    assert unlock(client, report_b.reference, pin_b).status_code == 302
    page = client.get(STATUS).content.decode()
    assert report_b.reference in page and report_a.reference not in page


def test_pin_attempts_are_limited_per_reference(client, settings):
    pin = pin_of(send(client))
    report = Report.objects.get()
    wrong = "0" * reports.PIN_DIGITS if pin != "0" * reports.PIN_DIGITS else "1" * reports.PIN_DIGITS
    for _ in range(settings.PUBLIC_REPORT_PIN_ATTEMPTS):
        assert str(reports.PIN_WRONG) in unlock(client, report.reference, wrong).content.decode()
    # Now even the right PIN waits: the message says why and for how long.
    response = unlock(client, report.reference, pin)
    assert response.status_code == 400 and str(reports.PIN_LOCKED) in response.content.decode()
    assert AuditEvent.objects.filter(action="report.pin_locked", target_id=str(report.pk)).count() == 1
    Report.objects.filter(pk=report.pk).update(pin_failures_since=timezone.now() - timedelta(hours=1))  # an hour later
    assert unlock(client, report.reference, pin).status_code == 302


def test_wrong_pins_are_counted_on_the_report_so_every_web_worker_sees_the_lock(client, settings):
    pin = pin_of(send(client))
    report = Report.objects.get()
    wrong = "0" * reports.PIN_DIGITS if pin != "0" * reports.PIN_DIGITS else "1" * reports.PIN_DIGITS
    for _ in range(settings.PUBLIC_REPORT_PIN_ATTEMPTS):
        unlock(client, report.reference, wrong)
        cache.clear()  # the next try lands on another worker, whose cache knows nothing
    report.refresh_from_db()
    assert report.pin_failures == settings.PUBLIC_REPORT_PIN_ATTEMPTS and report.pin_failures_since is not None
    assert str(reports.PIN_LOCKED) in unlock(client, report.reference, pin).content.decode()


def test_a_reference_that_matches_no_report_locks_like_one_that_does(client, settings):
    answers_seen = [unlock(client, "RR-NOSUCH00", "12345678").content.decode()
                    for _ in range(settings.PUBLIC_REPORT_PIN_ATTEMPTS + 1)]
    assert all(str(reports.PIN_WRONG) in page for page in answers_seen[:-1])
    assert str(reports.PIN_LOCKED) in answers_seen[-1]  # so the lock does not tell which references exist


def test_pin_failures_start_again_after_the_hour(client, settings):
    pin = pin_of(send(client))
    report = Report.objects.get()
    wrong = "0" * reports.PIN_DIGITS if pin != "0" * reports.PIN_DIGITS else "1" * reports.PIN_DIGITS
    unlock(client, report.reference, wrong)
    Report.objects.filter(pk=report.pk).update(pin_failures=settings.PUBLIC_REPORT_PIN_ATTEMPTS - 1,
                                               pin_failures_since=timezone.now() - timedelta(minutes=61))
    assert str(reports.PIN_WRONG) in unlock(client, report.reference, wrong).content.decode()
    report.refresh_from_db()
    assert report.pin_failures == 1  # a new hour: this is its first wrong PIN


def test_status_posts_from_one_address_are_refused_before_the_pin_is_checked(client, settings):
    settings.PUBLIC_POST_RATE = "3/minute"
    pin = pin_of(send(client))
    report = Report.objects.get()
    wrong = "0" * reports.PIN_DIGITS if pin != "0" * reports.PIN_DIGITS else "1" * reports.PIN_DIGITS
    statuses = [unlock(client, report.reference, wrong).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    refused = unlock(client, report.reference, pin)
    assert refused.status_code == 429 and int(refused["Retry-After"]) <= 60
    assert TOO_MANY_POSTS.split("{seconds}")[0] in unescape(refused.content.decode())
    report.refresh_from_db()
    assert report.pin_failures == 3  # the refused tries were never checked
    # Another address is not held back by this one.
    assert client.post(STATUS, {"reference": report.reference, "pin": pin}, REMOTE_ADDR="192.0.2.7").status_code == 302


def test_report_posts_from_one_address_are_refused_before_a_report_is_filed(client, settings):
    settings.PUBLIC_POST_RATE = "3/minute"
    send(client)  # two POSTs
    assert client.post(FORM, answers()).status_code == 302  # the third
    assert client.post(REVIEW, {}).status_code == 429
    assert Report.objects.count() == 1


def test_behind_a_proxy_the_address_is_the_hop_the_proxy_added(rf, settings):
    from casework.ratelimit import client_address

    request = rf.post("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    settings.BEHIND_TLS_PROXY = False
    assert client_address(request) == "10.0.0.1"  # the header is anyone's to write
    settings.BEHIND_TLS_PROXY = True
    assert client_address(request) == "203.0.113.9"


def test_an_upload_over_the_limit_is_refused_with_a_page_that_says_why(client, settings):
    settings.MEDIA_MAX_BYTES = 1000
    assert client.post(FORM, answers()).status_code == 302
    response = client.post(REVIEW, {"file": SimpleUploadedFile("big.jpg", b"\xff\xd8\xff" + b"x" * 5000)})
    assert response.status_code == 413 and upload_too_large_message() in unescape(response.content.decode())
    assert Report.objects.count() == 0 and MediaItem.objects.count() == 0
    # The answers wait in the session: the reporter can go back and send without the file.
    assert client.post(REVIEW, {}).status_code == 200 and Report.objects.count() == 1


def test_leaving_the_report_needs_the_pin_again(client):
    pin = pin_of(send(client))
    unlock(client, Report.objects.get().reference, pin)
    client.post(reverse("casework:public_report_leave"))
    assert 'name="pin"' in client.get(STATUS).content.decode()
