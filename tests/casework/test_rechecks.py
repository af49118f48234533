"""Removal verification against a real HTTP server on 127.0.0.1, and the re-upload watch."""

import datetime as dt
import io

import pytest
from django.utils import timezone
from PIL import Image

from casework.models import AuditEvent, Case, RecheckResult, Regime, TakedownRequest
from casework.selectors import case_timeline
from casework.services import rechecks
from casework.services.cases import case_close, finding_confirm
from casework.services.rechecks import GONE, NOTHING_TO_COMPARE, takedown_recheck, takedown_rechecks_due
from casework.services.reuploads import REUPLOADED, reupload_watch, reupload_watch_recent
from detection.models import Finding
from tests.casework.test_takedowns import walk
from tests.detection.test_fetching import LocalServer, page
from tests.detection.test_scan import scan

S = TakedownRequest.State
Outcome = RecheckResult.Outcome
FOUND_AT = "https://example.org/posts/astronaut"


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.close()


def jpeg(data: bytes) -> tuple[int, dict, bytes]:
    return 200, {"Content-Type": "image/jpeg"}, data


def reencoded(data: bytes, *, scale: float = 0.8, format: str = "PNG") -> bytes:
    """The same picture as a re-upload would carry it: resized and in another format (other bytes)."""
    image = Image.open(io.BytesIO(data))
    image = image.resize((int(image.width * scale), int(image.height * scale)))
    out = io.BytesIO()
    image.save(out, format=format, **({"quality": 60} if format == "JPEG" else {}))
    return out.getvalue()


@pytest.fixture
def confirmed(astronaut_subject, images, caseworker):
    """A confirmed finding of the reported astronaut photo; its case and a draft request for ``url``."""

    def make(url: str) -> TakedownRequest:
        finding = scan(images["reported-astronaut.jpg"], url=FOUND_AT).findings.get()
        _, request = finding_confirm(finding=finding, by=caseworker, platform="Local", target_url=url,
                                     regime=Regime.TAKE_IT_DOWN)
        return request

    return make


@pytest.fixture
def sent(confirmed, server, legal):
    return walk(confirmed(server.url("/watch")), ["prepare", "send"], legal)


def recheck(request: TakedownRequest) -> tuple[RecheckResult, TakedownRequest]:
    result = takedown_recheck(request=request)
    request.refresh_from_db()
    return result, request


# --- Outcomes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_url_is_recorded_removed_then_verified_on_the_next_look(sent, server, status):
    server.routes["/watch"] = (status, {}, b"gone")
    result, request = recheck(sent)
    assert (result.outcome, result.http_status, result.action) == (Outcome.REMOVED, status, "record_removal")
    assert result.detail == GONE.format(status=status) and request.state == S.REMOVED
    event = AuditEvent.objects.get(action="takedown_request.record_removal")
    assert event.actor is None and event.actor_label == "system" and f"Recheck #{result.pk}" in event.data["note"]
    result, request = recheck(request)
    assert result.action == "verify_removal" and request.state == S.REMOVAL_VERIFIED
    result, request = recheck(request)
    assert result.outcome == Outcome.REMOVED and result.action == "" and request.state == S.REMOVAL_VERIFIED


def test_the_same_bytes_are_still_present(sent, server, images):
    server.routes["/watch"] = jpeg(images["reported-astronaut.jpg"])
    result, request = recheck(sent)
    assert result.outcome == Outcome.STILL_PRESENT and result.http_status == 200
    assert result.sha256 == sent.case.findings.get().media_item.sha256
    assert result.action == "" and request.state == S.SENT  # still waiting for the platform


def test_a_re_encoded_copy_is_still_present_by_pdq(sent, server, images):
    server.routes["/watch"] = (200, {"Content-Type": "image/png"}, reencoded(images["reported-astronaut.jpg"]))
    result, _ = recheck(sent)
    assert result.outcome == Outcome.STILL_PRESENT
    assert result.pdq_distance is not None and result.pdq_distance <= 31
    assert "pdq match" in result.detail


def test_the_content_is_found_on_the_page_that_shows_it(sent, server, images):
    server.routes["/watch"] = page('<h1>A post</h1><img src="/media/1.jpg">')
    server.routes["/media/1.jpg"] = jpeg(images["reported-astronaut.jpg"])
    result, _ = recheck(sent)
    assert result.outcome == Outcome.STILL_PRESENT


def test_a_page_without_the_content_has_changed(sent, server, images):
    server.routes["/watch"] = page('<p>This content is no longer available.</p><img src="/media/other.jpg">')
    server.routes["/media/other.jpg"] = jpeg(images["reported-coffee.jpg"])
    result, request = recheck(sent)
    assert result.outcome == Outcome.CHANGED and result.http_status == 200
    assert result.pdq_distance is not None and result.pdq_distance > 31
    assert result.action == "" and request.state == S.SENT  # a person decides what the new page means


def test_a_server_error_is_no_answer_and_changes_nothing(sent, server):
    server.routes["/watch"] = (503, {}, b"busy")
    result, request = recheck(sent)
    assert (result.outcome, result.http_status, result.action) == (Outcome.FAILED, 503, "")
    assert request.state == S.SENT


def test_a_private_address_is_refused_by_the_fetch_guard(confirmed, legal):
    request = walk(confirmed("http://10.0.0.1/watch"), ["prepare", "send"], legal)
    result, request = recheck(request)
    assert result.outcome == Outcome.FAILED and result.http_status is None
    assert "not allowed" in result.detail and request.state == S.SENT


def test_a_case_without_confirmed_media_cannot_say_still_present(org, caseworker, legal, server):
    from casework.services.cases import case_open, takedown_request_create
    from casework.services.consent import subject_create

    case = case_open(subject=subject_create(organization=org, display_name="Reported by URL only"), by=caseworker)
    request = takedown_request_create(case=case, platform="Local", target_url=server.url("/watch"),
                                      regime=Regime.TAKE_IT_DOWN, by=legal)
    request = walk(request, ["prepare", "send"], legal)
    server.routes["/watch"] = page("<p>anything</p>")
    result, _ = recheck(request)
    assert result.outcome == Outcome.CHANGED and result.detail == NOTHING_TO_COMPARE


def test_content_back_after_removal_re_opens_the_request_and_the_case(sent, server, images, caseworker):
    server.routes["/watch"] = (404, {}, b"")
    _, request = recheck(sent)
    case = case_close(case=request.case, by=caseworker)
    assert case.status == Case.Status.CLOSED
    server.routes["/watch"] = jpeg(images["reported-astronaut.jpg"])
    result, request = recheck(request)
    assert result.action == "reopen" and request.state == S.REOPENED
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert AuditEvent.objects.get(action="case.reopened").actor is None


def test_every_recheck_is_on_the_case_timeline(sent, server):
    server.routes["/watch"] = (404, {}, b"")
    recheck(sent)
    entries = [e for e in case_timeline(sent.case) if e.what.startswith("URL rechecked")]
    assert [(e.what, e.about) for e in entries] == [("URL rechecked: Removed", f"Request #{sent.pk}")]


# --- Which requests, and the scheduled task ------------------------------------------------------

def test_only_requests_waiting_or_removed_with_a_url_are_due(sent, server, legal):
    from casework.services.cases import takedown_request_create

    for url in (server.url("/draft"), ""):
        takedown_request_create(case=sent.case, platform="Local", target_url=url, regime=Regime.DSA, by=legal)
    assert takedown_rechecks_due() == [sent.pk]
    server.routes["/watch"] = (404, {}, b"")
    recheck(sent)
    assert takedown_rechecks_due() == []  # checked this period
    assert takedown_rechecks_due(now=timezone.now() + dt.timedelta(hours=1)) == [sent.pk]


def test_the_scheduled_task_rechecks_each_due_url(sent, server):
    from casework.tasks import takedown_recheck as one
    from casework.tasks import takedown_rechecks_schedule

    server.routes["/watch"] = (410, {}, b"")
    assert takedown_rechecks_schedule.delay().get() == [sent.pk]
    assert RecheckResult.objects.get().outcome == Outcome.REMOVED
    assert one.apply(args=[987654]).get() is None  # a deleted request is logged, not an error


def test_the_beat_schedule_has_the_recheck_and_the_watch():
    from config.celery import app

    schedule = app.conf.beat_schedule
    assert schedule["takedown-rechecks"]["task"] == "casework.tasks.takedown_rechecks_schedule"
    assert schedule["takedown-rechecks"]["schedule"] == 60 * 60
    assert schedule["reupload-watch"]["task"] == "casework.tasks.reupload_watch"
    assert {"casework.tasks.takedown_recheck", "casework.tasks.reupload_watch"} <= set(app.tasks)


def test_system_transitions_are_limited_to_what_a_recheck_observes(sent):
    from casework.services.takedowns import SYSTEM_NOT_ALLOWED, TransitionRoleRefused, takedown_transition

    with pytest.raises(TransitionRoleRefused) as refused:
        takedown_transition(request=sent, action="acknowledge", by=None, system=True)
    assert refused.value.reason == SYSTEM_NOT_ALLOWED.format(action="Platform acknowledged")
    with pytest.raises(TransitionRoleRefused):  # without system=True, no person means no role
        takedown_transition(request=sent, action="record_removal", by=None)


# --- Re-upload watch ------------------------------------------------------------------------------

@pytest.fixture
def closed_case(confirmed, legal, caseworker):
    request = walk(confirmed("https://video.example.com/watch/1"),
                   ["prepare", "send", "record_removal", "verify_removal", "close"], legal)
    return case_close(case=request.case, by=caseworker), request


def test_a_re_upload_of_the_same_file_re_opens_the_case_and_its_requests(closed_case, images):
    case, request = closed_case
    finding = scan(images["reported-astronaut.jpg"], url="https://mirror.example.net/p/9").findings.get()
    assert finding.status == Finding.Status.PENDING and not finding.cases.exists()
    found = reupload_watch_recent()
    assert [(r.finding_id, r.case_id, r.by, r.reopened_requests) for r in found] == [
        (finding.pk, case.pk, "sha256", [request.pk])
    ]
    case.refresh_from_db()
    request.refresh_from_db()
    assert case.status == Case.Status.OPEN and request.state == S.REOPENED
    assert finding in case.findings.all()
    event = AuditEvent.objects.get(action="case.finding_attached")
    assert event.data["note"] == REUPLOADED.format(finding=finding.pk, url="https://mirror.example.net/p/9",
                                                   by="sha256")
    assert reupload_watch_recent() == []  # attached once
    finding.refresh_from_db()
    assert finding.status == Finding.Status.PENDING  # a person still confirms it


def test_a_resized_re_upload_is_recognised_by_pdq(closed_case, images):
    case, _ = closed_case
    copy = reencoded(images["reported-astronaut.jpg"], scale=0.9, format="JPEG")
    finding = scan(copy, url="https://mirror.example.net/p/10").findings.get()
    result = reupload_watch(finding=finding)
    assert result is not None and (result.case_id, result.by) == (case.pk, "pdq")


def test_other_media_of_the_subject_is_not_a_re_upload(closed_case, images):
    case, _ = closed_case
    other = scan(images["reference.jpg"], url="https://elsewhere.example.org/x").findings.get()
    assert reupload_watch(finding=other) is None
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED


def test_the_watch_task_runs_the_sweep(closed_case, images):
    from casework.tasks import reupload_watch as task

    finding = scan(images["reported-astronaut.jpg"], url="https://mirror.example.net/p/11").findings.get()
    assert task.delay().get() == [finding.pk]


def test_the_recheck_module_documents_its_outcomes():
    assert {o.value for o in Outcome} <= set(rechecks.__doc__.replace("still present", "still_present").split())
