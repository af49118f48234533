"""Per-address limits on the public forms, counted in the shared cache (settings, "Shared cache").

Each public POST costs something before anyone is known: a password hash (~0.2 s of CPU) for a report
or a PIN, an e-mail for a portal sign-in link. The limit is checked before that work, so a flood from
one address is answered at the price of one cache increment. Counting is a fixed window: the first
hit opens it, ``add`` then ``incr`` make every hit count once across all web workers.
"""

from __future__ import annotations

import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy

from config.middleware import refusal_response

TOO_MANY_POSTS = gettext_lazy(
    "This form was sent many times from your connection in a short while, so we paused it to keep the "
    "service working for everyone. Please wait {seconds} seconds, then send it again."
)
_PERIODS = {"s": 1, "m": 60, "h": 3600}


def client_address(request) -> str:
    """The address a request came from: REMOTE_ADDR, or behind a TLS proxy the hop that proxy added.

    Only the last X-Forwarded-For hop: everything before it was written by the client and proves nothing.
    """
    if settings.BEHIND_TLS_PROXY:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR") or ""


def rate_parse(rate: str) -> tuple[int, int]:
    """``"10/minute"`` as (10, 60): requests allowed and the window in seconds."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period[:1]]


def rate_limit_hit(*, key: str, limit: int, window_s: int) -> bool:
    """Count one hit on ``key``; True when it is over ``limit`` hits in the current window.

    The window's start is part of the cache key, so the count is right even on a cache whose
    increment resets the expiry (the database cache's does).
    """
    bucket = int(time.time() // window_s)
    cache_key = f"ratelimit:{key}:{bucket}"
    cache.add(cache_key, 0, timeout=window_s + 1)
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: this hit opens the next window
        cache.set(cache_key, 1, timeout=window_s + 1)
        hits = 1
    return hits > limit


def window_left_s(window_s: int) -> int:
    """Seconds until the current window closes (for Retry-After)."""
    return max(1, int(window_s - time.time() % window_s))


def public_post_limited(form: str):
    """Refuse a POST to this public form with 429 once its address is over ``PUBLIC_POST_RATE``."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "POST":
                limit, window_s = rate_parse(settings.PUBLIC_POST_RATE)
                if rate_limit_hit(key=f"public:{form}:{client_address(request)}", limit=limit, window_s=window_s):
                    wait_s = window_left_s(window_s)
                    message = TOO_MANY_POSTS.format(seconds=wait_s)
                    response = refusal_response(request, status=429, message=message, template="429.html")
                    response["Retry-After"] = str(wait_s)
                    response["Cache-Control"] = "private, no-store"
                    return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
