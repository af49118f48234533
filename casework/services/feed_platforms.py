"""Platforms admitted to an organisation's hash feed, and their two keys.

StopNCII's API takes two keys on every request: ``x-functions-key`` (the endpoint's function key) and
``Ocp-Apim-Subscription-Key`` (the subscriber's). python-threatexchange and HMA send both, so a platform
gets both here: made once, shown once, kept only as SHA-256 (like API tokens, casework.services.api_tokens),
revoked by an organisation admin. The one function key works for FetchHashes and SubmitFeedback.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.models import FeedPlatform, Organization
from casework.services.api_tokens import api_token_digest
from casework.services.audit import audit_record
from detection.engine.errors import ReadableError

FUNCTION_KEY_PREFIX = "rfk_"
SUBSCRIPTION_KEY_PREFIX = "rsk_"
NAME_NEEDED = _("Name the platform as it is known, for example “ExamplePlatform”.")
NAME_TAKEN = _("A platform named “{name}” is already admitted to this feed; revoke it first to issue new keys.")


class FeedPlatformError(ReadableError):
    pass


@dataclass(frozen=True)
class AdmittedPlatform:
    platform: FeedPlatform
    function_key: str  # x-functions-key; shown once, only its SHA-256 is stored
    subscription_key: str  # Ocp-Apim-Subscription-Key; likewise


def feed_platform_admit(*, organization: Organization, name: str, by) -> AdmittedPlatform:
    """Admit ``name`` to ``organization``'s feed with two new keys, which the caller shows once."""
    name = " ".join(name.split())
    if not name:
        raise FeedPlatformError(NAME_NEEDED)
    # URL-safe characters only: python-threatexchange reads "function_key,subscription_key[,base_url]".
    function_key = FUNCTION_KEY_PREFIX + secrets.token_urlsafe(32)
    subscription_key = SUBSCRIPTION_KEY_PREFIX + secrets.token_urlsafe(24)
    try:
        with transaction.atomic():
            platform = FeedPlatform.objects.create(
                organization=organization, name=name, created_by=by,
                function_key_sha256=api_token_digest(function_key),
                subscription_key_sha256=api_token_digest(subscription_key),
                key_prefix=subscription_key[:12],
            )
            audit_record(action="feed_platform.admitted", actor=by, organization=organization, target=platform,
                         data={"name": name, "key_prefix": platform.key_prefix})
    except IntegrityError:  # the live name is taken (the constraint decides, so two admins at once get one)
        raise FeedPlatformError(NAME_TAKEN.format(name=name)) from None
    return AdmittedPlatform(platform, function_key, subscription_key)


def feed_platform_revoke(*, platform: FeedPlatform, by) -> FeedPlatform:
    """Its keys stop working at once. Its feedback stays, counted under its name."""
    with transaction.atomic():
        # Conditional update: revoking twice records one event.
        changed = FeedPlatform.objects.filter(pk=platform.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=by)
        if changed:
            audit_record(action="feed_platform.revoked", actor=by, organization=platform.organization,
                         target=platform, data={"name": platform.name, "key_prefix": platform.key_prefix})
    platform.refresh_from_db()
    return platform


def feed_platform_authenticate(*, function_key: str, subscription_key: str) -> FeedPlatform | None:
    """The live platform holding both keys, or None. Both must be right: the subscription key finds the
    platform, and the function key is compared in constant time."""
    if not function_key or not subscription_key:
        return None
    platform = (
        FeedPlatform.objects.select_related("organization")
        .filter(subscription_key_sha256=api_token_digest(subscription_key), revoked_at__isnull=True)
        .first()
    )
    if platform is None or not hmac.compare_digest(platform.function_key_sha256, api_token_digest(function_key)):
        return None
    return platform


FETCH_NOTED_EVERY = dt.timedelta(minutes=1)


def feed_platform_fetched(*, platform: FeedPlatform) -> None:
    """Note when the platform last read its feed (shown to staff; not audited: not a state change). To the
    minute: a platform paging through a large feed does not write a row per page."""
    now = timezone.now()
    if platform.last_fetched_at is None or now - platform.last_fetched_at >= FETCH_NOTED_EVERY:
        FeedPlatform.objects.filter(pk=platform.pk).update(last_fetched_at=now)
        platform.last_fetched_at = now
