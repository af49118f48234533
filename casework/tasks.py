"""Scheduled casework (CELERY_BEAT_SCHEDULE in config/settings.py). Each task calls one service.

All are idempotent: a request is flagged once (conditional update), a subject is noticed once per
period of inactivity and purged once, a URL is rechecked once per period, a re-upload is attached
once, so a retried or doubled run does no harm.
"""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError

from casework.models import TakedownRequest
from casework.services import deadlines, hash_feed, rechecks, retention, reuploads

log = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=5 * 60,
    time_limit=6 * 60,  # well inside the 15-minute beat interval
)
def deadlines_check() -> dict:
    summary = deadlines.deadlines_check()
    log.info("deadlines check: %d at risk, %d breached", len(summary.at_risk), len(summary.breached))
    return {"at_risk": summary.at_risk, "breached": summary.breached}


@shared_task(
    # Longer than the broker's visibility timeout (settings, SCAN_TIME_LIMIT_S): held unacknowledged, a
    # purge still running would be handed to a second worker. Acknowledged at once, a lost purge is
    # done by the next day's.
    acks_late=False,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
)
def biometrics_retention_purge() -> dict:
    summary = retention.biometrics_retention_purge()
    log.info("retention: %d subjects told, %d purged, %d hash feed tombstones purged", len(summary.noticed),
             len(summary.purged), summary.feed_tombstones_purged)
    return {"noticed": summary.noticed, "purged": summary.purged}


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=60,
    time_limit=90,
)
def takedown_rechecks_schedule() -> list[int]:
    """Enqueue one recheck per due URL: a slow or hostile site then holds up only its own task."""
    due = rechecks.takedown_rechecks_due()
    for request_id in due:
        takedown_recheck.delay(request_id)
    log.info("rechecks: %d URLs due", len(due))
    return due


@shared_task(
    autoretry_for=(OperationalError,),  # fetch failures are an outcome (recorded "failed"), not retried
    retry_backoff=True,
    max_retries=3,
    # Longer than the broker's visibility timeout, so acknowledged at once (see biometrics_retention_purge):
    # a lost recheck is due again and queued by the next takedown_rechecks_schedule.
    acks_late=False,
    # The page, then up to detection.revisits.MAX_MEDIA_PER_REVISIT media, each within FETCH_DEADLINE_S.
    soft_time_limit=15 * 60,
    time_limit=16 * 60,
)
def takedown_recheck(request_id: int) -> str | None:
    request = TakedownRequest.objects.select_related("case").filter(pk=request_id).first()
    if request is None:
        log.warning("takedown request %s no longer exists; nothing to recheck", request_id)
        return None
    try:
        result = rechecks.takedown_recheck(request=request)
    except SoftTimeLimitExceeded:
        # Nothing is recorded, so the request is due again at the next run.
        log.warning("recheck of takedown request %s ran out of time", request_id)
        return None
    log.info("recheck of takedown request %s: %s %s", request_id, result.outcome, result.action)
    return result.outcome


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=60,
    time_limit=90,
)
def finding_hash_share(finding_id: int) -> int | None:
    """Idempotent: a hash already registered and shared is left as it is."""
    known = hash_feed.finding_hash_share(finding_id=finding_id)
    log.info("finding %s: %s", finding_id, f"known hash {known.pk} shared" if known else "no hash to share")
    return known.pk if known else None


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=4 * 60,
    time_limit=5 * 60,  # inside the 5-minute beat interval
)
def reupload_watch() -> list[int]:
    found = reuploads.reupload_watch_recent()
    log.info("re-upload watch: %d findings attached to cases", len(found))
    return [r.finding_id for r in found]


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=8,  # casework.services.webhooks.MAX_ATTEMPTS - 1; the countdown grows 30 s × 2^n, capped
    soft_time_limit=60,
    time_limit=90,
)
def webhook_delivery_send(self, delivery_id: int) -> None:
    """Idempotent: a delivered row is not sent again, so a duplicate message does no harm."""
    from casework.models import WebhookDelivery
    from casework.services.webhooks import webhook_delivery_attempt

    try:
        outcome = webhook_delivery_attempt(delivery_id=delivery_id)
    except WebhookDelivery.DoesNotExist:
        log.warning("webhook delivery %s no longer exists; nothing to send", delivery_id)
        return
    if outcome.retry_in_s is not None:
        raise self.retry(countdown=outcome.retry_in_s)
