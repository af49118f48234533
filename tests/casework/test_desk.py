"""The caseworker's desk: today's work at a glance, the case list with its filters, the metrics, and
the audited reveal of sensitive media."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from casework.models import AuditEvent, Case, Regime, Report
from casework.selectors import cases_search, metrics_for_user, reports_search
from casework.services.cases import case_open, case_open_from_report, takedown_request_create
from casework.services.consent import subject_create
from casework.services.reveals import UNKNOWN_MEDIA
from casework.services.takedowns import takedown_transition
from casework.services.triage import case_assign, case_priority_set, case_tags_set
from tests import factories
from tests.casework.test_takedowns import clock, quick_pdf, walk  # noqa: F401 (fixture)
from tests.detection.test_scan import scan

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def sent(org, caseworker, legal, quick_pdf):  # noqa: F811
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
    assert response.status_code == 400 and UNKNOWN_MEDIA in response.content.decode()


def test_another_organisation_cannot_reveal_or_learn_of_a_finding(client, outsider, finding):
    client.force_login(outsider)
    assert client.post(reverse("casework:finding_media_reveal", args=[finding.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="media.revealed").exists()
