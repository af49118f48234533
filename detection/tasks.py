"""Celery tasks of the detection app. Each takes an id, reloads the row, and calls one service."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from detection.engine.index import IndexNotReady
from detection.models import MediaItem
from detection.services import media_scan, media_scans_requeue_stuck, media_url_fetch

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    # A worker killed mid-scan leaves the message for another: a lost pool child puts it back at once
    # (reject_on_worker_lost), a lost main process after the broker's visibility timeout (settings).
    acks_late=True,
    reject_on_worker_lost=True,
    # Database blips and an index still building are worth a retry; bad media is a defined outcome.
    autoretry_for=(OperationalError, IndexNotReady),
    retry_backoff=True,
    retry_backoff_max=15,  # a retry waits inside SCAN_GRACE_S, so its message is not handed out twice
    max_retries=5,
    soft_time_limit=settings.SCAN_SOFT_TIME_LIMIT_S,
    time_limit=settings.SCAN_TIME_LIMIT_S,
)
def scan_media(self, media_item_id: int) -> None:
    """Idempotent (media_scan claims the item). A redelivered message or a retry resumes the scan its
    first delivery claimed; any other message for an item being scanned is skipped."""
    resume = bool((self.request.delivery_info or {}).get("redelivered")) or bool(self.request.retries)
    try:
        media_scan(media_item_id=media_item_id, resume=resume)
    except MediaItem.DoesNotExist:
        log.warning("media item %s no longer exists; nothing to scan", media_item_id)


@shared_task(acks_late=False, soft_time_limit=40, time_limit=50)  # a lost sweep is redone by the next
def media_scans_sweep() -> dict:
    """Queue again the scans lost with their worker or their message (beat, every SCAN_SWEEP_EVERY_S)."""
    return media_scans_requeue_stuck().as_dict()


@shared_task(acks_late=False, soft_time_limit=40, time_limit=50)  # a lost sweep is redone by the next
def crawl_pages_sweep() -> dict:
    """Queue again the crawl rows whose worker died mid-fetch, and those whose message was lost; end the
    runs with nothing left (beat, every SCAN_SWEEP_EVERY_S; detection.crawling)."""
    from detection.crawling import crawl_pages_requeue_stuck

    summary = crawl_pages_requeue_stuck()
    return {"requeued": summary.requeued, "failed": summary.failed}


@shared_task(
    # A worker killed mid-fetch leaves the message for another (acks_late, reject_on_worker_lost); the
    # row it claimed stays "fetching" until the sweeper's stale-claim check queues it again.
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=15,
    max_retries=5,
    soft_time_limit=settings.FETCH_SOFT_TIME_LIMIT_S,
    time_limit=settings.FETCH_TIME_LIMIT_S,
)
def crawl_page(page_id: int) -> None:
    """Idempotent: crawl_page_process claims the row, so a duplicate message does nothing. A row put back
    to wait for its host (robots.txt first, or the per-host rate) comes back after a countdown."""
    from detection.crawling import crawl_page_process
    from detection.models import CrawlPage

    try:
        outcome = crawl_page_process(page_id=page_id, enqueue=True)
    except CrawlPage.DoesNotExist:
        log.warning("crawl row %s no longer exists; nothing to fetch", page_id)
        return
    if outcome.result == "deferred":
        crawl_page.apply_async((page_id,), countdown=outcome.countdown)


@shared_task(acks_late=False, soft_time_limit=40, time_limit=50)  # beat sends the next one in a minute
def watches_crawl_due() -> list[int]:
    """Start the scheduled watches that are due (beat, every minute)."""
    from detection.crawling import watches_crawl_due as start_due

    return start_due()


@shared_task(
    acks_late=True,  # a worker killed mid-fetch leaves the message for another: the item is still "fetching"
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=15,  # a retry's countdown stays far inside the broker's visibility timeout
    max_retries=5,
    # Above the longest fetch the settings allow (FETCH_DEADLINE_S, page and media together): a slow
    # server is cut by the fetcher's deadline, and this only stops a bug (the item then fails with the
    # reason). Kept under the broker's visibility timeout, or a fetch still running is handed out twice.
    soft_time_limit=settings.FETCH_SOFT_TIME_LIMIT_S,
    time_limit=settings.FETCH_TIME_LIMIT_S,
)
def fetch_media_url(media_item_id: int) -> None:
    try:
        media_url_fetch(media_item_id=media_item_id)
    except MediaItem.DoesNotExist:
        log.warning("media item %s no longer exists; nothing to fetch", media_item_id)
