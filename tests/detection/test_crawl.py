"""Crawling against a small site served on 127.0.0.1 by the test: planted photos of an enrolled subject
two to four links deep, a robots.txt Disallow, a sitemap, a redirect, a broken link, a slow page and an
endless calendar. The server's request log is the evidence of what was (and was not) fetched."""

import itertools
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from detection import crawling
from detection.models import CrawlPage, CrawlRun, Finding, MediaItem, MediaSighting
from tests.detection.sites import Site, html
from tests.detection.test_fetching import LocalServer


@pytest.fixture
def site(images):
    local = Site(images)
    yield local
    local.close()


def crawl(site, org=None, **options) -> CrawlRun:
    run = crawling.crawl_run_start(organization=org, start_urls=[site.url("/")], enqueue=False,
                                   per_host_rate=options.pop("rate", 50.0), **options)
    return crawling.crawl_run_work(run_id=run.pk)


def scan_all(run: CrawlRun) -> None:
    from detection.services import media_scan

    for item in MediaItem.objects.filter(sightings__run=run, status=MediaItem.Status.RECEIVED).distinct():
        media_scan(media_item_id=item.pk)


def test_a_crawl_finds_every_allowed_planted_photo_and_never_fetches_what_robots_txt_disallows(
    astronaut_subject, site, org
):
    run = crawl(site, org)
    scan_all(run)
    run = crawling.crawl_run_counts_refresh(run=run)
    fetched = site.paths()
    assert not [p for p in fetched if p.startswith("/private/")]  # the server's log: never asked for
    assert CrawlPage.objects.get(run=run, url=site.url("/private/album")).status == CrawlPage.Status.SKIPPED
    found = {f.media_item.source_url for f in Finding.objects.filter(media_item__sightings__run=run).distinct()}
    assert found == {site.url(f"/img/{n}.jpg") for n in ("depth2", "depth3", "depth4", "listed")}
    assert run.status == CrawlRun.Status.DONE and run.findings == 4
    assert all(f.organization_id == org.pk for f in Finding.objects.all())
    assert "/sitemap.xml" in fetched and "/listed" in fetched  # only the sitemap links to /listed
    assert fetched.index("/robots.txt") == 0


def test_a_redirect_is_followed_and_a_broken_link_is_recorded_as_an_error(db, site):
    run = crawl(site)
    old = CrawlPage.objects.get(run=run, url=site.url("/old"))
    assert old.http_status == 301 and old.reason == crawling.REDIRECTED.format(url=site.url("/moved"))
    assert CrawlPage.objects.get(run=run, url=site.url("/moved")).status == CrawlPage.Status.DONE
    broken = CrawlPage.objects.get(run=run, url=site.url("/broken"))
    assert broken.status == CrawlPage.Status.FAILED and broken.http_status == 404
    assert run.errors >= 1 and run.pages_failed == 1 and "404" in run.last_error
    assert CrawlPage.objects.get(run=run, url=site.url("/slow")).status == CrawlPage.Status.DONE


def test_an_endless_calendar_is_bounded_by_the_depth(db, site):
    run = crawl(site, max_depth=4)
    calendar = [p for p in site.paths() if p.startswith("/calendar/")]
    assert len(calendar) == 4  # /calendar/1 is at depth 1; depth 4 is the last one followed
    assert not run.pages.filter(status__in=[CrawlPage.Status.QUEUED, CrawlPage.Status.FETCHING]).exists()


def test_the_page_budget_bounds_a_crawl(db, site):
    run = crawl(site, max_depth=50, max_pages=6)
    assert run.pages.filter(kind__in=[CrawlPage.Kind.PAGE, CrawlPage.Kind.SITEMAP]).count() == 6
    assert run.pages_queued == 6


def test_the_same_photo_on_two_pages_is_one_media_item_seen_twice(db, site):
    run = crawl(site)
    item = MediaItem.objects.get(source_url=site.url("/img/shared.jpg"))
    pages = set(MediaSighting.objects.filter(media_item=item, run=run).values_list("page_url", flat=True))
    assert pages == {site.url("/a"), site.url("/moved")}
    assert site.paths().count("/img/shared.jpg") == 1


def test_a_second_run_refetches_conditionally_and_adds_no_media_item_or_finding(astronaut_subject, site, org):
    first = crawl(site, org)
    scan_all(first)
    items, findings = MediaItem.objects.count(), Finding.objects.count()
    site.requests.clear()
    second = crawl(site, org)
    scan_all(second)
    assert CrawlPage.objects.get(run=second, url=site.url("/a/b")).http_status == 304
    assert CrawlPage.objects.get(run=second, url=site.url("/img/depth2.jpg")).http_status == 304
    sent = dict(site.requests)
    assert sent["/a/b"]["If-None-Match"] == '"ab"'
    assert (MediaItem.objects.count(), Finding.objects.count()) == (items, findings)
    # Followed through the 304 page's remembered links: the deep photo is seen again in this run.
    assert MediaSighting.objects.filter(run=second, media_url=site.url("/img/depth4.jpg")).exists()


def test_the_cli_crawls_and_prints_a_summary_line(astronaut_subject, site, org):
    err, out = StringIO(), StringIO()
    call_command("crawl", site.url("/"), "--depth", "4", "--organization", org.slug, "--rate", "50",
                 stdout=out, stderr=err)
    summary = err.getvalue().strip().splitlines()[-1]
    assert " 4 findings, " in summary and summary.endswith(" s") and " media, " in summary
    assert "/broken" in out.getvalue() and "depth2.jpg" in out.getvalue()


def test_a_legal_override_of_robots_txt_fetches_the_disallowed_pages(db, site):
    crawl(site, respect_robots=False)
    assert "/private/secret.jpg" in site.paths()


# --- Several workers --------------------------------------------------------------------------------

@pytest.fixture
def wide_site():
    """Thirty pages one link from the home page: work enough for two workers at once."""
    local = LocalServer()
    local.times = []
    handler_class = local.httpd.RequestHandlerClass
    original = handler_class.do_GET

    def do_get(handler):
        local.times.append(time.monotonic())
        original(handler)

    handler_class.do_GET = do_get
    local.routes["/robots.txt"] = (200, {}, b"User-agent: *\nAllow: /\n")
    local.routes["/"] = html(" ".join(f'<a href="/p{n}">{n}</a>' for n in range(30)))
    for n in range(30):
        local.routes[f"/p{n}"] = html("a page")
    yield local
    local.close()


def work_in_threads(run_id: int, workers: int) -> None:
    errors = []

    def work():
        try:
            crawling.crawl_run_work(run_id=run_id)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


needs_row_locks = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent workers need a database that locks rows, not tables (PostgreSQL: DATABASE_URL)",
)


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_exceed_the_per_host_rate(wide_site, monkeypatch):
    rate = 10.0
    run = crawling.crawl_run_start(organization=None, start_urls=[wide_site.url("/")], per_host_rate=rate,
                                   enqueue=False)
    workers, process = set(), crawling.crawl_page_process

    def process_and_count(**kwargs):
        outcome = process(**kwargs)
        if outcome.result == "done":
            workers.add(threading.get_ident())
        return outcome

    monkeypatch.setattr(crawling, "crawl_page_process", process_and_count)
    work_in_threads(run.pk, workers=2)
    assert len(workers) == 2  # both fetched rows
    run.refresh_from_db()
    assert run.status == CrawlRun.Status.DONE and run.pages_fetched == 31
    times = sorted(wide_site.times)
    assert len(times) == 33  # robots.txt, sitemap.xml (404), home page, thirty pages: each once
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Requests start on slots 1/rate apart; arrival at the server adds some scheduling jitter.
    print(f"min gap {min(gaps):.3f} s", end=" ")
    assert min(gaps) >= 0.8 / rate, min(gaps)
    in_any_second = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    print(f"most in one second {in_any_second}")
    assert in_any_second <= rate, in_any_second
    # And the workers were not one worker in turn: the whole crawl took about what the rate allows.
    assert times[-1] - times[0] <= (len(times) - 1) * 1.05 / rate + 1.5


# --- A worker killed mid-crawl ------------------------------------------------------------------------

class Killed(BaseException):
    """What a worker killed mid-task looks like to the code after it: nothing more runs."""


def test_a_killed_workers_row_is_queued_again_and_the_crawl_ends_with_no_duplicate_finding(
    astronaut_subject, site, org, settings, monkeypatch
):
    run = crawling.crawl_run_start(organization=org, start_urls=[site.url("/")], per_host_rate=50.0, enqueue=False)
    original_end = crawling._end

    def die_after_capture(page, status, **fields):
        # Killed after the capture was stored and before the row was marked done: the worst moment.
        if page.url.endswith("/img/depth2.jpg"):
            raise Killed
        return original_end(page, status, **fields)

    monkeypatch.setattr(crawling, "_end", die_after_capture)
    with pytest.raises(Killed):
        crawling.crawl_run_work(run_id=run.pk)
    monkeypatch.setattr(crawling, "_end", original_end)
    lost = CrawlPage.objects.get(run=run, url=site.url("/img/depth2.jpg"))
    assert lost.status == CrawlPage.Status.FETCHING and MediaItem.objects.filter(source_url=lost.url).count() == 1

    # The claim is not stale yet: a restarted worker leaves it alone...
    settings.CRAWL_CLAIM_STALE_S = 60
    assert crawling.crawl_pages_requeue_stuck(run=run).requeued == []
    # ...until it is older than any fetch can run; then the sweeper (beat) queues it again.
    CrawlPage.objects.filter(pk=lost.pk).update(claimed_at=timezone.now() - timezone.timedelta(seconds=61))
    assert crawling.crawl_pages_requeue_stuck().requeued == [lost.pk]
    run = crawling.crawl_run_work(run_id=run.pk)
    scan_all(run)
    run = crawling.crawl_run_counts_refresh(run=run)
    assert run.status == CrawlRun.Status.DONE
    assert CrawlPage.objects.get(pk=lost.pk).status == CrawlPage.Status.DONE
    assert MediaItem.objects.filter(source_url=lost.url).count() == 1
    assert Finding.objects.filter(media_item__source_url=lost.url).count() == 1 and run.findings == 4


# --- Watches on beat ----------------------------------------------------------------------------------

def test_a_scheduled_watch_is_started_when_due_and_not_again_while_it_runs(db, org, site):
    from detection.models import Watch

    watch = Watch.objects.create(organization=org, name="Forum", start_urls=[site.url("/")], schedule_minutes=60,
                                 max_depth=2, per_host_rate=3.0)
    Watch.objects.create(organization=org, name="Paused", start_urls=[site.url("/")], schedule_minutes=60, paused=True)
    Watch.objects.create(organization=org, name="Manual", start_urls=[site.url("/")], schedule_minutes=0)
    started = crawling.watches_crawl_due()
    assert len(started) == 1
    run = CrawlRun.objects.get(pk=started[0])
    assert (run.watch, run.max_depth, run.per_host_rate, run.organization) == (watch, 2, 3.0, org)
    assert crawling.watches_crawl_due() == []  # still running
    run = crawling.crawl_run_work(run_id=run.pk)
    assert crawling.watches_crawl_due() == []  # done, but an hour has not passed
    CrawlRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timezone.timedelta(minutes=61))
    assert len(crawling.watches_crawl_due()) == 1
