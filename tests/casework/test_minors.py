"""A case whose imagery depicts a minor keeps no imagery: files go, hashes stay, uploads are refused."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from casework.models import AuditEvent, Regime
from casework.services import minors
from casework.services.cases import case_media_add, finding_confirm
from casework.services.minors import MINOR_NO_IMAGERY, MinorImageryRefused, case_minor_record
from detection.models import MediaItem
from tests.casework.test_thin_path import URL
from tests.detection.test_scan import scan


@pytest.fixture
def case(astronaut_subject, images, caseworker):
    """A case with a confirmed finding's media and one file uploaded to it."""
    finding = scan(images["reported-astronaut.jpg"], url=URL).findings.get()
    case, _ = finding_confirm(finding=finding, by=caseworker, platform="P", target_url=URL, regime=Regime.TAKE_IT_DOWN)
    case_media_add(case=case, data=images["reported-coffee.jpg"], filename="upload.jpg", by=caseworker)
    return case


def test_recording_a_minor_deletes_the_case_files_and_keeps_their_hashes(
    case, caseworker, django_capture_on_commit_callbacks
):
    items = list(minors.case_media_items(case))
    assert len(items) == 2
    names = [item.file.name for item in items]
    assert all(default_storage.exists(name) for name in names)

    with django_capture_on_commit_callbacks(execute=True):
        case = case_minor_record(case=case, by=caseworker)

    assert case.depicts_minor
    assert not any(default_storage.exists(name) for name in names)
    for item in items:
        kept = MediaItem.objects.get(pk=item.pk)
        assert not kept.file and kept.sha256 == item.sha256 and kept.pdq == item.pdq
    event = AuditEvent.objects.get(action="case.minor_recorded")
    assert event.actor == caseworker and event.data["files_deleted"] == 2
    assert {h["sha256"] for h in event.data["kept_hashes"]} == {item.sha256 for item in items}


def test_recording_it_again_changes_nothing(case, caseworker):
    case_minor_record(case=case, by=caseworker)
    case_minor_record(case=case, by=caseworker)
    assert AuditEvent.objects.filter(action="case.minor_recorded").count() == 1


def test_uploads_to_a_minor_case_are_refused(case, caseworker, images):
    case_minor_record(case=case, by=caseworker)
    before = MediaItem.objects.count()
    with pytest.raises(MinorImageryRefused) as error:
        case_media_add(case=case, data=images["reference.jpg"], filename="more.jpg", by=caseworker)
    assert error.value.reason == MINOR_NO_IMAGERY
    assert MediaItem.objects.count() == before


def test_the_pages_record_it_refuse_uploads_and_show_where_to_go(client, case, caseworker, images):
    client.force_login(caseworker)
    page = client.get(reverse("casework:case_detail", args=[case.pk])).content.decode()
    assert reverse("casework:case_media_upload", args=[case.pk]) in page

    response = client.post(reverse("casework:case_minor_record", args=[case.pk]))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.depicts_minor

    before = MediaItem.objects.count()
    upload = SimpleUploadedFile("more.jpg", images["reference.jpg"], content_type="image/jpeg")
    response = client.post(reverse("casework:case_media_upload", args=[case.pk]), {"file": upload}, follow=True)
    assert escape(str(MINOR_NO_IMAGERY)) in response.content.decode()
    assert MediaItem.objects.count() == before

    page = client.get(reverse("casework:case_detail", args=[case.pk])).content.decode()
    assert minors.TAKE_IT_DOWN_URL in page and minors.IWF_URL in page and "Hash-only path" in page
    assert reverse("casework:case_media_upload", args=[case.pk]) not in page
    for item in minors.case_media_items(case):
        assert item.sha256 in page

    finding = case.findings.get()
    assert client.get(reverse("casework:finding_media", args=[finding.pk])).status_code == 404
    assert "No imagery is stored" in client.get(reverse("casework:finding_detail", args=[finding.pk])).content.decode()


def test_a_caseworker_can_add_media_to_an_ordinary_case(client, case, caseworker, images):
    client.force_login(caseworker)
    upload = SimpleUploadedFile("more.jpg", images["reference.jpg"], content_type="image/jpeg")
    response = client.post(reverse("casework:case_media_upload", args=[case.pk]), {"file": upload})
    assert response.status_code == 302
    assert case.media_items.filter(original_name="more.jpg").exists()
    assert AuditEvent.objects.filter(action="case.media_added").count() == 2
