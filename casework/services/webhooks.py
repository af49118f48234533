"""Webhooks: a partner URL told, in a signed POST, when a finding of its organisation is confirmed.

Signature: ``X-Reclaim-Signature: sha256=<hex>``, the HMAC-SHA256 with the webhook's secret of
``<X-Reclaim-Timestamp>.<raw body>``. The timestamp is inside the signed string so a captured
delivery cannot be replayed later with a fresh timestamp; partners should refuse old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from casework.models import Organization, Webhook, WebhookDelivery
from casework.services.audit import audit_record
from detection import fetching
from detection.engine.errors import ReadableError
from detection.services import fetch_policy

SIGNATURE_HEADER = "X-Reclaim-Signature"
TIMESTAMP_HEADER = "X-Reclaim-Timestamp"
EVENT_HEADER = "X-Reclaim-Event"
FINDING_CONFIRMED = "finding.confirmed"
MAX_ATTEMPTS = 9  # the first try and Celery's eight retries
BACKOFF_BASE_S = 30  # 30 s, 1, 2, 4 min, then every backoff_max_s(): half an hour of a partner being down


def backoff_max_s() -> int:
    # A retry waits in the worker as an unacknowledged message: past the broker's visibility timeout
    # Redis would hand it to a second worker too (config.settings.BROKER_VISIBILITY_TIMEOUT_S).
    return settings.BROKER_VISIBILITY_TIMEOUT_S - settings.SCAN_GRACE_S


TIMEOUT_S = 10

WEBHOOK_URL_NOT_HTTP = gettext_lazy("A webhook URL must start with https:// or http://.")
WEBHOOK_REDIRECTED = gettext_lazy("The webhook answered with a redirect ({status}); give its final URL instead.")
WEBHOOK_UNREACHABLE = gettext_lazy("The webhook could not be reached: {error}.")


class WebhookError(ReadableError):
    pass


def webhook_create(*, organization: Organization, url: str, by=None) -> Webhook:
    if urlsplit(url).scheme not in ("http", "https"):
        raise WebhookError(WEBHOOK_URL_NOT_HTTP)
    with transaction.atomic():
        webhook = Webhook.objects.create(organization=organization, url=url, secret=secrets.token_urlsafe(32))
        audit_record(action="webhook.created", actor=by, organization=organization, target=webhook, data={"url": url})
    return webhook


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhooks_notify(*, organization: Organization, event: str, payload: dict) -> list[WebhookDelivery]:
    """Queue ``event`` for every active webhook of ``organization``; sent once the transaction commits."""
    from casework.tasks import webhook_delivery_send

    deliveries = [
        WebhookDelivery.objects.create(
            webhook=webhook, event=event, payload=json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
        )
        for webhook in Webhook.objects.filter(organization=organization, active=True)
    ]
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: webhook_delivery_send.delay(pk))
    return deliveries


@dataclass(frozen=True)
class AttemptOutcome:
    delivered: bool
    retry_in_s: int | None  # None: do not retry (delivered, or out of attempts)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect could point a signed POST at an address the guard never vetted.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(WEBHOOK_URL_NOT_HTTP)
    # The same guard as fetching: no private, loopback or link-local address unless
    # FETCH_ALLOWED_NETWORKS lets it through. (The host is resolved again to connect; a DNS answer that
    # changes in between is the residual risk, as with any resolver-based guard.)
    fetching.vet_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), fetch_policy())
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        raise WebhookError(WEBHOOK_UNREACHABLE.format(error=getattr(exc, "reason", exc))) from None


def webhook_delivery_attempt(*, delivery_id: int) -> AttemptOutcome:
    """Try one delivery once; record the attempt. Raises WebhookDelivery.DoesNotExist for a missing row."""
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if delivery.delivered_at is not None:  # a retried task after a success: nothing to do
        return AttemptOutcome(delivered=True, retry_in_s=None)
    body = json.dumps(
        {"event": delivery.event, "delivery": delivery.pk, "data": delivery.payload}, separators=(",", ":")
    ).encode()
    timestamp = str(int(timezone.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": settings.FETCH_USER_AGENT,
        EVENT_HEADER: delivery.event,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: webhook_signature(secret=delivery.webhook.secret, timestamp=timestamp, body=body),
    }
    status, error = None, ""
    try:
        status = _post(delivery.webhook.url, body, headers)
    except (WebhookError, fetching.FetchError) as exc:
        error = exc.reason
    attempts = delivery.attempts + 1
    now = timezone.now()
    delivered = status is not None and 200 <= status < 300
    if not delivered and status is not None and 300 <= status < 400:
        error = WEBHOOK_REDIRECTED.format(status=status)
    retry_in = None if delivered or attempts >= MAX_ATTEMPTS else min(BACKOFF_BASE_S * 2 ** (attempts - 1),
                                                                       backoff_max_s())
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts,
        last_status=status,
        last_error=error,
        delivered_at=now if delivered else None,
        next_attempt_at=now + timedelta(seconds=retry_in) if retry_in is not None else None,
    )
    return AttemptOutcome(delivered=delivered, retry_in_s=retry_in)
