import io

import numpy as np
import pytest
from django.test import override_settings
from PIL import Image

from casework.models import ConsentPurpose
from casework.services.consent import consent_withdraw
from detection import services
from detection.engine import hashes, media
from detection.models import Finding, MediaItem


def scan(data: bytes, name: str = "probe.jpg", url: str = "") -> MediaItem:
    item = services.media_ingest(data=data, source=MediaItem.Source.UPLOAD, original_name=name, source_url=url)
    if item.status == MediaItem.Status.RECEIVED:
        services.media_scan(media_item_id=item.pk)
    item.refresh_from_db()
    return item


def test_a_matching_face_becomes_a_pending_likeness_finding(astronaut_subject, images):
    item = scan(images["reported-astronaut.jpg"])
    assert item.status == MediaItem.Status.DONE
    finding = item.findings.get()
    assert finding.subject == astronaut_subject
    assert finding.organization_id == astronaut_subject.organization_id  # what the review queue filters on
    assert finding.kind == Finding.Kind.LIKENESS and finding.status == Finding.Status.PENDING
    assert finding.distance < finding.threshold == 0.6
    assert "dlib" in finding.model_version
    assert (finding.references_agreeing, finding.references_total) == (1, 1)
    assert finding.face_box == item.faces[0]
    assert 0 < item.faces[0]["quality"]["score"] <= 1
    assert item.sha256 == hashes.sha256_hex(images["reported-astronaut.jpg"]) and item.pdq and item.phash


def test_no_face_means_no_finding(astronaut_subject, images):
    item = scan(images["reported-coffee.jpg"])
    assert item.status == MediaItem.Status.DONE and item.faces == []
    assert not Finding.objects.exists()


def test_another_person_is_not_matched(enrol, testdata):
    examples = testdata / "faces/face_recognition/examples"
    enrol([("obama.jpg", (examples / "obama.jpg").read_bytes())], name="Subject O")
    assert scan((examples / "biden.jpg").read_bytes()).findings.count() == 0
    assert scan((examples / "obama2.jpg").read_bytes()).findings.count() == 1


def test_scanning_the_same_media_twice_adds_nothing(astronaut_subject, images):
    first = scan(images["reported-astronaut.jpg"], url="https://example.org/a")
    again = scan(images["reported-astronaut.jpg"], url="https://example.org/a")
    assert again.pk == first.pk
    outcome = services.media_scan(media_item_id=first.pk)
    assert outcome.skipped
    assert Finding.objects.count() == 1


def test_the_same_bytes_at_another_url_is_new_evidence(astronaut_subject, images):
    scan(images["reported-astronaut.jpg"], url="https://example.org/a")
    scan(images["reported-astronaut.jpg"], url="https://example.net/b")
    assert MediaItem.objects.count() == 2 and Finding.objects.count() == 2


def test_a_bad_file_fails_with_a_reason_and_is_kept(db):
    item = scan(b"\x00not an image at all", name="junk.jpg")
    assert item.status == MediaItem.Status.FAILED
    assert item.failure_reason == media.NOT_MEDIA
    assert item.sha256 == hashes.sha256_hex(b"\x00not an image at all")


@override_settings(MEDIA_MAX_BYTES=100)
def test_an_oversized_file_is_a_failed_item_not_a_lost_one(db, images):
    item = scan(images["reported-coffee.jpg"])
    assert item.status == MediaItem.Status.FAILED and "the limit is 100 bytes" in item.failure_reason
    assert not item.file


def test_a_withdrawal_during_a_scan_wins(astronaut_subject, images, monkeypatch):
    """The index is loaded, then consent is withdrawn before findings are written: no finding."""
    load = services.match_index

    def load_then_withdraw():
        index = load()
        consent_withdraw(consent=astronaut_subject.consents.get())
        return index

    monkeypatch.setattr(services, "match_index", load_then_withdraw)
    item = scan(images["reported-astronaut.jpg"])
    assert item.status == MediaItem.Status.DONE and len(item.faces) == 1
    assert not Finding.objects.exists()


def test_a_scan_while_the_index_is_not_ready_says_so_and_can_be_retried(astronaut_subject, images, monkeypatch):
    from detection.engine.index import IndexNotReady

    def not_ready():
        raise IndexNotReady()

    monkeypatch.setattr(services, "match_index", not_ready)
    item = services.media_ingest(data=images["reported-astronaut.jpg"], source=MediaItem.Source.UPLOAD)
    with pytest.raises(IndexNotReady):
        services.media_scan(media_item_id=item.pk)
    item.refresh_from_db()
    assert item.status == MediaItem.Status.PROCESSING and not item.findings.exists()
    monkeypatch.undo()
    assert services.media_scan(media_item_id=item.pk).skipped  # a second message is not the retry
    assert services.media_scan(media_item_id=item.pk, resume=True).findings  # the retry claims it again


def test_a_known_image_hash_finds_a_mirrored_reupload(enrol, images):
    from skimage import data

    subject = enrol([], name="Hash-only subject", purposes=[ConsentPurpose.HASH_MATCHING])
    known = hashes.pdq(data.astronaut())
    services.known_hash_add(subject_id=subject.pk, algorithm="pdq", value=known.hex, quality=known.quality)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(data.astronaut()[:, ::-1])).save(buffer, format="JPEG", quality=75)
    finding = scan(buffer.getvalue()).findings.get()
    assert finding.kind == Finding.Kind.HASH and finding.subject == subject
    assert finding.organization_id == subject.organization_id
    assert finding.distance <= 31


def test_the_scan_task_runs_the_scan(astronaut_subject, images, django_capture_on_commit_callbacks):
    item = services.media_ingest(data=images["reported-astronaut.jpg"], source=MediaItem.Source.REPORT)
    with django_capture_on_commit_callbacks(execute=True):
        services.media_scan_enqueue(item)
    item.refresh_from_db()
    assert item.status == MediaItem.Status.DONE and item.findings.count() == 1


def test_the_scan_task_tolerates_a_deleted_item(db):
    from detection.tasks import scan_media

    scan_media.apply(args=[987654]).get()  # logs and returns; no exception


@pytest.mark.parametrize("bad", [b"", b"GIF89a" + b"\x00" * 10])
def test_empty_and_broken_files_fail_cleanly(db, bad):
    item = scan(bad, name="bad.gif")
    assert item.status == MediaItem.Status.FAILED and item.failure_reason


def test_a_video_is_scanned_for_the_subject(enrol, testdata):
    miranda = (testdata / "faces/face_recognition/examples/lin-manuel-miranda.png").read_bytes()
    subject = enrol([("lmm.png", miranda)], name="Subject L")
    item = scan((testdata / "video/short_hamilton_clip.mp4").read_bytes(), name="clip.mp4")
    assert item.status == MediaItem.Status.DONE and item.kind == MediaItem.Kind.VIDEO
    assert item.duration_s > 5 and item.frame_pdq and item.faces
    finding = item.findings.get()
    assert finding.subject == subject and finding.distance < 0.6
    assert {"track", "t"} <= finding.face_box.keys()


def test_a_broken_video_fails_with_a_reason(db):
    from detection.engine.video.opening import DAMAGED_VIDEO, NO_FRAMES, NOT_A_VIDEO

    data = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4000  # an MP4 header and nothing decodable
    item = scan(data, name="broken.mp4")
    assert item.status == MediaItem.Status.FAILED
    assert item.failure_reason in {NOT_A_VIDEO, DAMAGED_VIDEO, NO_FRAMES}


def test_a_crash_in_the_engine_fails_the_item_instead_of_leaving_it_processing(db, images, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(services, "analyze", crash)
    item = scan(images["reported-coffee.jpg"])
    assert item.status == MediaItem.Status.FAILED and item.failure_reason == services.SCAN_CRASHED
