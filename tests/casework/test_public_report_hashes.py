"""A hash-only report: the reporter chooses images on the review step, their browser hashes them
(casework/static/casework/hash_register.js) and only the lines go with the report, read by the parser
the portal uses. The minors rule is unchanged: under 18 or unsure, no imagery and no hashes."""

from html import unescape

import pytest
from django.urls import reverse

from casework.models import AuditEvent, Report, ReporterRole
from casework.services import reports
from casework.services.known_hashes import BAD_LINES
from casework.services.minors import TAKE_IT_DOWN_URL, MinorImageryRefused
from detection.engine import hash_files
from detection.models import MediaItem
from tests.casework.test_public_report import FORM, REVIEW, answers, receiving


def lines_of(images) -> str:
    return "\n".join(hash_files.hash_lines(images["reference.jpg"], "my photo.jpg"))


def test_the_review_step_offers_hashing_in_the_browser_and_sends_no_file_from_it(client, settings):
    settings.PDQ_MIN_QUALITY = 57
    client.post(FORM, answers())
    page = client.get(REVIEW).content.decode()
    assert "data-hash-register" in page and 'data-min-quality="57"' in page and 'data-lines="#id_known_hashes"' in page
    assert '<input type="file" id="hash-register-files" accept="image/*,video/*" multiple>' in page  # no name: never sent
    assert 'name="known_hashes"' in page and "hash_register.js" in page


def test_a_report_of_hashes_alone_is_filed_and_the_caseworker_sees_them(client, images, caseworker):
    lines = lines_of(images)
    assert client.post(FORM, answers(urls="", description="")).status_code == 302
    page = client.post(REVIEW, {"known_hashes": lines})
    assert page.status_code == 200
    report = Report.objects.get()
    pdq, quality = lines.splitlines()[0].split("#")[0].split()
    phash = lines.splitlines()[1].split("#")[0].strip()
    # Normalised, and without the file names: they can say more about the person than the hash does.
    assert report.known_hashes.splitlines() == [f"{pdq} {quality}", phash]
    assert "my photo" not in report.known_hashes and not MediaItem.objects.exists()
    assert AuditEvent.objects.get(action="report.received").data["known_hashes"] == 2

    client.force_login(caseworker)
    detail = client.get(reverse("casework:report_detail", args=[report.pk])).content.decode()
    assert "2 hashes of images the" in detail and pdq in detail and phash in detail


def test_lines_that_are_not_hashes_are_named_and_nothing_is_filed(client):
    client.post(FORM, answers())
    page = client.post(REVIEW, {"known_hashes": "not a hash"})
    assert page.status_code == 400
    assert BAD_LINES.format(lines="1 (not a hash)") in unescape(page.content.decode())
    assert not Report.objects.exists()


@pytest.mark.parametrize("under_18", ["yes", "unsure"])
def test_the_minors_path_offers_no_hashing_and_drops_lines_sent_anyway(client, images, under_18):
    client.post(FORM, answers(under_18=under_18))
    review = client.get(REVIEW).content.decode()
    assert "data-hash-register" not in review and TAKE_IT_DOWN_URL in review
    page = unescape(client.post(REVIEW, {"known_hashes": lines_of(images)}).content.decode())
    report = Report.objects.get()
    assert report.known_hashes == "" and str(reports.MINOR_UPLOAD_REFUSED) in page


def test_the_service_refuses_hashes_for_a_minor_or_an_unknown_age(org, images):
    for depicts_minor in (True, None):
        with pytest.raises(MinorImageryRefused) as error:
            reports.report_submit(organization=org, reporter_role=ReporterRole.DEPICTED, urls=[],
                                  depicts_minor=depicts_minor, known_hashes=lines_of(images))
        assert error.value.reason == reports.MINOR_HASHES_REFUSED
    assert not Report.objects.exists()
