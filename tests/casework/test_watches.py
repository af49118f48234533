"""Watches on the desk (issue 12): caseworkers and admins create, change, pause, resume and crawl them
now; every member of staff sees them and their runs' progress; only legal staff and admins turn
robots.txt off, with a reason that is audited; another organisation finds nothing; a finding found by
a crawl says which watch found it and on which page."""

from html import unescape

import pytest
from django.urls import reverse

from casework.forms import NOT_A_WEB_ADDRESS, NOT_A_WEB_PATTERN, START_URLS_NEEDED
from casework.models import AuditEvent, Role
from casework.services.watches import (
    ALREADY_CRAWLING,
    PAUSED_NOT_CRAWLED,
    ROBOTS_REASON_NEEDED,
    ROBOTS_ROLE_REQUIRED,
    WatchError,
    WatchSettings,
    watch_create,
    watch_pause,
    watch_robots_set,
)
from casework.views.watches import CRAWL_STARTED, ROBOTS_IGNORED, RUN_ENDED_ALREADY, RUN_STOPPED, WATCH_CREATED
from detection.models import CrawlPage, CrawlRun, MediaItem, MediaSighting, Watch
from tests import factories
from tests.detection.test_scan import scan

LIST = reverse("casework:watch_list")
CREATE = reverse("casework:watch_create")
FORUM = "https://forum.example.org/"
HTML = b"<!doctype html><html><head><title>Forum</title></head><body>%s</body></html>"


def settings_of(**overrides) -> WatchSettings:
    return WatchSettings(**{"name": "Forum", "start_urls": [FORUM], "patterns": [], "max_depth": 3,
                            "max_pages": 100, "schedule_minutes": 0, "per_host_rate": 1.0, **overrides})


def form_of(org, **overrides) -> dict:
    return {"organization": org.pk, "name": "Forum", "start_urls": f"{FORUM}\n{FORUM}board/\n",
            "patterns": "https://forum.example.org/board/*", "max_depth": 3, "max_pages": 200,
            "schedule_minutes": 1440, "per_host_rate": 0.5, **overrides}


@pytest.fixture
def watch(org, caseworker):
    return watch_create(organization=org, settings=settings_of(), by=caseworker)


def page_of(response) -> str:
    return unescape(response.content.decode())


def test_a_caseworker_creates_a_watch_and_it_is_audited(client, caseworker, org):
    client.force_login(caseworker)
    response = client.post(CREATE, form_of(org), follow=True)
    watch = Watch.objects.get()
    assert response.redirect_chain[-1][0] == reverse("casework:watch_detail", args=[watch.pk])
    assert WATCH_CREATED.format(watch="Forum") in page_of(response)
    assert watch.organization == org and watch.created_by == caseworker and not watch.paused
    assert watch.start_urls == [FORUM, f"{FORUM}board/"]
    assert watch.patterns == ["https://forum.example.org/board/*"]
    assert (watch.max_depth, watch.max_pages, watch.schedule_minutes, watch.per_host_rate) == (3, 200, 1440, 0.5)
    assert watch.respect_robots  # obeyed unless legal staff decide otherwise
    event = AuditEvent.objects.get(action="watch.created")
    assert event.actor == caseworker and event.data["start_urls"] == watch.start_urls
    assert not CrawlRun.objects.exists()  # nothing is crawled until someone asks or the schedule comes round


@pytest.mark.parametrize(("field", "value", "message"), [
    ("start_urls", "ftp://forum.example.org/", NOT_A_WEB_ADDRESS.format(line="ftp://forum.example.org/")),
    ("start_urls", "  \n ", str(START_URLS_NEEDED)),
    ("patterns", "forum.example.org/*", NOT_A_WEB_PATTERN.format(line="forum.example.org/*")),
])
def test_a_watch_that_is_not_of_web_addresses_is_refused_with_the_reason(client, caseworker, org, field, value,
                                                                         message):
    client.force_login(caseworker)
    response = client.post(CREATE, form_of(org, **{field: value}))
    assert response.status_code == 400 and message in page_of(response)
    assert not Watch.objects.exists()


def test_a_caseworker_cannot_create_a_watch_for_another_organisation(client, caseworker, org, other_org):
    client.force_login(caseworker)
    assert other_org.name not in client.get(CREATE).content.decode()
    assert client.post(CREATE, form_of(other_org)).status_code == 400
    assert not Watch.objects.exists()


def test_legal_staff_see_watches_but_do_not_create_change_or_crawl_them(client, legal, watch):
    client.force_login(legal)
    page = client.get(LIST).content.decode()
    assert "Forum" in page and CREATE not in page
    detail = client.get(reverse("casework:watch_detail", args=[watch.pk])).content.decode()
    assert reverse("casework:watch_crawl", args=[watch.pk]) not in detail
    assert reverse("casework:watch_robots", args=[watch.pk]) in detail  # theirs to decide
    assert client.get(CREATE).status_code == 403
    for name in ("watch_edit", "watch_pause", "watch_crawl"):
        assert client.post(reverse(f"casework:{name}", args=[watch.pk])).status_code == 403, name
    assert not CrawlRun.objects.exists()


def test_another_organisation_does_not_see_the_watch(client, outsider, watch):
    client.force_login(outsider)
    assert "Forum" not in client.get(LIST).content.decode()
    assert client.get(reverse("casework:watch_detail", args=[watch.pk])).status_code == 404
    assert client.post(reverse("casework:watch_pause", args=[watch.pk])).status_code == 404
    watch.refresh_from_db()
    assert not watch.paused


def test_a_change_records_what_changed(client, caseworker, watch):
    client.force_login(caseworker)
    edit = reverse("casework:watch_edit", args=[watch.pk])
    assert FORUM in client.get(edit).content.decode()  # the form starts from the watch
    data = form_of(watch.organization, start_urls=FORUM, patterns="", max_depth=5, max_pages=100,
                   schedule_minutes=0, per_host_rate=1.0)
    response = client.post(edit, data)
    assert response.status_code == 302
    watch.refresh_from_db()
    assert watch.max_depth == 5
    event = AuditEvent.objects.get(action="watch.updated")
    assert event.data["changed"] == {"max_depth": {"was": 3, "now": 5}}


def test_pausing_twice_records_one_pause_and_resuming_undoes_it(client, caseworker, watch):
    client.force_login(caseworker)
    pause = reverse("casework:watch_pause", args=[watch.pk])
    client.post(pause)
    client.post(pause)
    watch.refresh_from_db()
    assert watch.paused
    assert AuditEvent.objects.filter(action="watch.paused").count() == 1
    client.post(reverse("casework:watch_resume", args=[watch.pk]))
    watch.refresh_from_db()
    assert not watch.paused and AuditEvent.objects.filter(action="watch.resumed").count() == 1


def test_legal_staff_turn_robots_off_only_with_a_reason_and_it_is_audited(client, legal, watch):
    client.force_login(legal)
    robots = reverse("casework:watch_robots", args=[watch.pk])
    response = client.post(robots, {"respect_robots": "0", "reason": "  "}, follow=True)
    assert ROBOTS_REASON_NEEDED in page_of(response)
    watch.refresh_from_db()
    assert watch.respect_robots and not AuditEvent.objects.filter(action__startswith="watch.robots").exists()

    reason = "Court order 2026/114 requires monitoring the whole forum."
    response = client.post(robots, {"respect_robots": "0", "reason": reason}, follow=True)
    assert ROBOTS_IGNORED.format(watch="Forum") in page_of(response)
    watch.refresh_from_db()
    assert not watch.respect_robots and watch.robots_override_reason == reason and watch.robots_override_by == legal
    event = AuditEvent.objects.get(action="watch.robots_ignored")
    assert event.actor == legal and event.data == {"was_respecting": True, "reason": reason}

    client.post(robots, {"respect_robots": "1", "reason": ""})
    watch.refresh_from_db()
    assert watch.respect_robots and watch.robots_override_reason == "" and watch.robots_override_by is None
    assert AuditEvent.objects.filter(action="watch.robots_obeyed", actor=legal).exists()


def test_an_admin_may_turn_robots_off_and_a_caseworker_may_not(client, caseworker, org, watch):
    admin = factories.staff(org, Role.ADMIN)
    watch_robots_set(watch=watch, respect_robots=False, reason="Our lawyers agreed.", by=admin)
    watch.refresh_from_db()
    assert not watch.respect_robots
    client.force_login(caseworker)
    robots = reverse("casework:watch_robots", args=[watch.pk])
    assert client.post(robots, {"respect_robots": "1"}).status_code == 403
    with pytest.raises(WatchError) as refused:  # the service holds the rule too, whoever calls it
        watch_robots_set(watch=watch, respect_robots=True, reason="", by=caseworker)
    assert refused.value.reason == ROBOTS_ROLE_REQUIRED
    watch.refresh_from_db()
    assert not watch.respect_robots


def test_crawl_now_starts_one_run_with_the_watch_settings_and_refuses_a_second(
        client, caseworker, watch, django_capture_on_commit_callbacks):
    client.force_login(caseworker)
    crawl = reverse("casework:watch_crawl", args=[watch.pk])
    # The crawl itself is detection's (tests/detection/test_crawl.py): here its work is queued, not run.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(crawl, follow=True)
    assert queued, "crawl now queued no work"
    run = CrawlRun.objects.get()
    assert CRAWL_STARTED.format(watch="Forum") in page_of(response)
    assert run.watch == watch and run.organization == watch.organization
    assert run.start_urls == [FORUM] and run.max_depth == 3 and run.max_pages == 100 and run.respect_robots
    assert run.status in (CrawlRun.Status.QUEUED, CrawlRun.Status.RUNNING)
    assert AuditEvent.objects.get(action="watch.crawl_started").data == {"run": run.pk}

    response = client.post(crawl, follow=True)
    assert ALREADY_CRAWLING.format(watch="Forum") in page_of(response)
    assert CrawlRun.objects.count() == 1


def test_a_paused_watch_is_not_crawled(client, caseworker, watch):
    watch_pause(watch=watch, by=caseworker)
    client.force_login(caseworker)
    response = client.post(reverse("casework:watch_crawl", args=[watch.pk]), follow=True)
    assert PAUSED_NOT_CRAWLED.format(watch="Forum") in page_of(response)
    assert not CrawlRun.objects.exists()


def _run(watch, **counters) -> CrawlRun:
    from detection.crawling import crawl_run_start

    run = crawl_run_start(watch=watch, organization=watch.organization, start_urls=watch.start_urls, enqueue=False)
    if counters:
        CrawlRun.objects.filter(pk=run.pk).update(**counters)
        run.refresh_from_db()
    return run


def test_the_watch_page_shows_its_runs_and_the_progress_of_the_current_one(client, legal, watch):
    done = _run(watch, status=CrawlRun.Status.DONE, pages_fetched=57, pages_failed=2, media_found=40,
                media_scanned=39, findings=12, errors=3)
    client.force_login(legal)
    detail = reverse("casework:watch_detail", args=[watch.pk])
    page = page_of(client.get(detail))
    # Scanned media and findings are counted from the run's sightings (none here), not its counters.
    assert "<td>57</td><td>2</td>" in page and "0 of 40" in page and "<td>0</td><td>3</td>" in page
    assert 'http-equiv="refresh"' not in page and "Run under way" not in page

    current = _run(watch, status=CrawlRun.Status.RUNNING, pages_fetched=4)
    CrawlPage.objects.filter(run=current).delete()
    for n, status in enumerate(["queued", "queued", "fetching", "done", "failed"]):
        CrawlPage.objects.create(run=current, url=f"{FORUM}p{n}", status=status, reason="HTTP 500" * (status == "failed"))
    page = page_of(client.get(detail))
    assert "Run under way" in page and 'http-equiv="refresh"' in page  # reloads itself: no script (CSP)
    assert "Queued 2 · Fetching 1 · Done 1 · Failed 1 · Skipped 0" in page
    run_page = page_of(client.get(reverse("casework:crawl_run_detail", args=[current.pk]), {"status": "failed"}))
    assert f"{FORUM}p4" in run_page and "HTTP 500" in run_page and f"{FORUM}p0" not in run_page
    assert 'http-equiv="refresh"' in run_page
    assert done.pk != current.pk
    assert "<script>" not in page and " style=" not in page  # CSP: no inline script or style


def test_another_organisation_does_not_see_a_run(client, outsider, watch):
    run = _run(watch)
    client.force_login(outsider)
    assert client.get(reverse("casework:crawl_run_detail", args=[run.pk])).status_code == 404


def test_the_watch_list_paginates_and_shows_the_last_runs_findings(client, caseworker, org, watch,
                                                                    astronaut_subject, images):
    _run(watch, status=CrawlRun.Status.DONE)
    last = _run(watch, status=CrawlRun.Status.DONE)
    item = scan(images["reported-astronaut.jpg"], url=f"{FORUM}img/a.jpg")
    for page in ("threads/1", "threads/2"):  # one finding seen on two pages counts once
        MediaSighting.objects.create(media_item=item, run=last, page_url=FORUM + page, media_url=f"{FORUM}img/a.jpg")
    for n in range(50):
        watch_create(organization=org, settings=settings_of(name=f"Site {n:02d}"), by=caseworker)
    client.force_login(caseworker)
    first = page_of(client.get(LIST))
    assert "51 watches." in first and "Page 1 of 2" in first
    assert "Forum" in first and "<td>1</td>" in first  # names sort "Forum" before "Site ..."
    second = page_of(client.get(LIST, {"page": 2}))
    assert "Site 49" in second and "Site 00" not in second


def test_the_staff_navigation_links_to_watches(client, legal):
    client.force_login(legal)
    assert f'href="{LIST}"' in client.get(reverse("casework:home")).content.decode()


def test_a_finding_says_which_watch_found_it_and_on_which_page(client, caseworker, astronaut_subject, images,
                                                               watch, other_org):
    run = _run(watch)
    item = scan(images["reported-astronaut.jpg"], url=f"{FORUM}img/a.jpg")
    finding = item.findings.get()
    # What the crawler records when it meets media (detection.crawling); made by hand here, the page is tested.
    MediaSighting.objects.create(media_item=item, run=run, page_url=f"{FORUM}threads/42",
                                 media_url=f"{FORUM}img/a.jpg")
    elsewhere = watch_create(organization=other_org, by=factories.staff(other_org),
                             settings=settings_of(name="Their secret watch"))
    MediaSighting.objects.create(media_item=item, run=_run(elsewhere), page_url="https://secret.example.net/x",
                                 media_url=f"{FORUM}img/a.jpg")
    client.force_login(caseworker)
    page = page_of(client.get(reverse("casework:finding_detail", args=[finding.pk])))
    assert "by watch" in page and ">Forum</a>" in page and f"{FORUM}threads/42" in page
    assert "Their secret watch" not in page and "secret.example.net" not in page
    assert item.status == MediaItem.Status.DONE


def test_a_caseworker_stops_a_run_and_its_queued_addresses_are_skipped(client, caseworker, legal, watch):
    run = _run(watch)
    assert run.pages.filter(status=CrawlPage.Status.QUEUED).exists()
    stop = reverse("casework:crawl_run_stop", args=[run.pk])
    client.force_login(legal)
    assert client.post(stop).status_code == 403
    client.force_login(caseworker)
    response = client.post(stop, follow=True)
    assert RUN_STOPPED.format(run=run.pk) in page_of(response)
    run.refresh_from_db()
    assert run.status == CrawlRun.Status.CANCELLED
    assert not run.pages.filter(status=CrawlPage.Status.QUEUED).exists()
    assert RUN_ENDED_ALREADY.format(run=run.pk) in page_of(client.post(stop, follow=True))
    assert AuditEvent.objects.filter(action="crawl_run.cancelled").count() == 1


def test_the_watch_list_runs_as_many_queries_for_fifty_watches_with_runs_as_for_one(client, caseworker, org, watch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(caseworker)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured.captured_queries)

    _run(watch, status=CrawlRun.Status.DONE)
    one = queries()
    for n in range(49):
        _run(watch_create(organization=org, settings=settings_of(name=f"Site {n:02d}"), by=caseworker),
             status=CrawlRun.Status.DONE)
    assert queries() == one


def test_crawl_now_from_the_desk_finds_a_planted_image_and_the_finding_names_the_watch_and_page(
        client, caseworker, org, astronaut_subject, images, django_capture_on_commit_callbacks):
    """End to end through detection's real crawler, without a broker (tasks eager: the run is worked in
    the request's on-commit), against a site on 127.0.0.1 (settings_test allows it to the fetcher)."""
    from tests.detection.test_fetching import LocalServer

    site = LocalServer()
    try:
        site.routes.update({
            "/": (200, {"Content-Type": "text/html"}, HTML % b'<a href="/thread/7">a thread</a>'),
            "/thread/7": (200, {"Content-Type": "text/html"}, HTML % b'<p>hello</p><img src="/img/a.jpg">'),
            "/img/a.jpg": (200, {"Content-Type": "image/jpeg"}, images["reported-astronaut.jpg"]),
        })
        watch = watch_create(organization=org, by=caseworker,
                             settings=settings_of(start_urls=[site.url("/")], per_host_rate=50.0))
        client.force_login(caseworker)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("casework:watch_crawl", args=[watch.pk]))
    finally:
        site.close()
    run = CrawlRun.objects.get()
    assert run.status == CrawlRun.Status.DONE, (run.status, run.last_error)
    finding = astronaut_subject.findings.get()
    page = page_of(client.get(reverse("casework:finding_detail", args=[finding.pk])))
    assert ">Forum</a>" in page and site.url("/thread/7") in page
    detail = page_of(client.get(reverse("casework:watch_detail", args=[watch.pk])))
    assert "Run under way" not in detail and "<td>1 of 1</td><td>1</td>" in detail
