"""``/healthz``: whether this web process can reach what it needs, for a load balancer or a process
supervisor. Public (a probe has no account) and so it names only what failed, never why: an error
message could carry a host name or a password from a URL (the log has the details)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from casework.access import public

log = logging.getLogger(__name__)

OK, FAILED, NOT_CONFIGURED = "ok", "failed", "not configured"
# A probe answers in about a second or is counted as failing: a broker that does not answer in this
# time is reported as failed rather than holding the probe (and a web worker) for kombu's default.
BROKER_TIMEOUT_S = 2.0


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        log.exception("health check: the database did not answer")
        return FAILED
    return OK


def broker_check() -> str:
    # No broker configured: tasks run in the web process (settings, "Background work"), so none is needed.
    if settings.CELERY_TASK_ALWAYS_EAGER or settings.CELERY_BROKER_URL.startswith("memory://"):
        return NOT_CONFIGURED
    from config.celery import app

    try:
        with app.connection_for_write(url=settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_S) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_S)
    except Exception:  # kombu raises the transport's own errors (redis, amqp, socket): any is a failure here
        log.exception("health check: the broker did not answer")
        return FAILED
    return OK


@public
@require_GET
def healthz(request):
    checks = {"database": database_check(), "broker": broker_check()}
    failed = any(state == FAILED for state in checks.values())
    response = JsonResponse(checks, status=503 if failed else 200)
    response["Cache-Control"] = "no-store"
    return response
