"""A crawl on real Celery workers (issue 12, "Distributed"; its Done-when lines on the rate and a killed
worker).

A prefork worker with two pool children and a beat run as subprocesses on the real broker and the test
database; the crawl is started as the desk and beat start one (``crawl_run_start`` with enqueue: its rows
are tasks on Redis). The test site is served in this process and logs every request with its time.

1. Two workers crawl the site at 5 requests a second: every allowed planted photo becomes a finding,
   nothing behind robots.txt's Disallow is requested, and no second of the server's log has more than 5
   requests.
2. The worker (main process and pool) is SIGKILLed while a page is being fetched, and a new one started:
   the crawl completes, the lost page is fetched again after its claim went stale, every allowed planted
   photo is a finding, once.

Runs where CELERY_BROKER_URL is Redis and DATABASE_URL PostgreSQL (CI); skipped otherwise.
"""

from __future__ import annotations

import re
import time

import pytest
from django.db.models import Count

from config.celery import app as celery_app
from detection import crawling
from detection.models import CrawlPage, CrawlRun, Finding, MediaItem
from tests.detection.sites import PLANTED, Site
from tests.detection.workers import BROKER, Processes, broker_clear, needs_redis_and_postgres, worker_env

pytestmark = needs_redis_and_postgres

RATE = 5.0  # requests a second to the site, across all workers
FILLER = 20  # plain pages beside the planted ones: a crawl of about 35 requests, 7 s at the rate
FETCH_DEADLINE_S = 10  # the fetch task's hard limit is then 14 s (settings)
CLAIM_STALE_S = 15  # above the fetch task's hard limit: no live fetch is taken for a dead one
SWEEP_EVERY_S = 2
SCAN_TIME_LIMIT_S = 20  # a pool child's first scan loads the face models


@pytest.fixture
def enqueue_to_broker(settings):
    """crawl_run_start's tasks go to Redis, as in production, not run eagerly in this process."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    celery_app.conf.update(task_always_eager=False, broker_url=BROKER)
    yield
    celery_app.conf.update(saved)


@pytest.fixture
def processes(tmp_path):
    broker_clear()
    started = Processes(tmp_path, worker_env(
        FETCH_ALLOWED_NETWORKS="127.0.0.1/32",
        FETCH_DEADLINE_S=str(FETCH_DEADLINE_S),
        CRAWL_CLAIM_STALE_S=str(CLAIM_STALE_S),
        SCAN_TIME_LIMIT_S=str(SCAN_TIME_LIMIT_S),
        SCAN_SWEEP_EVERY_S=str(SWEEP_EVERY_S),
    ), concurrency=2)
    yield started
    started.stop_all()


@pytest.fixture
def sites(images):
    served = []

    def site() -> Site:
        served.append(Site(images, filler=FILLER))
        return served[-1]

    yield site
    for each in served:
        each.close()


def crawled_and_scanned(run: CrawlRun, processes: Processes, timeout_s: float) -> CrawlRun:
    """Wait until the run is done and every capture it saw is scanned."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status == CrawlRun.Status.DONE and not MediaItem.objects.filter(
            sightings__run=run, status__in=[MediaItem.Status.RECEIVED, MediaItem.Status.PROCESSING]
        ).exists():
            return crawling.crawl_run_counts_refresh(run=run)
        time.sleep(0.2)
    raise AssertionError(f"run {run.status}, frontier {crawling.crawl_run_progress(run=run)}:\n{processes.logs()}")


def findings_of(run: CrawlRun) -> set[str]:
    return {f.media_item.source_url for f in Finding.objects.filter(media_item__sightings__run=run).distinct()}


def requested(site: Site, path: str) -> int:
    return sum(1 for _, p in site.times if p == path)


def test_two_workers_keep_the_host_rate_and_a_killed_workers_crawl_completes_with_no_duplicate_finding(
    transactional_db, astronaut_subject, org, enqueue_to_broker, processes, sites, capsys
):
    processes.start_beat()
    processes.start_worker()
    processes.pool()

    # 1. Two pool children crawl at the host's rate.
    first = sites()
    started = time.monotonic()
    run = crawling.crawl_run_start(organization=org, start_urls=[first.url("/")], per_host_rate=RATE)
    run = crawled_and_scanned(run, processes, timeout_s=90)
    took = time.monotonic() - started
    assert findings_of(run) == {first.url(p) for p in PLANTED} and run.findings == len(PLANTED)
    assert not [p for _, p in first.times if p.startswith("/private/")]  # the server's log: never asked for
    assert CrawlPage.objects.get(run=run, url=first.url("/private/album")).status == CrawlPage.Status.SKIPPED
    busiest = first.most_in_one_second()
    assert busiest <= RATE, busiest
    log = "".join(p.read_text(errors="replace") for p in processes.folder.glob("worker-*.log"))
    children = set(re.findall(r"/(ForkPoolWorker-\d+)\] Task detection\.tasks\.crawl_page\[[^]]+\] succeeded", log))
    assert len(children) == 2, children  # both fetched rows

    # 2. The worker is killed mid-crawl, while it fetches the slow page; a new one is started.
    second = sites()
    run = crawling.crawl_run_start(organization=org, start_urls=[second.url("/")], per_host_rate=RATE)
    deadline = time.monotonic() + 60
    while not requested(second, "/slow"):
        assert time.monotonic() < deadline, processes.logs()
        time.sleep(0.005)
    processes.kill_worker()
    killed_at = time.monotonic()
    lost = set(run.pages.filter(status=CrawlPage.Status.FETCHING).values_list("url", flat=True))
    assert second.url("/slow") in lost
    remaining = run.pages.filter(status=CrawlPage.Status.QUEUED).count()
    assert remaining > 0  # mid-crawl: there was more to do than what the killed worker held
    processes.start_worker()
    run = crawled_and_scanned(run, processes, timeout_s=SCAN_TIME_LIMIT_S + CLAIM_STALE_S + 60)
    recovered = time.monotonic() - killed_at

    assert not run.pages.filter(status__in=[CrawlPage.Status.QUEUED, CrawlPage.Status.FETCHING]).exists()
    slow = CrawlPage.objects.get(run=run, url=second.url("/slow"))
    assert (slow.status, slow.attempts, requested(second, "/slow")) == (CrawlPage.Status.DONE, 2, 2)
    assert findings_of(run) == {second.url(p) for p in PLANTED} and run.findings == len(PLANTED)
    for path in PLANTED:  # one capture per photo and place, one finding per capture and subject
        assert MediaItem.objects.filter(organization=org, source_url=second.url(path)).count() == 1
    per_item = Finding.objects.values("media_item", "subject").annotate(n=Count("pk"))
    assert all(row["n"] == 1 for row in per_item)
    assert not [p for _, p in second.times if p.startswith("/private/")]
    assert second.most_in_one_second() <= RATE  # the slots are in Redis: a new worker keeps the rate too
    with capsys.disabled():
        print(f"\n2 workers, {len(first.times)} requests at {RATE:g}/s: {took:.1f} s with the scans, "
              f"at most {busiest} requests in one second of the server's log; killed mid-crawl "
              f"({len(lost)} rows lost, {remaining} queued): done {recovered:.1f} s after the kill, "
              f"at most {second.most_in_one_second()} requests in one second")
