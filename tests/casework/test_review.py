"""The review queue: both faces side by side, blurred until a person looks; a rejected file does not
come back for that subject."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from casework.models import AuditEvent, Regime
from casework.selectors import review_queue
from casework.services.cases import SAME_FILE_REJECTED, finding_confirm, finding_reject
from casework.services.consent import consent_withdraw
from detection import crops
from detection.media_files import media_item_read
from detection.models import FaceTemplate, Finding, FindingSuppression, MediaItem
from detection.services import media_ingest
from tests.casework.test_sensitive_media import reveal
from tests.detection.test_media_files import store_as_before_encryption
from tests.detection.test_scan import scan

URL_A = "https://example.org/posts/a"
URL_B = "https://example.net/mirror/b"
REFERENCE_GONE = "The reference photo is no longer stored"  # templates/casework/_faces.html


@pytest.fixture
def finding(astronaut_subject, images):
    return scan(images["reported-astronaut.jpg"], url=URL_A).findings.get()


def test_a_likeness_finding_records_the_template_it_matched(finding, astronaut_subject):
    assert finding.template_id == FaceTemplate.objects.get(subject=astronaut_subject).pk


def test_the_queue_shows_both_faces_blurred_with_distance_threshold_and_signals(client, caseworker, finding):
    client.force_login(caseworker)
    page = client.get(reverse("casework:review_queue")).content.decode()
    assert reverse("casework:finding_reference_crop", args=[finding.pk]) in page
    assert reverse("casework:finding_probe_crop", args=[finding.pk]) in page
    assert page.count('class="blurred"') == 2  # nothing is shown until the reviewer chooses to look
    assert "{#" not in page and "{% comment" not in page
    assert f"{finding.distance:.3f}" in page and f"≤ {finding.threshold:.2f}" in page
    assert "signals apply" in page
    assert reverse("casework:finding_reject", args=[finding.pk]) in page


def test_the_finding_page_shows_the_faces_too(client, caseworker, finding):
    client.force_login(caseworker)
    page = client.get(reverse("casework:finding_detail", args=[finding.pk])).content.decode()
    assert "Faces compared" in page and reverse("casework:finding_probe_crop", args=[finding.pk]) in page


@pytest.mark.parametrize("name", ["finding_reference_crop", "finding_probe_crop"])
def test_each_crop_is_a_small_face_served_privately(client, caseworker, finding, name):
    client.force_login(caseworker)
    reveal(client, finding, "reference_face" if name == "finding_reference_crop" else "probe_face")
    response = client.get(reverse(f"casework:{name}", args=[finding.pk]) + "?view=original")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    crop = Image.open(io.BytesIO(response.content))
    assert crop.format == "JPEG" and max(crop.size) <= crops.MAX_SIDE
    item = finding.media_item
    assert crop.size[0] < item.width and crop.size[1] < item.height  # a crop, not the whole picture


def test_the_probe_crop_is_cut_around_the_recorded_box(finding):
    box = finding.face_box
    data = media_item_read(finding.media_item)
    tight = Image.open(io.BytesIO(crops.face_crop_jpeg(data, box, margin=0, max_side=10_000)))
    assert tight.size == (box["right"] - box["left"], box["bottom"] - box["top"])


def test_the_finding_media_is_the_captured_file_shown_privately(client, caseworker, finding, images):
    client.force_login(caseworker)
    reveal(client, finding)  # before it, a blurred rendering (tests/casework/test_sensitive_media.py)
    response = client.get(reverse("casework:finding_media", args=[finding.pk]) + "?view=original")
    assert response.status_code == 200 and response.content == images["reported-astronaut.jpg"]  # not the token
    assert response["Content-Type"] == "image/jpeg" and response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("inline")


def test_a_media_file_stored_before_encryption_is_still_shown_and_cropped(own_media_root, client, caseworker,
                                                                          finding, images):
    store_as_before_encryption(finding.media_item, images["reported-astronaut.jpg"])
    client.force_login(caseworker)
    reveal(client, finding)
    media = client.get(reverse("casework:finding_media", args=[finding.pk]) + "?view=original")
    assert media.status_code == 200 and media.content == images["reported-astronaut.jpg"]
    assert client.get(reverse("casework:finding_probe_crop", args=[finding.pk])).status_code == 200


def test_finding_media_that_is_not_an_image_or_a_video_is_not_rendered(client, caseworker, astronaut_subject):
    item = media_ingest(data=b"<html><script>alert(1)</script></html>", source=MediaItem.Source.REPORT,
                        original_name="photo.html")
    finding = Finding.objects.create(media_item=item, subject=astronaut_subject, kind=Finding.Kind.HASH,
                                     organization_id=astronaut_subject.organization_id,
                                     distance=3, threshold=31, model_version="pdq")
    client.force_login(caseworker)
    reveal(client, finding)
    response = client.get(reverse("casework:finding_media", args=[finding.pk]) + "?view=original")
    assert response.status_code == 200 and response["Content-Type"] == "application/octet-stream"


def test_the_reference_crop_is_gone_once_consent_is_withdrawn(client, caseworker, finding, astronaut_subject):
    finding_confirm(finding=finding, by=caseworker, platform="P", target_url=URL_A)  # confirmed findings stay
    consent_withdraw(consent=astronaut_subject.consents.get(), by=caseworker, reason="asked to stop")
    client.force_login(caseworker)
    assert client.get(reverse("casework:finding_reference_crop", args=[finding.pk])).status_code == 404
    page = client.get(reverse("casework:finding_detail", args=[finding.pk])).content.decode()
    assert REFERENCE_GONE in page and reverse("casework:finding_reference_crop", args=[finding.pk]) not in page


def test_a_finding_without_a_face_has_no_probe_crop(client, caseworker, astronaut_subject, images):
    item = media_ingest(data=images["reported-coffee.jpg"], source=MediaItem.Source.UPLOAD)
    finding = Finding.objects.create(media_item=item, subject=astronaut_subject, kind=Finding.Kind.HASH,
                                     organization_id=astronaut_subject.organization_id,
                                     distance=3, threshold=31, model_version="pdq")
    client.force_login(caseworker)
    assert client.get(reverse("casework:finding_probe_crop", args=[finding.pk])).status_code == 404


def _finding(subject, data: bytes, *, distance: float, threshold: float, kind=Finding.Kind.LIKENESS) -> Finding:
    """A finding as the scan writes it, at a chosen distance (the scan's own distances cannot be chosen)."""
    item = media_ingest(data=data, source=MediaItem.Source.UPLOAD)
    return Finding.objects.create(media_item=item, subject=subject, organization_id=subject.organization_id,
                                  kind=kind, distance=distance,
                                  threshold=threshold, model_version="test")


def test_the_queue_is_newest_day_first_and_strongest_first_within_a_day(caseworker, astronaut_subject):
    import datetime as dt

    weak = _finding(astronaut_subject, b"weak", distance=0.55, threshold=0.6)
    strong_hash = _finding(astronaut_subject, b"strong", distance=3, threshold=31, kind=Finding.Kind.HASH)
    middling = _finding(astronaut_subject, b"middling", distance=0.3, threshold=0.6)
    yesterday = _finding(astronaut_subject, b"old", distance=0.01, threshold=0.6)
    Finding.objects.filter(pk=yesterday.pk).update(created_at=yesterday.created_at - dt.timedelta(days=1))
    order = [entry.finding.pk for entry in review_queue(caseworker)]
    # 3/31 ≈ 0.10 of its threshold beats 0.3/0.6 = 0.5 and 0.55/0.6 ≈ 0.92; yesterday's comes after today's.
    assert order == [strong_hash.pk, middling.pk, weak.pk, yesterday.pk]


def test_a_rejected_file_is_never_raised_again_for_that_subject(caseworker, finding, astronaut_subject, images):
    finding_reject(finding=finding, by=caseworker, reason="Not her: a different astronaut")
    assert FindingSuppression.objects.filter(sha256=finding.media_item.sha256, subject=astronaut_subject).exists()
    event = AuditEvent.objects.get(action="finding.rejected")
    assert event.data == {"reason": "Not her: a different astronaut", "ignored_file": finding.media_item.sha256}
    again = scan(images["reported-astronaut.jpg"], url=URL_B)  # the same bytes found elsewhere
    assert again.status == MediaItem.Status.DONE and not again.findings.exists()


def test_rejecting_a_finding_rejects_pending_findings_of_the_same_file(caseworker, astronaut_subject, images):
    first = scan(images["reported-astronaut.jpg"], url=URL_A).findings.get()
    twin = scan(images["reported-astronaut.jpg"], url=URL_B).findings.get()
    finding_reject(finding=first, by=caseworker, reason="Not her")
    twin.refresh_from_db()
    assert twin.status == Finding.Status.REJECTED
    assert twin.review_reason == SAME_FILE_REJECTED.format(pk=first.pk, reason="Not her")
    assert AuditEvent.objects.filter(action="finding.rejected").count() == 2  # one per finding changed


def test_the_ignore_list_is_per_subject(enrol, caseworker, images):
    photo = [("reference.jpg", images["reference.jpg"])]
    first, second = enrol(photo, name="First"), enrol(photo, name="Second")
    findings = scan(images["reported-astronaut.jpg"], url=URL_A).findings.all()
    assert {f.subject for f in findings} == {first, second}
    finding_reject(finding=findings.get(subject=first), by=caseworker, reason="Not the first subject")
    later = scan(images["reported-astronaut.jpg"], url=URL_B)
    assert [f.subject for f in later.findings.all()] == [second]


def test_a_known_image_hash_finding_is_suppressed_too(enrol, caseworker):
    import numpy as np
    from skimage import data

    from casework.models import ConsentPurpose
    from detection.engine import hashes
    from detection.services import known_hash_add

    subject = enrol([], name="Hash-only subject", purposes=[ConsentPurpose.HASH_MATCHING])
    known = hashes.pdq(data.astronaut())
    known_hash_add(subject_id=subject.pk, algorithm="pdq", value=known.hex, quality=known.quality)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(data.astronaut())).save(buffer, format="PNG")
    finding = scan(buffer.getvalue(), url=URL_A).findings.get(kind=Finding.Kind.HASH)
    finding_reject(finding=finding, by=caseworker, reason="A public NASA photo, not hers")
    assert not scan(buffer.getvalue(), url=URL_B).findings.exists()


def test_rejecting_from_the_queue_returns_to_the_queue(client, caseworker, finding):
    client.force_login(caseworker)
    response = client.post(reverse("casework:finding_reject", args=[finding.pk]), {"reason": "Not the subject"})
    assert response.status_code == 302 and response.url == reverse("casework:review_queue")
    assert "Nothing to review" in client.get(reverse("casework:review_queue")).content.decode()


def test_legal_staff_cannot_reject(client, legal, finding):
    client.force_login(legal)
    response = client.post(reverse("casework:finding_reject", args=[finding.pk]), {"reason": "Not the subject"})
    assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.status == Finding.Status.PENDING and not FindingSuppression.objects.exists()


def test_a_confirmed_case_request_keeps_the_regime_chosen(caseworker, finding):
    _, request = finding_confirm(finding=finding, by=caseworker, platform="P", target_url=URL_A, regime=Regime.DSA)
    assert request.regime == Regime.DSA


def test_the_queue_is_paged_and_its_queries_do_not_grow_with_the_page(client, caseworker, astronaut_subject):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casework.selectors import REVIEW_PAGE_SIZE

    def shown(params=None) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            page = client.get(reverse("casework:review_queue"), params or {}).content.decode()
        return len(captured), page

    client.force_login(caseworker)
    for n in range(2):
        _finding(astronaut_subject, f"few {n}".encode(), distance=0.3, threshold=0.6)
    few, _ = shown()
    for n in range(REVIEW_PAGE_SIZE + 6):
        _finding(astronaut_subject, f"many {n}".encode(), distance=0.1 + n / 100, threshold=0.6)
    many, first = shown()
    _, second = shown({"page": 2})
    assert many == few
    assert first.count('class="card review-entry"') == REVIEW_PAGE_SIZE
    assert second.count('class="card review-entry"') == 8 and f"{REVIEW_PAGE_SIZE + 8} findings waiting" in second
    assert "Page 2 of 2" in second
    # The order runs across pages: together they hold every finding once, the closest matches first.
    findings = [entry.finding for page in (1, 2) for entry in review_queue(caseworker, page=page)]
    assert sorted(f.pk for f in findings) == sorted(Finding.objects.values_list("pk", flat=True))
    relative = [f.distance / f.threshold for f in findings]
    assert relative == sorted(relative)
