"""Celery tasks of the detection app. Each takes an id, reloads the row, and calls one service."""

import logging

from celery import shared_task
from django.db import OperationalError

from detection.engine.index import IndexNotReady
from detection.models import MediaItem
from detection.services import media_scan

log = logging.getLogger(__name__)


@shared_task(
    acks_late=True,  # a worker killed mid-scan leaves the message for another worker
    # Database blips and an index still building are worth a retry; bad media is a defined outcome.
    autoretry_for=(OperationalError, IndexNotReady),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=300,
    time_limit=360,
)
def scan_media(media_item_id: int) -> None:
    try:
        media_scan(media_item_id=media_item_id)
    except MediaItem.DoesNotExist:
        log.warning("media item %s no longer exists; nothing to scan", media_item_id)
