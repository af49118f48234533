"""A real Celery worker on the real broker scans a queued media item (runs where CELERY_BROKER_URL is set,
as in CI with Redis; skipped otherwise)."""

import os
import time

import pytest

from config.celery import app as celery_app
from detection import services
from detection.models import MediaItem

BROKER = os.environ.get("CELERY_BROKER_URL")
pytestmark = pytest.mark.skipif(not BROKER, reason="CELERY_BROKER_URL is not set: no broker to test a worker on")


@pytest.fixture
def worker(transactional_db):
    from celery.contrib.testing.worker import start_worker

    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    celery_app.conf.update(task_always_eager=False, broker_url=BROKER)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield
    celery_app.conf.update(saved)


def test_a_queued_scan_is_done_by_a_worker(worker, images):
    item = services.media_ingest(data=images["reported-coffee.jpg"], source=MediaItem.Source.API)
    services.media_scan_enqueue(item)  # outside a transaction: sent at once
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        item.refresh_from_db()
        if item.status in {MediaItem.Status.DONE, MediaItem.Status.FAILED}:
            break
        time.sleep(0.2)
    assert item.status == MediaItem.Status.DONE and item.width == 600
