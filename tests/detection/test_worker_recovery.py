"""Scans lost with their worker are found and finished once (issue 11, "Lost scans"), in-process.

A worker killed mid-scan is played by an exception no handler catches, raised after the finding is
written: nothing after it runs, as after SIGKILL. Time passing is played by moving the claim back.
tests/detection/test_worker_faults.py does the same with real workers killed on a real broker.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from casework.services.submissions import media_submit_upload
from detection import services
from detection.models import Finding, MediaItem
from detection.tasks import media_scans_sweep, scan_media


class WorkerKilled(BaseException):
    """What SIGKILL does to a scan in a test: it stops, and no handler of the scan sees it."""


def _killed(*_args, **_kwargs):
    raise WorkerKilled()


def ingest(data: bytes, url: str = "https://example.org/post") -> MediaItem:
    return services.media_ingest(data=data, source=MediaItem.Source.UPLOAD, source_url=url)


def scan_killed_after_its_finding(monkeypatch, item: MediaItem) -> MediaItem:
    with monkeypatch.context() as patch:
        patch.setattr(services, "_indicators_write", _killed)  # runs after the findings are written
        with pytest.raises(WorkerKilled):
            services.media_scan(media_item_id=item.pk)
    item.refresh_from_db()
    return item


def claim_ages(item: MediaItem, seconds: float) -> None:
    MediaItem.objects.filter(pk=item.pk).update(scan_started_at=F("scan_started_at") - timedelta(seconds=seconds))


def sweep(django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        return media_scans_sweep.apply().get()


def test_a_scan_killed_after_writing_its_finding_is_queued_again_and_finished_once(
    astronaut_subject, images, monkeypatch, django_capture_on_commit_callbacks
):
    item = scan_killed_after_its_finding(monkeypatch, ingest(images["reported-astronaut.jpg"]))
    assert item.status == MediaItem.Status.PROCESSING and item.scan_attempts == 1 and item.findings.count() == 1
    assert sweep(django_capture_on_commit_callbacks) == {"requeued": [], "failed": []}  # may still be running

    claim_ages(item, settings.SCAN_STUCK_AFTER_S + 1)
    assert sweep(django_capture_on_commit_callbacks) == {"requeued": [item.pk], "failed": []}
    item.refresh_from_db()
    assert item.status == MediaItem.Status.DONE and item.scan_attempts == 2 and item.indicators.exists()
    finding = Finding.objects.get(media_item=item)  # the first finding stands; none was added
    assert finding.subject == astronaut_subject


def test_a_second_message_for_a_running_scan_is_skipped_but_a_redelivered_one_resumes_it(
    astronaut_subject, images, monkeypatch
):
    item = scan_killed_after_its_finding(monkeypatch, ingest(images["reported-astronaut.jpg"]))
    assert services.media_scan(media_item_id=item.pk).skipped  # another worker may be scanning it
    outcome = scan_media.apply(args=[item.pk], retries=1)  # a retry (or a redelivery) resumes the claim
    outcome.get()
    item.refresh_from_db()
    assert item.status == MediaItem.Status.DONE and item.scan_attempts == 2 and item.findings.count() == 1


def test_a_received_item_no_worker_took_is_queued_again_after_a_while(db, images, django_capture_on_commit_callbacks):
    item = ingest(images["reported-coffee.jpg"])  # its message lost: nothing was queued
    assert sweep(django_capture_on_commit_callbacks)["requeued"] == []
    MediaItem.objects.filter(pk=item.pk).update(
        received_at=timezone.now() - timedelta(seconds=settings.SCAN_QUEUED_STALE_S + 1)
    )
    assert sweep(django_capture_on_commit_callbacks)["requeued"] == [item.pk]
    item.refresh_from_db()
    assert item.status == MediaItem.Status.DONE and item.scan_queued_at is not None


def test_a_file_that_stops_its_worker_every_time_ends_failed_with_a_reason(
    astronaut_subject, images, monkeypatch, django_capture_on_commit_callbacks
):
    item = ingest(images["reported-astronaut.jpg"])
    with monkeypatch.context() as patch:
        patch.setattr(services, "analyze", _killed)
        for attempt in range(settings.SCAN_MAX_ATTEMPTS):
            with pytest.raises(WorkerKilled):
                services.media_scan(media_item_id=item.pk, resume=attempt > 0)  # put back at once, as on worker loss
        outcome = services.media_scan(media_item_id=item.pk, resume=True)
    item.refresh_from_db()
    assert outcome.skipped and item.status == MediaItem.Status.FAILED
    assert item.failure_reason == services.SCAN_STOPPED.format(attempts=settings.SCAN_MAX_ATTEMPTS)


def test_the_sweeper_fails_a_lost_scan_that_used_its_attempts(db, images, django_capture_on_commit_callbacks):
    item = ingest(images["reported-coffee.jpg"])
    MediaItem.objects.filter(pk=item.pk).update(
        status=MediaItem.Status.PROCESSING, scan_attempts=settings.SCAN_MAX_ATTEMPTS,
        scan_started_at=timezone.now() - timedelta(seconds=settings.SCAN_STUCK_AFTER_S + 1),
    )
    assert sweep(django_capture_on_commit_callbacks) == {"requeued": [], "failed": [item.pk]}
    item.refresh_from_db()
    assert item.status == MediaItem.Status.FAILED and "stopped before it finished" in item.failure_reason


def test_sending_a_stuck_file_again_queues_its_scan_and_a_running_one_is_left(
    org, caseworker, astronaut_subject, images, monkeypatch, django_capture_on_commit_callbacks
):
    data = images["reported-astronaut.jpg"]
    with django_capture_on_commit_callbacks(execute=True):
        [item] = media_submit_upload(organization=org, data=data, filename="a.jpg", by=caseworker)
    item.refresh_from_db()
    assert item.status == MediaItem.Status.DONE
    MediaItem.objects.filter(pk=item.pk).update(status=MediaItem.Status.PROCESSING, scan_started_at=timezone.now())
    queued = []
    with monkeypatch.context() as patch:
        patch.setattr("detection.tasks.scan_media.delay", queued.append)
        with django_capture_on_commit_callbacks(execute=True):
            media_submit_upload(organization=org, data=data, filename="a.jpg", by=caseworker)
        assert queued == []  # being scanned now: a second scan would only repeat it

        item.refresh_from_db()
        claim_ages(item, settings.SCAN_STUCK_AFTER_S + 1)
        with django_capture_on_commit_callbacks(execute=True):
            media_submit_upload(organization=org, data=data, filename="a.jpg", by=caseworker)
    assert queued == [item.pk]
    item.refresh_from_db()
    assert item.status == MediaItem.Status.RECEIVED


def test_scans_are_set_up_to_be_redelivered_and_swept():
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST and settings.CELERY_TASK_ACKS_LATE
    assert scan_media.reject_on_worker_lost and scan_media.acks_late
    assert scan_media.time_limit == settings.SCAN_TIME_LIMIT_S > scan_media.soft_time_limit
    # Redis hands out a dead worker's message once no scan of it can still be running, not after an hour.
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert scan_media.time_limit + scan_media.retry_backoff_max < visibility <= settings.SCAN_TIME_LIMIT_S + 60
    sweep_entry = settings.CELERY_BEAT_SCHEDULE["media-scans-sweep"]
    assert sweep_entry["task"] == media_scans_sweep.name and 0 < sweep_entry["options"]["expires"] <= sweep_entry["schedule"]
