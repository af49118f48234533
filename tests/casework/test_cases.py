"""Working a case: assignment, priority, tags, notes, closing and re-opening, opening one from a report,
and a timeline that shows every event."""

import pytest
from django.urls import reverse

from casework.models import AuditEvent, Case, CaseNote, Regime, Report
from casework.selectors import case_timeline
from casework.services import triage
from casework.services.cases import (
    CASE_HAS_RUNNING_REQUESTS,
    REPORT_ALREADY_OPENED,
    SUBJECT_OF_ANOTHER_ORGANISATION,
    CaseError,
    case_close,
    case_open,
    case_open_from_report,
    case_reopen,
    finding_confirm,
)
from casework.services.consent import subject_create
from casework.services.triage import (
    ASSIGNEE_NOT_MEMBER,
    NOTE_EMPTY,
    TAG_TOO_LONG,
    TOO_MANY_TAGS,
    UNKNOWN_PRIORITY,
    TriageError,
    case_assign,
    case_note_add,
    case_priority_set,
    case_tags_set,
)
from tests import factories
from tests.casework.test_takedowns import walk
from tests.detection.test_scan import scan


@pytest.fixture
def case(org, caseworker):
    return case_open(subject=subject_create(organization=org, display_name="Subject"), by=caseworker)


def events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


# --- Assignment, priority, tags -------------------------------------------------------------------

def test_a_case_is_assigned_to_a_member_once_per_change(case, caseworker, legal):
    case = case_assign(case=case, assignee=legal, by=caseworker)
    assert case.assignee == legal and events("case.assigned") == 1
    case_assign(case=case, assignee=legal, by=caseworker)  # no change, no event
    assert events("case.assigned") == 1
    case = case_assign(case=case, assignee=None, by=caseworker)
    assert case.assignee is None and events("case.assigned") == 2


def test_a_case_cannot_be_assigned_outside_its_organisation(case, caseworker, outsider):
    with pytest.raises(TriageError) as refused:
        case_assign(case=case, assignee=outsider, by=caseworker)
    assert refused.value.reason == ASSIGNEE_NOT_MEMBER.format(name=outsider.get_username())
    case.refresh_from_db()
    assert case.assignee == caseworker


def test_priority_is_one_of_four(case, caseworker):
    case = case_priority_set(case=case, priority=Case.Priority.URGENT, by=caseworker)
    assert case.priority == Case.Priority.URGENT
    event = AuditEvent.objects.get(action="case.priority_set")
    assert (event.data["from_label"], event.data["to_label"]) == ("Normal", "Urgent")
    with pytest.raises(TriageError) as refused:
        case_priority_set(case=case, priority=9, by=caseworker)
    assert refused.value.reason == UNKNOWN_PRIORITY.format(priority=9)


def test_tags_are_normalised(case, caseworker):
    case = case_tags_set(case=case, tags=" Sextortion, school ,SCHOOL,,  ex  partner ", by=caseworker)
    assert case.tags == ["ex partner", "school", "sextortion"]
    case_tags_set(case=case, tags=["school", "sextortion", "ex partner"], by=caseworker)
    assert events("case.tags_set") == 1


def test_too_many_or_too_long_tags_are_refused(case, caseworker):
    with pytest.raises(TriageError) as refused:
        case_tags_set(case=case, tags=[f"t{i}" for i in range(triage.MAX_TAGS + 1)], by=caseworker)
    assert refused.value.reason == TOO_MANY_TAGS.format(limit=triage.MAX_TAGS)
    with pytest.raises(TriageError) as refused:
        case_tags_set(case=case, tags="x" * 41, by=caseworker)
    assert refused.value.reason == TAG_TOO_LONG.format(tag="x" * 40, limit=40)


def test_a_note_is_kept_and_its_words_stay_out_of_the_audit_log(case, caseworker):
    note = case_note_add(case=case, body="  Called the subject; she wants the DSA route too.  ", by=caseworker)
    assert note.body == "Called the subject; she wants the DSA route too." and note.author == caseworker
    event = AuditEvent.objects.get(action="case.note_added")
    assert event.target_id == str(note.pk) and "DSA" not in str(event.data)
    with pytest.raises(TriageError) as refused:
        case_note_add(case=case, body="   ", by=caseworker)
    assert refused.value.reason == NOTE_EMPTY


# --- Closing and re-opening -----------------------------------------------------------------------

def test_a_case_with_a_request_waiting_for_the_platform_cannot_be_closed(case, caseworker, legal):
    from casework.services.cases import takedown_request_create

    request = walk(takedown_request_create(case=case, platform="P", target_url="https://p.example/x",
                                           regime=Regime.TAKE_IT_DOWN, by=legal), ["prepare", "send"], legal)
    with pytest.raises(CaseError) as refused:
        case_close(case=case, by=caseworker)
    assert refused.value.reason == CASE_HAS_RUNNING_REQUESTS.format(references=f"#{request.pk}")
    walk(request, ["record_removal", "verify_removal"], caseworker)
    case = case_close(case=case, by=caseworker, note="All removed")
    assert case.status == Case.Status.CLOSED and case.closed_at is not None
    case_close(case=case, by=caseworker)
    assert events("case.closed") == 1
    case = case_reopen(case=case, by=caseworker, reason="New upload reported by phone")
    assert case.status == Case.Status.OPEN and case.closed_at is None and events("case.reopened") == 1


# --- From a report --------------------------------------------------------------------------------

def test_a_case_is_opened_from_a_report_once(org, caseworker):
    report = factories.ReportFactory(organization=org)
    case = case_open_from_report(report=report, by=caseworker)
    report.refresh_from_db()
    assert case.report == report and case.organization == org and case.assignee == caseworker
    assert report.status == Report.Status.IN_REVIEW
    assert events("case.opened") == 1 and events("report.in_review") == 1
    with pytest.raises(CaseError) as refused:
        case_open_from_report(report=report, by=caseworker)
    assert refused.value.reason == REPORT_ALREADY_OPENED.format(reference=case.reference)


def test_a_report_about_a_minor_opens_a_case_that_keeps_no_imagery(org, caseworker):
    report = factories.ReportFactory(organization=org, depicts_minor=True)
    case = case_open_from_report(report=report, by=caseworker)
    case.refresh_from_db()
    assert case.depicts_minor and events("case.minor_recorded") == 1


def test_a_report_case_cannot_name_another_organisations_subject(org, other_org, caseworker):
    stranger = subject_create(organization=other_org, display_name="Someone else")
    with pytest.raises(CaseError) as refused:
        case_open_from_report(report=factories.ReportFactory(organization=org), by=caseworker, subject=stranger)
    assert refused.value.reason == SUBJECT_OF_ANOTHER_ORGANISATION


# --- Timeline -------------------------------------------------------------------------------------

def test_the_timeline_shows_every_event_of_the_case_in_order(astronaut_subject, images, caseworker, legal):
    finding = scan(images["reported-astronaut.jpg"], url="https://p.example/a").findings.get()
    case, request = finding_confirm(finding=finding, by=caseworker, platform="P", target_url="https://p.example/a",
                                    regime=Regime.TAKE_IT_DOWN)
    walk(request, ["prepare", "send"], legal)
    case_note_add(case=case, body="Platform ticket 4711", by=caseworker)
    case_priority_set(case=case, priority=Case.Priority.HIGH, by=caseworker)
    timeline = case_timeline(case)
    what = [entry.what for entry in timeline]
    expected = ["Finding confirmed", "Case opened", "Takedown request drafted", "Notice generated",
                "Mark ready to send", "Mark as sent", "Note", "Priority changed"]
    assert [w for w in what if w in expected] == expected  # in this order; a notice step may add events
    assert [entry.at for entry in timeline] == sorted(entry.at for entry in timeline)
    note = next(entry for entry in timeline if entry.what == "Note")
    assert note.detail == "Platform ticket 4711" and note.who == caseworker.get_username()
    assert f"Request #{request.pk}" in [entry.about for entry in timeline]


def test_the_timeline_leaves_out_other_cases(case, caseworker, org):
    other = case_open(subject=subject_create(organization=org, display_name="Other"), by=caseworker)
    case_note_add(case=other, body="About the other case", by=caseworker)
    assert [e.detail for e in case_timeline(case) if e.what == "Note"] == []


# --- Pages ----------------------------------------------------------------------------------------

def test_the_case_page_shows_triage_notes_and_timeline(client, case, caseworker):
    case_note_add(case=case, body="First call done", by=caseworker)
    client.force_login(caseworker)
    page = client.get(reverse("casework:case_detail", args=[case.pk])).content.decode()
    assert "Assignment, priority and tags" in page and "Timeline" in page and "First call done" in page
    assert reverse("casework:case_note_create", args=[case.pk]) in page


def _case_grown(case, caseworker, count: int, start: int = 0):
    """``count`` more confirmed findings in ``case``: each adds a media item, a finding, a takedown request
    and their timeline entries, as a confirmed scan does (the scan itself needs the face models)."""
    from detection.models import Finding, MediaItem
    from detection.services import media_ingest

    for n in range(start, start + count):
        item = media_ingest(data=b"case media %d" % n, source=MediaItem.Source.UPLOAD)
        finding = Finding.objects.create(media_item=item, subject=case.subject, organization=case.organization,
                                         kind=Finding.Kind.HASH, distance=3, threshold=31, model_version="pdq")
        finding_confirm(finding=finding, by=caseworker, platform="ExampleTube", target_url=f"https://p.example/{n}")


def _case_page(client, case, **query) -> tuple[int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("casework:case_detail", args=[case.pk]), query)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def _with_a_recheck_and_a_note(case, caseworker):
    # Every kind of timeline entry on the newest page, so the page is compared with the same kinds.
    from django.utils import timezone

    from casework.models import RecheckResult

    RecheckResult.objects.create(request=case.takedown_requests.latest("pk"), checked_at=timezone.now(),
                                 http_status=200, outcome=RecheckResult.Outcome.STILL_PRESENT, detail="Still up")
    case_note_add(case=case, body="Called the platform", by=caseworker)


def test_the_case_page_costs_the_same_queries_with_two_or_sixty_of_everything(client, case, caseworker):
    from casework.views.cases import CASE_LIST_PAGE_SIZE

    _case_grown(case, caseworker, 2)
    _with_a_recheck_and_a_note(case, caseworker)
    client.force_login(caseworker)
    small, _ = _case_page(client, case)
    _case_grown(case, caseworker, 58, start=2)
    _with_a_recheck_and_a_note(case, caseworker)
    large, page = _case_page(client, case)
    deep, _ = _case_page(client, case, requests_page=3, findings_page=2, media_page=3, timeline_page=2)
    assert small == large == deep
    opened = reverse("casework:takedown_detail", args=[0]).removesuffix("0/")  # "/takedowns/"
    assert page.count(f'href="{opened}') == CASE_LIST_PAGE_SIZE  # one page of the sixty requests


def test_each_list_of_the_case_page_has_its_own_pages(client, case, caseworker):
    from casework.views.cases import CASE_LIST_PAGE_SIZE

    _case_grown(case, caseworker, CASE_LIST_PAGE_SIZE + 1)
    case_note_add(case=case, body="The newest entry", by=caseworker)
    client.force_login(caseworker)
    first = _case_page(client, case)[1]
    requests = list(case.takedown_requests.order_by("created_at", "pk"))
    url = lambda r: reverse("casework:takedown_detail", args=[r.pk])
    assert url(requests[0]) in first and url(requests[-1]) not in first
    assert "requests_page=2#requests" in first and "findings_page=2#findings" in first
    assert "media_page=2#media" in first and "timeline_page=2#timeline" in first
    second = _case_page(client, case, requests_page=2, timeline_page=1)[1]
    assert url(requests[-1]) in second and url(requests[0]) not in second
    assert "The newest entry" in first and "The newest entry" in second  # the timeline stayed on its page 1
    assert "timeline_page=2" in second and "requests_page=1" in second  # links keep the other lists' pages


def test_the_case_page_timeline_is_newest_first_fifty_at_a_time(case, caseworker):
    from casework.selectors import TIMELINE_PAGE_SIZE, case_timeline_page

    for n in range(TIMELINE_PAGE_SIZE + 5):
        case_note_add(case=case, body=f"Note {n}", by=caseworker)
    first, second = case_timeline_page(case, 1), case_timeline_page(case, 2)
    assert len(first) == TIMELINE_PAGE_SIZE and first.paginator.count == TIMELINE_PAGE_SIZE + 6  # and "opened"
    assert first[0].detail == f"Note {TIMELINE_PAGE_SIZE + 4}" and second[-1].what == "Case opened"
    entries = list(first) + list(second)
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert [e for e in entries if e.what != "Note"] == [e for e in case_timeline(case) if e.what != "Note"]


def test_triage_through_the_page_records_only_what_changed(client, case, caseworker, legal):
    client.force_login(legal)  # any member works a case
    response = client.post(reverse("casework:case_triage", args=[case.pk]),
                           {"assignee": legal.pk, "priority": Case.Priority.HIGH, "tags": "school"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.assignee, case.priority, case.tags) == (legal, Case.Priority.HIGH, ["school"])
    assert (events("case.assigned"), events("case.priority_set"), events("case.tags_set")) == (1, 1, 1)


def test_a_refused_tag_list_saves_nothing(client, case, caseworker, legal):
    client.force_login(caseworker)
    client.post(reverse("casework:case_triage", args=[case.pk]),
                {"assignee": legal.pk, "priority": Case.Priority.HIGH, "tags": ",".join(f"t{i}" for i in range(30))})
    case.refresh_from_db()
    assert case.assignee == caseworker and case.priority == Case.Priority.NORMAL


def test_notes_and_status_through_the_page(client, case, caseworker):
    client.force_login(caseworker)
    client.post(reverse("casework:case_note_create", args=[case.pk]), {"body": "Spoke to the platform"})
    assert CaseNote.objects.get().body == "Spoke to the platform"
    client.post(reverse("casework:case_status", args=[case.pk]), {"action": "close", "note": "Done"})
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED


def test_a_report_page_opens_its_case(client, org, caseworker):
    report = factories.ReportFactory(organization=org)
    client.force_login(caseworker)
    page = client.get(reverse("casework:report_detail", args=[report.pk])).content.decode()
    assert "https://images.example.net/i/42.jpg" in page
    response = client.post(reverse("casework:report_case_open", args=[report.pk]))
    case = Case.objects.get(report=report)
    assert response.status_code == 302 and response.url == reverse("casework:case_detail", args=[case.pk])


def test_legal_staff_do_not_open_cases_from_reports(client, org, legal):
    report = factories.ReportFactory(organization=org)
    client.force_login(legal)
    assert client.post(reverse("casework:report_case_open", args=[report.pk])).status_code == 403
    assert not Case.objects.exists()
