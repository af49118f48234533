"""How fast a platform pages through a large hash feed (``manage.py bench --feed``, issue 14).

An organisation's feed of ``records`` hashes (default 1,000,000) is built once per database, beside a second
organisation's tenth as many whose rows interleave with it in the same index: PDQ and video MD5 records
changed over two years, one case each, a few withdrawn or deleted, some with a platform's feedback. A new
platform is admitted for the run and pages through the whole feed from the start as python-threatexchange
does (startTimestamp 10, pageSize 800, each nextPageToken in turn), through Django's full stack (middleware,
the keys, the throttle, JSON), each page timed. Its keys are revoked at the end.

The throttle is lifted for the run (a real platform at the default API_READ_RATE of 600 a minute needs
about 2 minutes for 1,250 pages); everything else is as served.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from casework.models import FeedCase, FeedPlatform, FeedRecord, Organization
from casework.services.feed_platforms import feed_platform_admit, feed_platform_revoke

BATCH = 5_000
HISTORY_DAYS = 730
OTHER_SHARE = 0.1
GONE_SHARE = 0.03  # withdrawn or deleted: tombstones inside the 90 days platforms read them
FEEDBACK_SHARE = 0.02
Status = FeedRecord.Status
FETCH = "/api/stopncii/v1/FetchHashes"


@dataclass
class FeedBench:
    records: int
    pages: int = 0
    page_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    queries_per_page: int = 0
    first_pages_ms: float = 0.0
    last_pages_ms: float = 0.0

    def p(self, q: int) -> float:
        return statistics.quantiles(self.page_ms, n=100, method="inclusive")[q - 1]


def bench_slug(records: int) -> str:
    return f"feedbench-{records}"


def feed_build(*, slug: str, name: str, records: int, seed: int, stdout=None) -> Organization:
    """``records`` feed records of a new organisation, bulk-inserted as hash_feed_subject_sync leaves them."""
    rng = random.Random(seed)
    organization = Organization.objects.create(name=name, slug=slug)
    now = timezone.now()
    first = now - dt.timedelta(days=HISTORY_DAYS)
    span_us = HISTORY_DAYS * 86_400 * 1_000_000
    # Ascending change times, as a feed grows (the order does not matter to the index, the spread does).
    moments = sorted(rng.randrange(span_us) for _ in range(records))
    started = time.monotonic()
    for offset in range(0, records, BATCH):
        chunk = moments[offset:offset + BATCH]
        rows = []
        for n, us in enumerate(chunk, start=offset):
            video = rng.random() < 0.1
            gone = rng.random() < GONE_SHARE
            feedbacks = {}
            if rng.random() < FEEDBACK_SHARE:
                feedbacks = {"0": {"source": "ExamplePlatform", "feedbackValue": "Blocked", "tags": []}}
            rows.append(FeedRecord(
                organization=organization,
                signal_type=FeedRecord.SignalType.VIDEO_MD5 if video else FeedRecord.SignalType.IMAGE_PDQ,
                hash_value=f"{seed:04x}{n:028x}" if video else f"{seed:04x}{n:060x}",
                status=rng.choice(Status.values[1:]) if gone else Status.ACTIVE,
                modified_at=first + dt.timedelta(microseconds=us), feedbacks=feedbacks,
            ))
        with transaction.atomic():
            made = FeedRecord.objects.bulk_create(rows)
            FeedCase.objects.bulk_create([
                FeedCase(record=record, number=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                         status=record.status, changed_at=record.modified_at)
                for record in made
            ])
        if stdout is not None and (offset // BATCH) % 40 == 39:
            stdout.write(f"  {slug}: {offset + len(chunk):,} of {records:,} records "
                         f"({time.monotonic() - started:.0f} s)")
    return organization


def feed_bench(organization: Organization, *, page_size: int = 800, start: int = 10) -> FeedBench:
    admitted = feed_platform_admit(organization=organization, name=f"Benchmark {timezone.now():%Y-%m-%d %H:%M:%S.%f}",
                                   by=None)
    headers = {"x-functions-key": admitted.function_key, "Ocp-Apim-Subscription-Key": admitted.subscription_key}
    client = Client()
    result = FeedBench(records=FeedRecord.objects.filter(organization=organization).count())
    rates = {"api_read": "1000000/minute", "api_write": "1000000/minute"}
    try:
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
                               REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
            first = {"startTimestamp": start, "pageSize": page_size}
            client.get(FETCH, first, headers=headers, secure=True)  # warm: the connection, the caches
            with CaptureQueriesContext(connection) as captured:
                client.get(FETCH, first, headers=headers, secure=True)
            result.queries_per_page = len(captured.captured_queries)
            token, seen = "", 0
            began = time.perf_counter()
            while True:
                params = {**first, **({"nextPageToken": token} if token else {})}
                t0 = time.perf_counter()
                response = client.get(FETCH, params, headers=headers, secure=True)
                result.page_ms.append(1000 * (time.perf_counter() - t0))
                assert response.status_code == 200, response.content[:500]
                page = response.json()
                seen += page["count"]
                result.pages += 1
                if not page["hasMoreRecords"]:
                    break
                token = page["nextPageToken"]
            result.seconds = time.perf_counter() - began
        if seen != result.records:
            raise AssertionError(f"paged through {seen:,} records of {result.records:,}")
    finally:
        feed_platform_revoke(platform=FeedPlatform.objects.get(pk=admitted.platform.pk), by=None)
    head, tail = result.page_ms[:10], result.page_ms[-10:]
    result.first_pages_ms, result.last_pages_ms = statistics.median(head), statistics.median(tail)
    return result



def page_query_explain(organization: Organization, *, page_size: int) -> str:
    """The plan of the records query of a page in the middle of the feed, as casework.feed_pages runs it."""
    ordered = FeedRecord.objects.filter(organization=organization).order_by("modified_at", "id")
    after, after_id = ordered.values_list("modified_at", "id")[ordered.count() // 2]
    rows = (ordered.filter(modified_at__gte=dt.datetime.fromtimestamp(10, dt.UTC)).filter(modified_at__gte=after)
            .filter(Q(modified_at__gt=after) | Q(modified_at=after, id__gt=after_id)))[:page_size + 1]
    options = {"analyze": True, "buffers": True} if connection.vendor == "postgresql" else {}
    return rows.explain(**options)


def last_page_against_offset(organization: Organization, *, page_size: int, runs: int = 5) -> tuple[float, float]:
    """The records query of the feed's last page, median ms: as casework.feed_pages reads it (from the cursor
    the previous page's token carries) and, the baseline, as an OFFSET page would (counting past every row)."""
    since = dt.datetime.fromtimestamp(10, dt.UTC)
    ordered = FeedRecord.objects.filter(organization=organization, modified_at__gte=since).order_by("modified_at", "id")
    total = ordered.count()
    offset = max(0, total - page_size)
    after, after_id = ordered.values_list("modified_at", "id")[max(0, offset - 1)]
    by_cursor = ordered.filter(modified_at__gte=after).filter(
        Q(modified_at__gt=after) | Q(modified_at=after, id__gt=after_id)).values_list("id", flat=True)
    timings = {"cursor": [], "offset": []}
    for _ in range(runs):
        for name, rows in (("cursor", by_cursor[:page_size + 1]),
                           ("offset", ordered.values_list("id", flat=True)[offset:offset + page_size + 1])):
            started = time.perf_counter()
            list(rows)
            timings[name].append(1000 * (time.perf_counter() - started))
    return statistics.median(timings["cursor"]), statistics.median(timings["offset"])
