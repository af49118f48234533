"""Pages of an organisation's hash feed, as StopNCII's FetchHashes answers them (casework.api.stopncii).

The feed is read in the order records changed, (modified_at, id), from ``startTimestamp`` (whole seconds,
inclusive). A page ends where the next begins: its ``nextPageToken`` carries that cursor, signed and bound
to the platform and its organisation, so it cannot be edited to start elsewhere or be replayed with
another organisation's keys; it expires after HASH_FEED_PAGE_TOKEN_MAX_AGE_S. No page counts or skips
rows, so the last page of a million records costs what the first does.

``nextSetTimestamp`` is what a client stores as its checkpoint and sends as ``startTimestamp`` next time
(python-threatexchange's StopNCIICheckpoint; HMA refuses a checkpoint that goes back). It never goes back:
at least ``startTimestamp``, at most the last record's time, and never later than SETTLE_S before now,
because a record is stamped when its transaction starts and becomes visible when it commits: a change
stamped a moment before a read but committed after it would be skipped by a checkpoint at the read's time.
Reading the last SETTLE_S again costs a few records; a platform replaces what it holds with what it reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.models import FeedCase, FeedPlatform, FeedRecord

DEFAULT_PAGE_SIZE = 800  # python-threatexchange's StopNCIIAPI.fetch_hashes default
MAX_PAGE_SIZE = 1000  # a larger pageSize is served as this many
# Longer than any transaction that changes the feed (a hash registration of MAX_HASHES lines, a withdrawal).
SETTLE_S = 60
_TOKEN_SALT = "casework.feed_pages.page_token"

TOKEN_INVALID = _("This nextPageToken is not valid: send it as the previous page gave it, with the same keys.")
TOKEN_EXPIRED = _("This nextPageToken has expired: fetch again from your last nextSetTimestamp.")
TOKEN_OTHER_START = _("This nextPageToken belongs to another startTimestamp: send the one you started with.")


class PageTokenError(ValueError):
    pass


@dataclass(frozen=True)
class FeedPage:
    records: list[dict]  # StopNCII's hashRecords
    has_more: bool
    next_token: str | None
    next_set_timestamp: int


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _microseconds(moment: dt.datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def page_token_make(*, platform: FeedPlatform, start_timestamp: int, modified_at: dt.datetime, record_id: int) -> str:
    """The token of the page that starts after the record (modified_at, record_id)."""
    return signing.dumps(
        {"o": platform.organization_id, "p": platform.pk, "s": start_timestamp,
         "m": _microseconds(modified_at), "i": record_id},
        salt=_TOKEN_SALT, compress=True,
    )


def page_token_read(token: str, *, platform: FeedPlatform, start_timestamp: int) -> tuple[dt.datetime, int]:
    """The (modified_at, id) the page starts after. A token made for another platform or organisation, or
    edited, fails its signature or its binding alike, with the same answer."""
    try:
        data = signing.loads(token, salt=_TOKEN_SALT, max_age=settings.HASH_FEED_PAGE_TOKEN_MAX_AGE_S)
    except signing.SignatureExpired:
        raise PageTokenError(TOKEN_EXPIRED) from None
    except signing.BadSignature:
        raise PageTokenError(TOKEN_INVALID) from None
    if not isinstance(data, dict) or data.get("o") != platform.organization_id or data.get("p") != platform.pk:
        raise PageTokenError(TOKEN_INVALID)
    if data.get("s") != start_timestamp:
        raise PageTokenError(TOKEN_OTHER_START)
    micros = data["m"]
    after = dt.datetime.fromtimestamp(micros // 1_000_000, dt.UTC).replace(microsecond=micros % 1_000_000)
    return after, data["i"]


_RECORD_FIELDS = ("id", "modified_at", "signal_type", "hash_value", "status", "feedbacks")


def record_as_stopncii(record: dict, case_numbers: dict[str, str]) -> dict:
    """One of StopNCII's hashRecords (python-threatexchange's StopNCIIHashRecord), from a record's
    _RECORD_FIELDS and its cases' {number: status}."""
    return {
        "lastModtimestamp": _epoch(record["modified_at"]),
        "signalType": record["signal_type"],
        "hashValue": record["hash_value"],
        "hashStatus": record["status"],
        "caseNumbers": case_numbers,
        "CSPFeedbacks": sorted(record["feedbacks"].values(), key=lambda f: (f["source"], f["feedbackValue"])),
    }


def feed_page(*, platform: FeedPlatform, start_timestamp: int, page_size: int = DEFAULT_PAGE_SIZE,
              token: str = "", now: dt.datetime | None = None) -> FeedPage:
    """One page of ``platform``'s organisation's feed: two queries, whatever the feed's size."""
    now = now or timezone.now()
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    start = max(0, start_timestamp)
    rows = FeedRecord.objects.filter(organization_id=platform.organization_id,
                                     modified_at__gte=dt.datetime.fromtimestamp(start, dt.UTC))
    if token:
        after, after_id = page_token_read(token, platform=platform, start_timestamp=start_timestamp)
        # The first condition alone is what the index range reads; the second is the exact cursor.
        rows = rows.filter(modified_at__gte=after).filter(
            Q(modified_at__gt=after) | Q(modified_at=after, id__gt=after_id))
    # Plain rows, not model instances: a page is 800 records and their cases, read by every platform.
    records = list(rows.order_by("modified_at", "id").values(*_RECORD_FIELDS)[:page_size + 1])
    has_more = len(records) > page_size
    records = records[:page_size]
    cases: dict[int, dict[str, str]] = {}
    for record_id, number, status in (FeedCase.objects.filter(record_id__in=[r["id"] for r in records])
                                      .order_by("pk").values_list("record_id", "number", "status")):
        cases.setdefault(record_id, {})[number] = status
    settled = _epoch(now) - SETTLE_S
    if has_more:
        last = records[-1]
        next_set = max(start, min(_epoch(last["modified_at"]), settled))
        next_token = page_token_make(platform=platform, start_timestamp=start_timestamp,
                                     modified_at=last["modified_at"], record_id=last["id"])
    else:
        next_set, next_token = max(start, settled), None
    return FeedPage(
        records=[record_as_stopncii(r, cases.get(r["id"], {})) for r in records],
        has_more=has_more,
        next_token=next_token,
        next_set_timestamp=next_set,
    )
