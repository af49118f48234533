"""Scheduled casework (CELERY_BEAT_SCHEDULE in config/settings.py). Each task calls one service.

Both are idempotent: a request is flagged once (conditional update), a subject is noticed once per
period of inactivity and purged once, so a retried or doubled run does no harm.
"""

import logging

from celery import shared_task
from django.db import OperationalError

from casework.services import deadlines, retention

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
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=30 * 60,
    time_limit=35 * 60,
)
def biometrics_retention_purge() -> dict:
    summary = retention.biometrics_retention_purge()
    log.info("retention: %d subjects told, %d purged", len(summary.noticed), len(summary.purged))
    return {"noticed": summary.noticed, "purged": summary.purged}
