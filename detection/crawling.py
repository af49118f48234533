"""Crawling: follow a site's links from start URLs, capture the media its pages show, and scan them.

The frontier is the database (``CrawlPage``): one row per URL of a run, so a crawl survives its workers
and scales by adding them. Each row is one unit of work, claimed with a conditional update
(queued -> fetching), so two deliveries of the same message fetch it once; a claim older than
CRAWL_CLAIM_STALE_S is a worker that died and the sweeper queues the row again
(``crawl_pages_requeue_stuck``). Media are ingested as scans do (one capture per organisation, bytes and
place), so a page fetched twice adds no second media item and no second finding; where a capture was
seen is a ``MediaSighting``.

Rules a crawl keeps, whatever the worker:
- every request goes through the SSRF-guarded fetcher (``detection.fetching``) under the same policy as
  a scan, with redirects not followed by the fetcher: a redirect target is a new row, checked against
  the run's scope and robots.txt before it is fetched;
- robots.txt is fetched first for each host and obeyed for FETCH_USER_AGENT unless the watch's legal
  override says otherwise (RFC 9309: a missing file allows all, an unreachable one disallows all);
- one host gets at most ``per_host_rate`` requests a second across all workers (``host_slot_take``, in
  the shared cache), slower if its robots.txt asks for a Crawl-delay;
- pages and sitemaps are bounded by the run's depth and page budget, so an endless calendar ends.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from detection import fetching
from detection.engine import crawl as engine
from detection.engine.errors import ReadableError
from detection.models import CrawlPage, CrawlRun, Finding, MediaItem, MediaSighting, Watch
from detection.services import fetch_policy, media_ingest_fetched, media_scan_enqueue_if_stale

log = logging.getLogger(__name__)

# Reasons kept on a run or an address in English; the run's page translates the ones without placeholders.
NO_START_URL = gettext_noop("None of the start addresses is a web address that can be crawled (http or https).")
ROBOTS_DISALLOWED = "Not fetched: robots.txt of {host} disallows it for our user agent."
ROBOTS_UNREACHABLE = "robots.txt of {host} could not be read ({reason}); nothing on that host is fetched this run."
REDIRECTED = "Redirected to {url}."
NOT_MODIFIED = gettext_noop("Not modified since the last run (HTTP 304); what it linked to then is followed again.")
NOT_A_PAGE = "{url} is {content_type}: not a web page, an image or a video."
NOT_MEDIA = "{url} is {content_type}: not an image or a video."
NO_SITEMAP = "No sitemap at this address (HTTP {status})."
RUN_ENDED = gettext_noop("Not fetched: the run was cancelled or had ended.")
GAVE_UP = "Claimed {attempts} times and no worker finished it, so it was not tried again."

_FOLLOWED = {CrawlPage.Kind.PAGE, CrawlPage.Kind.SITEMAP}  # what the page budget counts
_OPEN = [CrawlPage.Status.QUEUED, CrawlPage.Status.FETCHING]


class CrawlStartError(ReadableError):
    """A crawl that cannot start (no usable start URL)."""


@dataclass(frozen=True)
class PageOutcome:
    # "done" (this call finished the row), "deferred" (put back in the queue: its host's robots.txt
    # is not read yet, or its next request slot is far), "skipped" (another worker has or had it).
    result: str
    countdown: float = 0.0


# --- Starting and ending runs ---------------------------------------------------------------------

def crawl_run_start(
    *, organization, start_urls: list[str], watch: Watch | None = None, patterns: list[str] | None = None,
    max_depth: int | None = None, max_pages: int | None = None, per_host_rate: float | None = None,
    respect_robots: bool | None = None, enqueue: bool = True,
) -> CrawlRun:
    """Create a run with its first frontier rows (robots.txt and /sitemap.xml of each start host, the
    start pages). With ``enqueue``, workers take it from there; ``crawl_run_work`` runs it in-process.

    A watch's settings are the defaults; the run keeps its own copy.
    """
    def pick(value, attribute, default):
        if value is not None:
            return value
        return getattr(watch, attribute) if watch is not None else default

    urls = list(dict.fromkeys(u for u in (engine.url_normalize(s.strip()) for s in start_urls if s.strip()) if u))
    if not urls:
        raise CrawlStartError(NO_START_URL)
    with transaction.atomic():
        run = CrawlRun.objects.create(
            watch=watch, organization=organization, status=CrawlRun.Status.RUNNING, started_at=timezone.now(),
            start_urls=urls, patterns=list(pick(patterns, "patterns", [])),
            max_depth=pick(max_depth, "max_depth", 4), max_pages=pick(max_pages, "max_pages", 500),
            per_host_rate=pick(per_host_rate, "per_host_rate", 1.0),
            respect_robots=pick(respect_robots, "respect_robots", True),
        )
        hosts = list(dict.fromkeys(engine.robots_url(u) for u in urls))
        rows = [_frontier_add(run, u, CrawlPage.Kind.ROBOTS, 0, "") for u in hosts]
        rows += [_frontier_add(run, u, CrawlPage.Kind.PAGE, 0, "") for u in urls]
        rows += [_frontier_add(run, engine.sitemap_url(u), CrawlPage.Kind.SITEMAP, 0, "") for u in hosts]
        if enqueue:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                # No broker (a laptop): tasks would run inside one another, so the run is worked here.
                transaction.on_commit(lambda: crawl_run_work(run_id=run.pk, scans=True))
            else:
                _enqueue([r for r in rows if r is not None])
    return run


def crawl_run_cancel(*, run: CrawlRun) -> CrawlRun:
    """Stop a run: its queued rows are skipped; a page being fetched now finishes."""
    now = timezone.now()
    with transaction.atomic():
        CrawlRun.objects.filter(pk=run.pk, status__in=[CrawlRun.Status.QUEUED, CrawlRun.Status.RUNNING]).update(
            status=CrawlRun.Status.CANCELLED, finished_at=now
        )
        run.pages.filter(status=CrawlPage.Status.QUEUED).update(status=CrawlPage.Status.SKIPPED, reason=RUN_ENDED)
    run.refresh_from_db()
    return run


def crawl_run_finish(*, run: CrawlRun) -> CrawlRun:
    """Mark a run done once its frontier is empty (idempotent), and count what it found."""
    if not run.pages.filter(status__in=_OPEN).exists():
        CrawlRun.objects.filter(pk=run.pk, status=CrawlRun.Status.RUNNING).update(
            status=CrawlRun.Status.DONE, finished_at=timezone.now()
        )
    return crawl_run_counts_refresh(run=run)


def crawl_run_counts_refresh(*, run: CrawlRun) -> CrawlRun:
    """Media scanned and findings of a run, counted from its sightings (scans end after the crawl)."""
    items = MediaItem.objects.filter(sightings__run=run).values("pk").distinct()
    CrawlRun.objects.filter(pk=run.pk).update(
        media_scanned=MediaItem.objects.filter(pk__in=items, status=MediaItem.Status.DONE).count(),
        findings=Finding.objects.filter(media_item__in=items).count(),
    )
    run.refresh_from_db()
    return run


def crawl_run_progress(*, run: CrawlRun) -> dict[str, int]:
    """Frontier rows of a run by status (every status present, zero when none): the progress view."""
    counts = dict.fromkeys(CrawlPage.Status.values, 0)
    for row in run.pages.values("status").order_by().annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts


def watches_crawl_due() -> list[int]:
    """Start a run of each scheduled, unpaused watch whose last run started a schedule ago or more and is
    not still running (beat, every minute). Returns the new runs' ids."""
    started = []
    now = timezone.now()
    for watch in Watch.objects.filter(paused=False, schedule_minutes__gt=0).select_related("organization"):
        last = watch.runs.order_by("-created_at").first()
        if last is not None and (
            last.status in (CrawlRun.Status.QUEUED, CrawlRun.Status.RUNNING)
            or last.created_at > now - timedelta(minutes=watch.schedule_minutes)
        ):
            continue
        try:
            run = crawl_run_start(watch=watch, organization=watch.organization, start_urls=watch.start_urls)
        except CrawlStartError as exc:
            log.warning("watch %s not crawled: %s", watch.pk, exc.reason)
            continue
        started.append(run.pk)
    return started


# --- The frontier ---------------------------------------------------------------------------------

def _frontier_add(run: CrawlRun, url: str, kind: str, depth: int, discovered_from: str) -> CrawlPage | None:
    """Add ``url`` to the run's frontier; None when it is there already or the page budget is spent."""
    if run.pages.filter(url=url).exists():
        return None
    # The budget is reserved before the row exists, by a conditional update: concurrent workers adding
    # the last free pages cannot both take it.
    if kind in _FOLLOWED and not CrawlRun.objects.filter(pk=run.pk, pages_queued__lt=run.max_pages).update(
        pages_queued=F("pages_queued") + 1
    ):
        return None
    try:
        with transaction.atomic():
            return CrawlPage.objects.create(run=run, url=url, kind=kind, depth=depth, discovered_from=discovered_from)
    except IntegrityError:  # another worker added it meanwhile
        if kind in _FOLLOWED:
            CrawlRun.objects.filter(pk=run.pk).update(pages_queued=F("pages_queued") - 1)
        return None


def _enqueue(rows: list[CrawlPage]) -> None:
    from detection.tasks import crawl_page

    ids = [r.pk for r in rows]
    transaction.on_commit(lambda: [crawl_page.delay(pk) for pk in ids])


def _claim(page_id: int) -> bool:
    return bool(CrawlPage.objects.filter(pk=page_id, status=CrawlPage.Status.QUEUED).update(
        status=CrawlPage.Status.FETCHING, claimed_at=timezone.now(), attempts=F("attempts") + 1
    ))


def _release(page: CrawlPage) -> None:
    # Not a failed attempt: the row waited for its host, so the claim does not count.
    CrawlPage.objects.filter(pk=page.pk, status=CrawlPage.Status.FETCHING).update(
        status=CrawlPage.Status.QUEUED, claimed_at=None, attempts=F("attempts") - 1, queued_at=timezone.now()
    )


def _end(page: CrawlPage, status: str, **fields) -> bool:
    """Finish a claimed row; False when the claim was lost (swept as stale and taken by another)."""
    return bool(CrawlPage.objects.filter(pk=page.pk, status=CrawlPage.Status.FETCHING, claimed_at=page.claimed_at)
                .update(status=status, fetched_at=timezone.now(), **fields))


def _run_count(run: CrawlRun, error: str = "", **increments) -> None:
    fields = {name: F(name) + n for name, n in increments.items()}
    if error:
        fields.update(errors=F("errors") + 1, last_error=error[:2000])
    CrawlRun.objects.filter(pk=run.pk).update(**fields)


# --- The per-host rate, shared by all workers ------------------------------------------------------

def host_slot_take(*, host: str, rate: float, max_wait: float) -> float | None:
    """Reserve the next free request slot of ``host``: slot k starts at k / rate seconds of the epoch,
    and ``cache.add`` gives each slot to one caller only, in every process sharing the cache (Redis in
    production), so two requests to a host start at least 1 / rate apart. Returns how long to wait for
    the slot, or None when no slot is free within ``max_wait`` (at least one interval is searched).

    Workers on several machines need their clocks in step (NTP), as the slots are wall-clock times.
    """
    # 5% above the bare interval: the slot is when a request starts, and the server sees it a few
    # milliseconds later, unevenly (measured: up to 12 ms), which would otherwise put rate + 1 requests
    # into some one-second window of its log.
    interval = 1.05 / rate
    now = time.time()
    first = math.ceil(now / interval)
    last = max(first, math.floor((now + max_wait) / interval))
    # Keys are per rate too: runs at different rates for one host keep their own slots.
    for slot in range(first, last + 1):
        if cache.add(f"crawl-slot:{host}:{interval:.6f}:{slot}", 1, timeout=int(max_wait + interval) + 60):
            return max(0.0, slot * interval - time.time())
    return None


# --- robots.txt -----------------------------------------------------------------------------------

_robots_memo: dict[tuple[int, str], engine.RobotsRules] = {}


def _robots_for(run: CrawlRun, url: str) -> engine.RobotsRules | None:
    """The run's rules for the host of ``url``; None while its robots.txt row is not done. A host first
    seen on a link gets its robots.txt row now (it is fetched before anything else on that host)."""
    robots = engine.robots_url(url)
    key = (run.pk, robots)
    if key in _robots_memo:
        return _robots_memo[key]
    row = run.pages.filter(url=robots).first()
    if row is None:
        row = _frontier_add(run, robots, CrawlPage.Kind.ROBOTS, 0, url)
        return None
    if row.status != CrawlPage.Status.DONE:
        return None
    body = (row.links or {}).get("robots", "")
    rules = engine.RobotsRules.from_response(row.http_status, body.encode(), settings.FETCH_USER_AGENT)
    if len(_robots_memo) > 1000:
        _robots_memo.clear()
    _robots_memo[key] = rules
    return rules


# --- One frontier row -----------------------------------------------------------------------------

def crawl_page_process(*, page_id: int, enqueue: bool = False) -> PageOutcome:
    """Fetch one frontier row and act on what it is. Safe to call twice or from many workers: only the
    call that claims the row (queued -> fetching) works on it. With ``enqueue``, new rows and scans are
    queued as tasks (a Celery worker); without, the caller works the frontier (``crawl_run_work``)."""
    if not _claim(page_id):
        return PageOutcome("skipped")
    page = CrawlPage.objects.select_related("run").get(pk=page_id)
    run = page.run
    if run.status != CrawlRun.Status.RUNNING:
        _end(page, CrawlPage.Status.SKIPPED, reason=RUN_ENDED)
        return PageOutcome("done")
    host = engine.url_host(page.url)
    rate = run.per_host_rate
    if page.kind != CrawlPage.Kind.ROBOTS:
        rules = _robots_for(run, page.url)
        if rules is None:
            _release(page)
            if enqueue:
                robots = run.pages.filter(url=engine.robots_url(page.url), status=CrawlPage.Status.QUEUED).first()
                if robots is not None:
                    _enqueue([robots])
            return PageOutcome("deferred", countdown=1.0)
        if run.respect_robots and not rules.allowed(page.url):
            _end(page, CrawlPage.Status.SKIPPED, reason=ROBOTS_DISALLOWED.format(host=host))
            return _after(run)
        if rules.crawl_delay:
            rate = min(rate, 1.0 / rules.crawl_delay)
    wait = host_slot_take(host=host, rate=rate, max_wait=settings.CRAWL_RATE_WAIT_S)
    if wait is None:
        _release(page)
        return PageOutcome("deferred", countdown=1.0 / rate)
    time.sleep(wait)
    previous = _previous(run, page) if page.kind in (CrawlPage.Kind.PAGE, CrawlPage.Kind.MEDIA) else None
    headers = {}
    if previous is not None and previous.etag:
        headers["If-None-Match"] = previous.etag
    if previous is not None and previous.last_modified:
        headers["If-Modified-Since"] = previous.last_modified
    policy = fetch_policy()
    try:
        fetched = fetching.fetch(page.url, replace(policy, max_redirects=0), headers or None)
    except fetching.FetchError as exc:
        new = _fetch_failed(run, page, exc, previous, enqueue)
    else:
        new = _fetched(run, page, fetched, policy, enqueue)
    if enqueue and new:
        _enqueue(new)
    return _after(run)


def _after(run: CrawlRun) -> PageOutcome:
    if not run.pages.filter(status__in=_OPEN).exists():
        crawl_run_finish(run=run)
    return PageOutcome("done")


def _previous(run: CrawlRun, page: CrawlPage) -> CrawlPage | None:
    """The same URL's row in an earlier run of the same watch (or, for the CLI, the organisation's runs
    without a watch), fetched with a validator: a 304 then reuses what it found."""
    earlier = CrawlPage.objects.filter(
        url=page.url, run__watch_id=run.watch_id, run__organization_id=run.organization_id,
        status=CrawlPage.Status.DONE, http_status=200,
    ).exclude(run_id=run.pk).exclude(etag="", last_modified="")
    return earlier.order_by("-fetched_at").first()


def _fetch_failed(
    run: CrawlRun, page: CrawlPage, exc: fetching.FetchError, previous: CrawlPage | None, enqueue: bool
) -> list:
    host = engine.url_host(page.url)
    if exc.status == 304 and previous is not None:
        if page.kind == CrawlPage.Kind.MEDIA and previous.media_item_id:
            if _end(page, CrawlPage.Status.DONE, http_status=304, reason=NOT_MODIFIED, etag=previous.etag,
                    last_modified=previous.last_modified, media_item_id=previous.media_item_id):
                return _media_seen(run, page, previous.media_item, enqueue_scan=enqueue)
            return []
        if not _links_store(page, previous.links):
            return []
        rows = _links_follow(run, page, previous.links)
        if _end(page, CrawlPage.Status.DONE, http_status=304, reason=NOT_MODIFIED, etag=previous.etag,
                last_modified=previous.last_modified):
            _run_count(run, pages_fetched=1)
        return rows
    if exc.location and exc.status in fetching.REDIRECT_STATUSES:
        target = engine.url_normalize(exc.location, page.url)
        row = None
        if target is not None and (page.kind == CrawlPage.Kind.MEDIA or _in_scope(run, target)):
            row = _frontier_add(run, target, page.kind, page.depth, page.discovered_from or page.url)
        _end(page, CrawlPage.Status.DONE, http_status=exc.status, reason=REDIRECTED.format(url=target or exc.location))
        return [row] if row is not None else []
    if page.kind == CrawlPage.Kind.ROBOTS:
        # Recorded as done: its status (None when unreachable) is what the rules are read from.
        if _end(page, CrawlPage.Status.DONE, http_status=exc.status, reason=exc.reason, links={"robots": ""}):
            rules = engine.RobotsRules.from_response(exc.status, b"", settings.FETCH_USER_AGENT)
            if not rules.allowed(engine.sitemap_url(page.url)):
                _run_count(run, error=ROBOTS_UNREACHABLE.format(host=host, reason=exc.reason))
        return []
    if page.kind == CrawlPage.Kind.SITEMAP and exc.status is not None and 400 <= exc.status < 500:
        _end(page, CrawlPage.Status.SKIPPED, http_status=exc.status, reason=NO_SITEMAP.format(status=exc.status))
        return []
    if _end(page, CrawlPage.Status.FAILED, http_status=exc.status, reason=exc.reason):
        _run_count(run, error=exc.reason, **({"pages_failed": 1} if page.kind == CrawlPage.Kind.PAGE else {}))
    return []


def _validators(fetched: fetching.Fetched) -> dict:
    return {"etag": fetched.headers.get("etag", "")[:500], "last_modified": fetched.headers.get("last-modified", "")[:100]}


def _fetched(run: CrawlRun, page: CrawlPage, fetched: fetching.Fetched, policy, enqueue: bool) -> list:
    done = {"http_status": fetched.status, **_validators(fetched)}
    if page.kind == CrawlPage.Kind.ROBOTS:
        text = fetched.data[: engine.MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        rules = engine.RobotsRules.from_response(fetched.status, fetched.data, settings.FETCH_USER_AGENT)
        rows = [_frontier_add(run, u, CrawlPage.Kind.SITEMAP, 0, page.url)
                for u in (engine.url_normalize(s) for s in rules.sitemaps) if u]
        _end(page, CrawlPage.Status.DONE, links={"robots": text}, **done)
        return [r for r in rows if r is not None]
    if page.kind == CrawlPage.Kind.SITEMAP:
        try:
            sitemap = engine.sitemap_parse(fetched.data)
        except engine.SitemapError as exc:
            if _end(page, CrawlPage.Status.FAILED, reason=exc.reason, **done):
                _run_count(run, error=exc.reason)
            return []
        rows = [_frontier_add(run, u, CrawlPage.Kind.SITEMAP, page.depth, page.url)
                for u in (engine.url_normalize(s) for s in sitemap.sitemaps) if u and page.depth < run.max_depth]
        # A sitemap's pages are one link from the start: the site lists them itself.
        rows += [_frontier_add(run, u, CrawlPage.Kind.PAGE, 1, page.url)
                 for u in (engine.url_normalize(s) for s in sitemap.urls) if u and _in_scope(run, u)]
        _end(page, CrawlPage.Status.DONE, **done)
        return [r for r in rows if r is not None]
    if fetched.kind in (fetching.IMAGE, fetching.VIDEO):
        # A media row, or a page link that was a file (the full-size image behind a thumbnail).
        item = media_ingest_fetched(fetched, source=MediaItem.Source.CRAWL, page_url=page.discovered_from,
                                     organization_id=run.organization_id)
        if not _end(page, CrawlPage.Status.DONE, media_item=item, **done):
            return []
        return _media_seen(run, page, item, enqueue_scan=enqueue)
    if page.kind == CrawlPage.Kind.MEDIA or fetched.kind != fetching.HTML:
        message = (NOT_MEDIA if page.kind == CrawlPage.Kind.MEDIA else NOT_A_PAGE).format(
            url=fetched.final_url, content_type=fetched.content_type)
        _end(page, CrawlPage.Status.SKIPPED, reason=message, **done)
        return []
    links = engine.links_extract(fetched.final_url, fetched.data)
    found = {"pages": links.pages, "media": links.media[: policy.max_media_per_page]}
    if not _links_store(page, found):
        return []
    rows = _links_follow(run, page, found)
    if _end(page, CrawlPage.Status.DONE, **done):
        _run_count(run, pages_fetched=1)
    return rows


def _links_store(page: CrawlPage, links: dict) -> bool:
    """Keep a page's links before following them, while its row is still claimed. Before: a media worker
    ending meanwhile finds this page among those that link its file (``_media_seen``). Claimed: the run
    is not finished by another worker seeing no open row while this one's links are being queued."""
    return bool(CrawlPage.objects.filter(pk=page.pk, status=CrawlPage.Status.FETCHING, claimed_at=page.claimed_at)
                .update(links=links))


def _in_scope(run: CrawlRun, url: str) -> bool:
    return engine.Scope(run.start_urls, run.patterns, run.max_depth).allows(url)


def _links_follow(run: CrawlRun, page: CrawlPage, links: dict) -> list[CrawlPage]:
    rows = []
    if page.depth < run.max_depth:
        scope = engine.Scope(run.start_urls, run.patterns, run.max_depth)
        rows += [_frontier_add(run, u, CrawlPage.Kind.PAGE, page.depth + 1, page.url)
                 for u in links.get("pages", []) if scope.allows(u)]
    # Media shown on a page at the last depth are still taken: depth limits the pages followed.
    for url in links.get("media", []):
        row = _frontier_add(run, url, CrawlPage.Kind.MEDIA, page.depth + 1, page.url)
        if row is not None:
            rows.append(row)
            continue
        # Linked from an earlier page too: if its capture is known, this page is another sighting.
        known = run.pages.filter(url=url, status=CrawlPage.Status.DONE, media_item__isnull=False).first()
        if known is not None:
            _sighting_add(run, known.media_item_id, page.url, url)
    return [r for r in rows if r is not None]


def _sighting_add(run: CrawlRun, media_item_id: int, page_url: str, media_url: str) -> bool:
    try:
        with transaction.atomic():
            _, created = MediaSighting.objects.get_or_create(
                media_item_id=media_item_id, run=run, page_url=page_url[:2000], media_url=media_url[:2000]
            )
    except IntegrityError:
        return False
    return created


def _media_seen(run: CrawlRun, page: CrawlPage, item: MediaItem, *, enqueue_scan: bool) -> list:
    """Record where a capture was seen: the page that linked it, and every other page of the run that
    linked it before it was fetched (they saw the row queued and could not name the item yet)."""
    pages = {page.discovered_from} if page.discovered_from else set()
    needle = f'"{page.url}"'
    for other in run.pages.filter(kind=CrawlPage.Kind.PAGE, links__icontains=needle).only("url", "links"):
        if page.url in (other.links or {}).get("media", []):
            pages.add(other.url)
    new = sum(_sighting_add(run, item.pk, p, page.url) for p in pages or {""})
    if new:
        _run_count(run, media_found=1)
    if item.status == MediaItem.Status.FAILED and item.failure_reason:
        _run_count(run, error=item.failure_reason)
    if enqueue_scan:
        media_scan_enqueue_if_stale(item)
    return []


# --- Working a run in one process (the CLI, a laptop without a broker, tests) -----------------------

def crawl_run_work(*, run_id: int, scans: bool = False, progress=None) -> CrawlRun:
    """Work the run's frontier here until it is empty, beside any other workers (claims keep each row to
    one); with ``scans``, queue each capture's scan at the end. ``progress(run)`` is called per row."""
    run = CrawlRun.objects.get(pk=run_id)
    while True:
        crawl_pages_requeue_stuck(run=run)
        # Robots first, then shallow before deep: the site's shape decides the order, not the links' luck.
        kind_order = {CrawlPage.Kind.ROBOTS: 0, CrawlPage.Kind.SITEMAP: 1}
        queued = list(run.pages.filter(status=CrawlPage.Status.QUEUED).order_by("depth", "pk")
                      .values_list("pk", "kind")[:200])
        if not queued:
            if not run.pages.filter(status=CrawlPage.Status.FETCHING).exists():
                break
            time.sleep(0.05)  # another worker is fetching; its new rows come when it ends
            continue
        queued.sort(key=lambda row: kind_order.get(row[1], 2))
        deferred = 0
        for pk, _kind in queued:
            outcome = crawl_page_process(page_id=pk)
            deferred += outcome.result == "deferred"
            if progress is not None:
                progress(run)
        if deferred == len(queued):
            time.sleep(0.05)
        run.refresh_from_db()
        if run.status != CrawlRun.Status.RUNNING:
            break
    run = crawl_run_finish(run=run)
    if scans:
        for item in MediaItem.objects.filter(sightings__run=run, status=MediaItem.Status.RECEIVED).distinct():
            media_scan_enqueue_if_stale(item)
    return run


# --- Lost claims ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CrawlSweepSummary:
    requeued: list[int]
    failed: list[int]


def crawl_pages_requeue_stuck(*, run: CrawlRun | None = None) -> CrawlSweepSummary:
    """Queue again each row whose worker died mid-fetch (claimed longer ago than CRAWL_CLAIM_STALE_S);
    fail those claimed CRAWL_MAX_ATTEMPTS times. Rows queued long ago whose message was lost are sent
    again (only from beat, ``run`` None). Safe beside live workers: each change is conditional."""
    now = timezone.now()
    stale = Q(status=CrawlPage.Status.FETCHING, claimed_at__lt=now - timedelta(seconds=settings.CRAWL_CLAIM_STALE_S))
    rows = CrawlPage.objects.filter(stale, run__status=CrawlRun.Status.RUNNING)
    if run is not None:
        rows = rows.filter(run=run)
    requeued, failed = [], []
    for pk, attempts, run_id in rows.order_by("pk").values_list("pk", "attempts", "run_id")[:500]:
        if attempts >= settings.CRAWL_MAX_ATTEMPTS:
            reason = GAVE_UP.format(attempts=attempts)
            if CrawlPage.objects.filter(stale, pk=pk).update(status=CrawlPage.Status.FAILED, reason=reason,
                                                               fetched_at=now):
                CrawlRun.objects.filter(pk=run_id).update(errors=F("errors") + 1, last_error=reason)
                failed.append(pk)
        elif CrawlPage.objects.filter(stale, pk=pk).update(status=CrawlPage.Status.QUEUED, claimed_at=None,
                                                            queued_at=now):
            requeued.append(pk)
    if run is None:
        lost = CrawlPage.objects.filter(
            status=CrawlPage.Status.QUEUED, run__status=CrawlRun.Status.RUNNING,
            queued_at__lt=now - timedelta(seconds=settings.SCAN_QUEUED_STALE_S),
        ).values_list("pk", flat=True)[:500]
        for pk in lost:
            if CrawlPage.objects.filter(pk=pk, status=CrawlPage.Status.QUEUED).update(queued_at=now):
                requeued.append(pk)
        if requeued:
            _enqueue([CrawlPage(pk=pk) for pk in requeued])
        for done in CrawlRun.objects.filter(status=CrawlRun.Status.RUNNING).exclude(
                pages__status__in=_OPEN).values_list("pk", flat=True)[:100]:
            crawl_run_finish(run=CrawlRun.objects.get(pk=done))
    if requeued or failed:
        log.warning("crawl sweep: re-queued %d lost rows %s, failed %d %s", len(requeued), requeued, len(failed), failed)
    return CrawlSweepSummary(requeued=requeued, failed=failed)
