"""Staff ask for a failed or lost scan to be run again from the case and report pages (issue 11)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from casework.models import AuditEvent, Regime
from casework.services.cases import case_media_add, finding_confirm
from casework.services.reports import report_submit
from casework.views.media import SCAN_QUEUED
from detection.models import MediaItem
from detection.services import SCAN_AGAIN_DONE, SCAN_AGAIN_RUNNING
from tests.casework.test_thin_path import URL
from tests.detection.test_scan import scan

NOT_AN_IMAGE = b"these bytes are no image or video"


@pytest.fixture
def case(astronaut_subject, images, caseworker, django_capture_on_commit_callbacks):
    finding = scan(images["reported-astronaut.jpg"], url=URL).findings.get()
    case, _ = finding_confirm(finding=finding, by=caseworker, platform="P", target_url=URL, regime=Regime.TAKE_IT_DOWN)
    with django_capture_on_commit_callbacks(execute=True):
        case_media_add(case=case, data=NOT_AN_IMAGE, filename="upload.jpg", by=caseworker)
    return case


def scan_again(client, item, next_page):
    return client.post(reverse("casework:media_item_scan_again", args=[item.pk]), {"next": next_page}, follow=True)


def test_a_failed_scan_shows_its_reason_and_a_caseworker_scans_it_again(
    client, case, caseworker, django_capture_on_commit_callbacks
):
    failed = MediaItem.objects.get(original_name="upload.jpg")
    assert failed.status == MediaItem.Status.FAILED and failed.failure_reason
    client.force_login(caseworker)
    page_url = reverse("casework:case_detail", args=[case.pk])
    page = client.get(page_url).content.decode()
    assert escape(failed.failure_reason) in page
    assert page.count("Scan again") == 1  # the done item of the finding has no button
    with django_capture_on_commit_callbacks(execute=True):
        response = scan_again(client, failed, page_url)
    assert response.redirect_chain[-1][0] == page_url and str(SCAN_QUEUED) in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == MediaItem.Status.FAILED and failed.scan_attempts == 1  # scanned again, same outcome
    event = AuditEvent.objects.get(action="media_item.scan_again")
    assert event.target_id == str(failed.pk) and event.data["was"]["status"] == "failed"
    assert event.organization_id == case.organization_id


def test_a_lost_scan_on_a_report_is_offered_again_and_a_running_one_is_refused(
    client, org, caseworker, images, django_capture_on_commit_callbacks
):
    receipt = report_submit(organization=org, reporter_role="depicted", urls=[], depicts_minor=False,
                            upload=("photo.jpg", images["reported-coffee.jpg"]))
    item = receipt.report.media_items.get()
    MediaItem.objects.filter(pk=item.pk).update(status=MediaItem.Status.PROCESSING, scan_started_at=timezone.now())
    client.force_login(caseworker)
    page_url = reverse("casework:report_detail", args=[receipt.report.pk])
    assert "Scan again" not in client.get(page_url).content.decode()
    refused = scan_again(client, item, page_url).content.decode()
    minutes = -(-settings.SCAN_STUCK_AFTER_S // 60)
    assert escape(SCAN_AGAIN_RUNNING.format(minutes=minutes)) in refused

    MediaItem.objects.filter(pk=item.pk).update(
        scan_started_at=timezone.now() - timedelta(seconds=settings.SCAN_STUCK_AFTER_S + 1)
    )
    assert "Scan again" in client.get(page_url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        scan_again(client, item, page_url)
    item.refresh_from_db()
    assert item.status == MediaItem.Status.DONE
    assert str(SCAN_AGAIN_DONE) in scan_again(client, item, page_url).content.decode()


def test_legal_staff_cannot_and_another_organisation_does_not_see_the_item(client, case, legal, outsider):
    failed = MediaItem.objects.get(original_name="upload.jpg")
    client.force_login(legal)
    assert client.post(reverse("casework:media_item_scan_again", args=[failed.pk])).status_code == 403
    client.force_login(outsider)
    assert client.post(reverse("casework:media_item_scan_again", args=[failed.pk])).status_code == 404


def test_the_page_to_go_back_to_must_be_on_this_site(client, case, caseworker):
    failed = MediaItem.objects.get(original_name="upload.jpg")
    client.force_login(caseworker)
    response = client.post(reverse("casework:media_item_scan_again", args=[failed.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("casework:home")
