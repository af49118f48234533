"""The caseworker's desk: today's work at a glance, the case list with its filters, the metrics, and
the audited reveal of sensitive media."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casework import deadlines
from casework.models import AuditEvent, Case, Regime, Report, TakedownRequest
from casework.selectors import (
    DESK_LIST_SIZE,
    OTHER_PLATFORMS,
    TOP_PLATFORMS,
    cases_search,
    metrics_for_user,
    reports_search,
)
from casework.services.cases import case_open, case_open_from_report, takedown_request_create
from casework.services.consent import subject_create
from casework.services.reveals import UNKNOWN_MEDIA
from casework.services.takedowns import takedown_transition
from casework.services.triage import case_assign, case_priority_set, case_tags_set
from tests import factories
from tests.casework.test_takedowns import clock, quick_pdf, walk
from tests.detection.test_scan import scan

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def sent(org, caseworker, legal, quick_pdf):
    """Send a TAKE IT DOWN request (48-hour clock) to ``platform`` at ``at``, in a case assigned to the caseworker."""

    def send(platform: str = "ExampleTube", at: dt.datetime = T0):
        with clock(at):
            case = case_open(subject=subject_create(organization=org, display_name="Subject"), by=caseworker)
            request = takedown_request_create(case=case, platform=platform, target_url="https://x.example/v/1",
                                              regime=Regime.TAKE_IT_DOWN, by=caseworker)
            return walk(request, ["prepare", "send"], legal)

    return send


def test_the_desk_shows_the_queue_deadlines_at_risk_and_breached_and_my_cases(client, caseworker, sent):
    breached, at_risk = sent(at=T0), sent(at=T0 + dt.timedelta(hours=10))
    case_assign(case=breached.case, assignee=caseworker, by=caseworker)
    client.force_login(caseworker)
    with clock(T0 + dt.timedelta(hours=49)):  # 48-hour clock: the first is over, the second has 9 hours left
        page = client.get(reverse("casework:home")).content.decode()
    breached_link = reverse("casework:takedown_detail", args=[breached.pk])
    at_risk_link = reverse("casework:takedown_detail", args=[at_risk.pk])
    assert page.index(breached_link) < page.index('id="at-risk"') < page.index(at_risk_link)
    assert "waiting for review" in page and breached.case.reference in page
    assert reverse("casework:case_detail", args=[breached.case.pk]) in page


def test_the_desk_shows_nothing_of_another_organisation(client, outsider, sent):
    request = sent()
    client.force_login(outsider)
    with clock(T0 + dt.timedelta(hours=49)):
        page = client.get(reverse("casework:home")).content.decode()
    assert reverse("casework:takedown_detail", args=[request.pk]) not in page


def test_the_desk_is_for_staff_only(client, db):
    client.force_login(factories.UserFactory())
    response = client.get(reverse("casework:home"))
    assert response.status_code == 403


def test_new_public_reports_are_counted_on_the_desk_and_listed_newest_first(client, org, other_org, caseworker):
    older = factories.ReportFactory(organization=org)
    newer = factories.ReportFactory(organization=org, depicts_minor=True)
    taken = factories.ReportFactory(organization=org, status=Report.Status.IN_REVIEW)
    theirs = factories.ReportFactory(organization=other_org)
    client.force_login(caseworker)
    desk = client.get(reverse("casework:home")).content.decode()
    assert re.search(r'class="count">2</strong>\s*new reports from the public', desk)

    page = client.get(reverse("casework:report_list")).content.decode()
    assert page.index(taken.reference) < page.index(newer.reference) < page.index(older.reference)
    assert theirs.reference not in page and "3 reports." in page
    assert page.count("under 18") == 1 and "2 URLs,\n        0 files" in page
    received = client.get(reverse("casework:report_list"), {"status": Report.Status.RECEIVED}).content.decode()
    assert older.reference in received and taken.reference not in received
    # An unknown status is ignored rather than answered with an error or an empty list.
    assert taken.reference in client.get(reverse("casework:report_list"), {"status": "bogus"}).content.decode()


def test_a_report_lists_its_cases_and_files(caseworker, org, images):
    report = factories.ReportFactory(organization=org)
    report.media_items.add(scan(images["reported-coffee.jpg"]))
    case_open_from_report(report=report, by=caseworker)
    [listed] = reports_search(caseworker)
    assert (listed.file_count, listed.case_count) == (1, 1)


@pytest.fixture
def cases(org, caseworker, legal):
    made = {}
    for name in ("urgent", "plain", "closed"):
        made[name] = case_open(subject=subject_create(organization=org, display_name=name), by=caseworker)
    case_priority_set(case=made["urgent"], priority=Case.Priority.URGENT, by=caseworker)
    case_tags_set(case=made["urgent"], tags="Deepfake, school", by=caseworker)
    case_assign(case=made["plain"], assignee=legal, by=caseworker)
    Case.objects.filter(pk=made["closed"].pk).update(status=Case.Status.CLOSED)
    return made


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, {"urgent", "plain", "closed"}),
    ({"status": Case.Status.CLOSED}, {"closed"}),
    ({"priority": str(Case.Priority.URGENT)}, {"urgent"}),
    ({"tag": "deepfake"}, {"urgent"}),
    ({"assignee": "me"}, {"urgent", "closed"}),  # case_open assigns whoever opened it
])
def test_the_case_list_filters(client, caseworker, legal, cases, filters, expected):
    client.force_login(caseworker)
    page = client.get(reverse("casework:case_list"), filters).content.decode()
    shown = {name for name, case in cases.items() if case.reference in page}
    assert shown == expected


def test_the_case_list_searches_the_reference_and_filters_by_assignee(caseworker, legal, cases):
    reference = cases["plain"].reference
    assert list(cases_search(caseworker, text=reference[-6:].lower())) == [cases["plain"]]
    assert list(cases_search(caseworker, assignee=str(legal.pk))) == [cases["plain"]]


def test_the_case_list_shows_nothing_of_another_organisation(client, outsider, cases):
    client.force_login(outsider)
    page = client.get(reverse("casework:case_list")).content.decode()
    assert not any(case.reference in page for case in cases.values())


def test_metrics_give_median_hours_to_removal_removal_rate_and_breaches_per_month(caseworker, sent):
    fast, slow, refused = sent("ExampleTube"), sent("ExampleTube"), sent("OtherSite")
    with clock(T0 + dt.timedelta(hours=4)):
        takedown_transition(request=fast, action="record_removal", by=caseworker)
    with clock(T0 + dt.timedelta(hours=10)):
        takedown_transition(request=slow, action="record_removal", by=caseworker)
    late = sent("OtherSite", at=T0 + dt.timedelta(days=31))  # never answered: breached in April
    with clock(T0 + dt.timedelta(hours=60)):  # refused after its 48 hours: breached in March
        takedown_transition(request=refused, action="record_refusal", by=caseworker)
    metrics = metrics_for_user(caseworker, now=late.deadline_at + dt.timedelta(days=1))
    assert metrics.hours_to_removal == {"ExampleTube": 7.0}
    assert metrics.removal_rate == {"ExampleTube": 1.0, "OtherSite": 0.0}
    assert metrics.breached_per_month == [("2026-03", 1), ("2026-04", 1)]


def test_the_metrics_page_draws_its_charts_inline(client, caseworker, sent):
    request = sent()
    with clock(T0 + dt.timedelta(hours=3)):
        takedown_transition(request=request, action="record_removal", by=caseworker)
    client.force_login(caseworker)
    page = client.get(reverse("casework:metrics")).content.decode()
    assert page.count("<svg") == 2 and "Median hours from sending to removal" in page
    assert "No deadline has been breached." in page


@pytest.fixture
def finding(astronaut_subject, images):
    return scan(images["reported-astronaut.jpg"], url="https://x.example/p/1").findings.get()


def test_the_finding_page_keeps_media_blurred_and_names_the_reveal_url(client, caseworker, finding):
    client.force_login(caseworker)
    page = client.get(reverse("casework:finding_detail", args=[finding.pk])).content.decode()
    assert 'class="blurred"' in page
    assert f'data-reveal-url="{reverse("casework:finding_media_reveal", args=[finding.pk])}"' in page


def test_revealing_media_is_audited_with_the_finding_and_the_person(client, caseworker, finding):
    client.force_login(caseworker)
    response = client.post(reverse("casework:finding_media_reveal", args=[finding.pk]), {"what": "probe_face"})
    assert response.status_code == 204
    event = AuditEvent.objects.get(action="media.revealed")
    assert (event.actor, event.target_id, event.data) == (caseworker, str(finding.pk),
                                                          {"finding": finding.pk, "what": "probe_face"})


def test_a_reveal_of_unknown_media_is_refused(client, caseworker, finding):
    client.force_login(caseworker)
    response = client.post(reverse("casework:finding_media_reveal", args=[finding.pk]), {"what": "everything"})
    assert response.status_code == 400 and str(UNKNOWN_MEDIA) in response.content.decode()


def test_another_organisation_cannot_reveal_or_learn_of_a_finding(client, outsider, finding):
    client.force_login(outsider)
    assert client.post(reverse("casework:finding_media_reveal", args=[finding.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="media.revealed").exists()


# --- Issue 17: pages that stay fast at an organisation's volume ----------------------------------------
# Each page is measured at two sizes of data: the number of queries must not grow with the rows, and the
# lists must stop at their page size.


def _queries(client, url: str, params: dict | None = None) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured), response.content.decode()


@pytest.fixture
def send_many(org, caseworker, legal, quick_pdf):
    """Send ``count`` TAKE IT DOWN requests from one case, a minute apart from ``at``; ``platform`` names
    the n-th request's platform."""

    def send(count: int, *, at: dt.datetime = T0, platform=lambda n: "ExampleTube") -> list:
        with clock(at):
            case = case_open(subject=subject_create(organization=org, display_name="Many"), by=caseworker)
        made = []
        for n in range(count):
            with clock(at + dt.timedelta(minutes=n)):
                request = takedown_request_create(case=case, platform=platform(n), target_url=f"https://x.example/v/{n}",
                                                  regime=Regime.TAKE_IT_DOWN, by=caseworker)
                made.append(walk(request, ["prepare", "send"], legal))
        return made

    return send


def test_the_desk_shows_the_most_urgent_twenty_of_each_list_with_constant_queries(client, caseworker, send_many):
    client.force_login(caseworker)
    now = T0 + dt.timedelta(hours=49, minutes=30)  # 48-hour clocks: sent before T0+1:30 breached, after at risk
    send_many(1, at=T0)
    send_many(1, at=T0 + dt.timedelta(hours=10))
    with clock(now):
        few, _ = _queries(client, reverse("casework:home"))
    breached = send_many(DESK_LIST_SIZE + 5, at=T0 + dt.timedelta(minutes=1))
    at_risk = send_many(DESK_LIST_SIZE + 2, at=T0 + dt.timedelta(hours=11))
    with clock(now):
        many, page = _queries(client, reverse("casework:home"))
    assert many == few
    breached_section = page[page.index('id="breached"'):page.index('id="at-risk"')]
    at_risk_section = page[page.index('id="at-risk"'):page.index('id="my-cases"')]
    assert breached_section.count("/takedowns/") == DESK_LIST_SIZE
    assert at_risk_section.count("/takedowns/") == DESK_LIST_SIZE
    assert re.search(rf'class="count">{DESK_LIST_SIZE + 6}</strong>\s*deadlines breached', page)
    assert re.search(rf'class="count">{DESK_LIST_SIZE + 3}</strong>\s*deadlines at risk', page)
    # Most urgent first: the one sent first is the most overdue; the last sent of the at-risk is not shown.
    assert breached_section.index(reverse("casework:takedown_detail", args=[breached[0].pk])) > 0
    assert reverse("casework:takedown_detail", args=[at_risk[-1].pk]) not in at_risk_section
    assert f'{reverse("casework:deadline_list")}?status=breached' in breached_section


def test_the_deadline_list_pages_every_at_risk_or_breached_request_most_urgent_first(client, caseworker, outsider,
                                                                                     send_many):
    breached = send_many(3, at=T0)
    at_risk = send_many(2, at=T0 + dt.timedelta(hours=10))
    send_many(1, at=T0 + dt.timedelta(hours=40))  # on track
    client.force_login(caseworker)
    with clock(T0 + dt.timedelta(hours=49)):
        _, everything = _queries(client, reverse("casework:deadline_list"))
        _, only_at_risk = _queries(client, reverse("casework:deadline_list"), {"status": "at_risk"})
        _, unknown = _queries(client, reverse("casework:deadline_list"), {"status": "bogus"})
    links = [reverse("casework:takedown_detail", args=[r.pk]) for r in breached + at_risk]
    assert [everything.index(link) for link in links] == sorted(everything.index(link) for link in links)
    assert "5 requests" in everything and "5 requests" in unknown
    assert "2 requests" in only_at_risk and links[0] not in only_at_risk
    client.force_login(outsider)
    with clock(T0 + dt.timedelta(hours=49)):
        _, theirs = _queries(client, reverse("casework:deadline_list"))
    assert "0 requests" in theirs


def test_the_deadline_list_queries_do_not_grow_with_its_rows(client, caseworker, send_many):
    client.force_login(caseworker)
    send_many(2, at=T0)
    with clock(T0 + dt.timedelta(hours=49)):
        few, _ = _queries(client, reverse("casework:deadline_list"))
    send_many(60, at=T0 + dt.timedelta(minutes=5))
    with clock(T0 + dt.timedelta(hours=49)):
        many, page = _queries(client, reverse("casework:deadline_list"))
        _, second = _queries(client, reverse("casework:deadline_list"), {"page": 2})
    assert many == few
    assert page.count("/takedowns/") == 50 and second.count("/takedowns/") == 12
    assert "Page 1 of 2" in page


@pytest.mark.parametrize("hours", [0, 10, 35.9, 36, 36.1, 47.9, 48, 48.1, 100])
def test_the_database_and_python_agree_on_which_deadlines_are_at_risk_or_breached(caseworker, send_many, hours):
    [request] = send_many(1, at=T0)
    now = T0 + dt.timedelta(hours=hours)
    state = deadlines.deadline_state(request, now)
    in_sql = {status for status in (deadlines.AT_RISK, deadlines.BREACHED)
              if TakedownRequest.objects.filter(deadlines.deadline_status_filter(status, now), pk=request.pk).exists()}
    assert in_sql == ({state.status} - {deadlines.ON_TRACK})


def _metrics_queries(user, now) -> tuple[int, list[str], object]:
    with CaptureQueriesContext(connection) as captured:
        metrics = metrics_for_user(user, now=now)
    return len(captured), [q["sql"] for q in captured], metrics


def test_metrics_show_the_twelve_platforms_sent_the_most_and_group_the_rest(client, caseworker, send_many):
    # Platform n gets 20 - n requests: P00 the most. Every third request is removed after n + 1 hours.
    made = []
    for n in range(TOP_PLATFORMS + 3):
        made += send_many(20 - n if n < TOP_PLATFORMS else 1, at=T0, platform=lambda _, n=n: f"P{n:02d}")
    for request in made[::3]:
        with clock(request.sent_at + dt.timedelta(hours=int(request.platform[1:]) + 1)):
            takedown_transition(request=request, action="record_removal", by=caseworker)
    metrics = metrics_for_user(caseworker, now=T0 + dt.timedelta(days=3))
    others = OTHER_PLATFORMS.format(n=3)
    assert list(metrics.sent) == [f"P{n:02d}" for n in range(TOP_PLATFORMS)] + [others]
    assert metrics.sent[others] == 3 and metrics.platforms[-1].platforms == 3
    assert metrics.sent["P00"] == 20 and metrics.hours_to_removal["P00"] == 1.0
    client.force_login(caseworker)
    with clock(T0 + dt.timedelta(days=3)):
        page = client.get(reverse("casework:metrics")).content.decode()
    assert page.count("<svg") == 3 and page.count("<tr>") == TOP_PLATFORMS + 2  # the head, 12 platforms, the rest
    assert others in page and "P14" not in page


def test_metrics_take_the_median_of_an_even_number_of_removals_and_read_no_audit_event(caseworker, send_many):
    requests = send_many(4, at=T0)
    for request, hours in zip(requests, [1, 2, 4, 30], strict=True):
        with clock(request.sent_at + dt.timedelta(hours=hours)):
            takedown_transition(request=request, action="record_removal", by=caseworker)
    few, sqls, metrics = _metrics_queries(caseworker, T0 + dt.timedelta(days=3))
    assert metrics.hours_to_removal == {"ExampleTube": 3.0} and metrics.removal_rate == {"ExampleTube": 1.0}
    # Aggregated from the requests' own rows (answered_at, removed_at): the audit log is never scanned.
    assert not any("casework_auditevent" in sql for sql in sqls)
    send_many(30, at=T0 + dt.timedelta(hours=1), platform=lambda n: f"Site{n % 15}")
    many, _, metrics = _metrics_queries(caseworker, T0 + dt.timedelta(days=3))
    assert many == few and len(metrics.platforms) == TOP_PLATFORMS + 1
    assert metrics.breached_per_month == [("2026-03", 30)]


def test_the_report_list_counts_files_and_cases_for_its_page_only(client, caseworker, org):
    client.force_login(caseworker)
    factories.ReportFactory(organization=org)
    few, _ = _queries(client, reverse("casework:report_list"))
    for _ in range(60):
        factories.ReportFactory(organization=org)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("casework:report_list")).content.decode()
    assert len(captured) == few and "61 reports." in page and "Page 1 of 2" in page
    # No GROUP BY over every report before the newest 50 are taken: each count is a subquery of one report.
    assert not any('GROUP BY "casework_report"."id"' in q["sql"] for q in captured)
    assert any('= ("casework_report"."id") GROUP BY U0."report_id"' in q["sql"] for q in captured)


@pytest.mark.parametrize(("search", "expected"), [
    ("school", {"school", "élève"}),
    (" School ", {"school", "élève"}),
    ("high school", {"high school"}),
    ("élève", {"élève"}),
    ('x"school', {"quoted"}),
    ("scho", set()),
    ("x" * 60, set()),  # longer than any tag can be
])
def test_the_tag_filter_matches_whole_tags_in_the_database(caseworker, org, search, expected):
    tagged = {
        "school": ["deepfake", "school"],
        "high school": ["high school"],
        "schools": ["schools"],
        "élève": ["élève", "school"],
        "quoted": ['x"school'],
    }
    made = {}
    for name, tags in tagged.items():
        made[name] = case_open(subject=subject_create(organization=org, display_name=name), by=caseworker)
        case_tags_set(case=made[name], tags=tags, by=caseworker)
    with CaptureQueriesContext(connection) as captured:
        found = {case.subject.display_name for case in cases_search(caseworker, tag=search)}
    assert found == expected
    # The user's organisations, then the filtered cases (none when no tag can match): no pass over every case.
    assert len(captured) <= 2


def test_the_case_list_pages_in_a_total_order_with_constant_queries(client, caseworker, org):
    client.force_login(caseworker)
    for n in range(61):
        case = case_open(subject=subject_create(organization=org, display_name=f"S{n}"), by=caseworker)
        case_tags_set(case=case, tags="school", by=caseworker)
        if n == 0:
            few, _ = _queries(client, reverse("casework:case_list"), {"tag": "school"})
    many, page = _queries(client, reverse("casework:case_list"), {"tag": "school"})
    assert many == few and "61 cases." in page and "Page 1 of 2" in page
    assert cases_search(caseworker).query.order_by == ("-priority", "-created_at", "-id")


def test_the_finding_page_shows_the_combined_result_in_words_with_its_held_out_figure_never_a_percentage(
    client, caseworker, finding
):
    """A combined result stored under the old wording ("38% that this media was manipulated") is shown in the
    current one: strength in words, the figure validated on media it was not fitted to, no percentage."""
    from detection.engine.indicators import combined
    from detection.models import IndicatorResult

    IndicatorResult.objects.filter(media_item=finding.media_item, name="combined_likelihood").delete()
    IndicatorResult.objects.create(
        media_item=finding.media_item, name="combined_likelihood", version="1", score=0.38,
        value={"likelihood": 0.38}, meaning="Combined, the calibrated signals give 38% that this media was manipulated",
        evidence={"contributions": {"spectrum_high_frequency": {"contribution": -0.4}},
                  "calibrated_on": {"real": 90, "fake": 13}, "calibration_data": "the shared test set",
                  "cross_validated_auc": 0.8504},
    )
    client.force_login(caseworker)
    page = client.get(reverse("casework:finding_detail", args=[finding.pk])).content.decode()
    assert "no evidence</td>" in page and combined.HELD_OUT in page and "not a probability" in page
    assert "38%" not in page and "0.38" not in page
    assert [combined.evidence_strength(s) for s in (0.2, 0.5, 0.75, 0.95)] == ["no", "weak", "moderate", "strong"]
    assert "0.8504" not in page  # the earlier in-sample figure is never shown


def test_the_finding_page_shows_the_learned_probe_and_the_combined_result_with_their_held_out_figures(
    client, caseworker, finding
):
    """Strength in words from the likelihood ratio measured where the model was not fitted, the validated AUC and
    its interval beside it, the face-swap figure when it is lower; never the raw score."""
    from detection.models import IndicatorResult

    held_out = {"auc": 0.91, "low": 0.88, "high": 0.93, "items": 480, "method": "leave-one-generator-out",
                "ratios": [[0.0, 1.0], [0.5, 3.0], [0.99, 25.0]]}
    IndicatorResult.objects.filter(media_item=finding.media_item,
                                   name__in=["learned_clip_probe", "combined_likelihood"]).delete()
    IndicatorResult.objects.create(
        media_item=finding.media_item, name="learned_clip_probe", version="1", score=0.9931,
        value={"probe_output": 0.9931}, meaning="stored wording", weaknesses="w",
        evidence={"held_out": held_out, "face_swaps": {"auc": 0.68, "low": 0.4, "high": 0.89, "items": 20}})
    IndicatorResult.objects.create(
        media_item=finding.media_item, name="combined_likelihood", version="1", score=0.62,
        value={"likelihood": 0.62}, meaning="stored wording", weaknesses="w",
        evidence={"held_out": {**held_out, "auc": 0.87, "low": 0.83, "high": 0.9, "kinds": ["image"], "faceless": 0},
                  "contributions": {"learned_clip_probe": {"contribution": 1.2}}, "calibration_data": "twelve sources",
                  "media": {"kind": "image", "faces": 0}})
    client.force_login(caseworker)
    page = client.get(reverse("casework:finding_detail", args=[finding.pk])).content.decode()
    assert "moderate evidence</td>" in page and "weak evidence</td>" in page
    assert "AUC 0.91 (95% interval 0.88–0.93, 480 images, leave-one-generator-out)" in page
    assert "AUC 0.68" in page and "25 times as often" in page
    assert "AUC 0.87 (95% interval 0.83–0.90; 480 items of twelve sources" in page
    assert "No face was found in this image" in page  # media unlike what the combined figure was measured on
    assert "stored wording" not in page and "0.99" not in page.replace("0.99,", "") and "99%" not in page
