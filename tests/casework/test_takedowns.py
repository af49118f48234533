"""Takedown requests move only along the documented transitions, and only for the roles allowed."""

import datetime as dt
import threading
from contextlib import contextmanager, nullcontext
from unittest import mock

import pytest
from django.db import connection
from django.urls import reverse

from casework.models import AuditEvent, Regime, Role, TakedownRequest
from casework.services import takedowns
from casework.services.notices import NoticeDraft, notice_available, notice_generate
from casework.services.takedowns import TransitionRefused, TransitionRoleRefused, takedown_transition
from tests.casework.test_notices import COMPLETE
from tests.casework.test_thin_path import NOTICE

S = TakedownRequest.State
STAFF = {Role.CASEWORKER, Role.LEGAL, Role.ADMIN}
LEGAL = {Role.LEGAL, Role.ADMIN}

# The transition table as the issue and the module docstring state it, written out independently.
EXPECTED = {
    (S.DRAFT, "prepare"): (S.READY, LEGAL),
    (S.REOPENED, "prepare"): (S.READY, LEGAL),
    (S.READY, "send"): (S.SENT, LEGAL),
    (S.SENT, "acknowledge"): (S.ACKNOWLEDGED, STAFF),
    (S.SENT, "record_removal"): (S.REMOVED, STAFF),
    (S.ACKNOWLEDGED, "record_removal"): (S.REMOVED, STAFF),
    (S.ESCALATED, "record_removal"): (S.REMOVED, STAFF),
    (S.SENT, "record_refusal"): (S.REFUSED, STAFF),
    (S.ACKNOWLEDGED, "record_refusal"): (S.REFUSED, STAFF),
    (S.SENT, "record_no_response"): (S.NO_RESPONSE, STAFF),
    (S.ACKNOWLEDGED, "record_no_response"): (S.NO_RESPONSE, STAFF),
    (S.REFUSED, "escalate"): (S.ESCALATED, LEGAL),
    (S.NO_RESPONSE, "escalate"): (S.ESCALATED, LEGAL),
    (S.REMOVED, "verify_removal"): (S.REMOVAL_VERIFIED, STAFF),
    (S.ESCALATED, "verify_removal"): (S.REMOVAL_VERIFIED, STAFF),
    (S.REMOVAL_VERIFIED, "close"): (S.CLOSED, STAFF),
    (S.REFUSED, "close"): (S.CLOSED, LEGAL),
    (S.NO_RESPONSE, "close"): (S.CLOSED, LEGAL),
    (S.ESCALATED, "close"): (S.CLOSED, LEGAL),
    (S.REMOVED, "reopen"): (S.REOPENED, STAFF),
    (S.REMOVAL_VERIFIED, "reopen"): (S.REOPENED, STAFF),
    (S.CLOSED, "reopen"): (S.REOPENED, STAFF),
}

# How to reach each state from a draft.
PATHS = {
    S.DRAFT: [],
    S.READY: ["prepare"],
    S.SENT: ["prepare", "send"],
    S.ACKNOWLEDGED: ["prepare", "send", "acknowledge"],
    S.REMOVED: ["prepare", "send", "record_removal"],
    S.REFUSED: ["prepare", "send", "record_refusal"],
    S.NO_RESPONSE: ["prepare", "send", "record_no_response"],
    S.ESCALATED: ["prepare", "send", "record_refusal", "escalate"],
    S.REMOVAL_VERIFIED: ["prepare", "send", "record_removal", "verify_removal"],
    S.CLOSED: ["prepare", "send", "record_removal", "verify_removal", "close"],
    S.REOPENED: ["prepare", "send", "record_removal", "reopen"],
}


@contextmanager
def clock(moment: dt.datetime):
    """Run the code inside at ``moment``: legal clocks are tested without waiting for them."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@pytest.fixture
def people(caseworker, legal, admin, outsider):
    return {Role.CASEWORKER: caseworker, Role.LEGAL: legal, Role.ADMIN: admin, None: outsider}


def walk(request: TakedownRequest, actions: list[str], by) -> TakedownRequest:
    """Take ``actions`` in turn, as a person would: a notice where the regime has one, "no response" late."""
    for action in actions:
        if action == "prepare" and notice_available(request.regime) and not request.notices.exists():
            notice_generate(request=request, draft=NoticeDraft.from_fields(COMPLETE[request.regime]), by=by)
            request.refresh_from_db()
        elif action == "record_no_response":
            with clock(request.deadline_at + dt.timedelta(seconds=1)):
                request = takedown_transition(request=request, action=action, by=by)
        else:
            request = takedown_transition(request=request, action=action, by=by)
    return request


def test_the_transition_table_is_the_documented_one():
    assert {key: (t.to, set(t.roles)) for key, t in takedowns.TRANSITIONS.items()} == EXPECTED
    assert set(takedowns.ACTIONS) == {action for _, action in EXPECTED}
    assert set(PATHS) == set(S.values)  # every state is reachable, so every cell below is tested


@pytest.fixture
def quick_pdf():
    """The state machine is under test here, not the PDF: hundreds of real renderings would take minutes."""
    with mock.patch("casework.services.notices.render_pdf", return_value=b"%PDF-1.7 placeholder"):
        yield


@pytest.mark.parametrize("state", S.values)
@pytest.mark.parametrize("action", list(takedowns.ACTIONS))
def test_every_transition_is_allowed_or_refused_by_state_and_role(state, action, new_request, people, admin,
                                                                  quick_pdf):
    expected = EXPECTED.get((state, action))
    for role, person in people.items():
        request = walk(new_request(Regime.DMCA), PATHS[state], admin)
        assert request.state == state
        events = AuditEvent.objects.count()
        if expected is not None and role in expected[1]:
            # "No response" needs the deadline passed; no other transition minds.
            later = clock(request.deadline_at + dt.timedelta(hours=1)) if request.deadline_at else nullcontext()
            # A draft has no notice yet; the notice guard on "prepare" has tests of its own (below and in
            # test_notices), this table is about states and roles.
            unguarded = mock.patch("casework.services.notices.notice_available", return_value=False)
            with later, unguarded:
                changed = takedown_transition(request=request, action=action, by=person, note="by the book")
            changed.refresh_from_db()
            assert changed.state == expected[0], (state, action, role)
            assert AuditEvent.objects.count() == events + 1  # one event per state change
            event = AuditEvent.objects.order_by("-pk").first()
            assert (event.action, event.actor) == (f"takedown_request.{action}", person)
            assert event.target_id == str(request.pk)
            assert (event.data["from"], event.data["to"], event.data["note"]) == (state, expected[0], "by the book")
        else:
            error = TransitionRoleRefused if expected is not None else TransitionRefused
            with pytest.raises(error) as raised:
                takedown_transition(request=request, action=action, by=person)
            if expected is None:
                assert not isinstance(raised.value, TransitionRoleRefused)
                assert raised.value.reason.startswith(takedowns.TRANSITION_NOT_ALLOWED.split("“")[0])
            else:
                assert "cannot “" in raised.value.reason
            request.refresh_from_db()
            assert request.state == state and AuditEvent.objects.count() == events


def test_an_unknown_action_is_refused_readably(new_request, admin):
    with pytest.raises(TransitionRefused) as error:
        takedown_transition(request=new_request(), action="delete", by=admin)
    assert error.value.reason == takedowns.UNKNOWN_ACTION.format(action="delete")


def test_a_refusal_says_what_the_state_allows(new_request, admin):
    with pytest.raises(TransitionRefused) as error:
        takedown_transition(request=new_request(), action="send", by=admin)
    assert error.value.reason == takedowns.TRANSITION_NOT_ALLOWED.format(
        state="Draft", action=takedowns.ACTIONS["send"], allowed=takedowns.ACTIONS["prepare"]
    )


def test_a_role_refusal_names_who_can(new_request, caseworker):
    request = new_request()
    with pytest.raises(TransitionRoleRefused) as error:
        takedown_transition(request=request, action="prepare", by=caseworker)
    assert error.value.reason == takedowns.ROLE_NOT_ALLOWED.format(
        role="caseworker", action=takedowns.ACTIONS["prepare"], roles="legal staff or organisation admin"
    )


def test_no_response_cannot_be_recorded_before_the_deadline(new_request, legal):
    request = walk(new_request(), ["prepare", "send"], legal)
    with pytest.raises(TransitionRefused) as error:
        takedown_transition(request=request, action="record_no_response", by=legal)
    assert error.value.reason == takedowns.NO_RESPONSE_TOO_EARLY.format(deadline=request.deadline_at)
    request.refresh_from_db()
    assert request.state == S.SENT


def test_a_reopened_request_goes_out_again_with_a_fresh_clock(new_request, legal):
    request = walk(new_request(), PATHS[S.REOPENED], legal)
    first_deadline = request.deadline_at
    later = request.sent_at + dt.timedelta(days=10)
    with clock(later):
        request = walk(request, ["prepare", "send"], legal)
    assert request.state == S.SENT and request.sent_at == later
    assert request.deadline_at == later + dt.timedelta(hours=48) != first_deadline


def test_a_take_it_down_request_is_ready_only_with_a_notice(new_request, legal):
    request = new_request(Regime.TAKE_IT_DOWN)
    with pytest.raises(TransitionRefused) as error:
        takedown_transition(request=request, action="prepare", by=legal)
    assert error.value.reason == takedowns.PREPARE_NEEDS_NOTICE.format(regime="US TAKE IT DOWN Act")
    request.refresh_from_db()
    assert request.state == S.DRAFT


def test_generating_a_notice_makes_the_draft_ready_through_the_state_machine(new_request, legal):
    request = new_request()
    notice_generate(request=request, draft=NoticeDraft(**NOTICE), by=legal)
    request.refresh_from_db()
    assert request.state == S.READY
    event = AuditEvent.objects.filter(action="takedown_request.prepare").get()
    assert event.actor == legal and event.data["from"] == S.DRAFT


def test_a_notice_for_a_sent_request_leaves_its_state(new_request, legal):
    request = walk(new_request(), ["prepare", "send"], legal)
    notice_generate(request=request, draft=NoticeDraft(**NOTICE), by=legal)
    request.refresh_from_db()
    assert request.state == S.SENT


# --- The page -------------------------------------------------------------------------------------


def test_the_page_offers_only_the_actions_the_role_may_take(client, new_request, caseworker, legal):
    request = walk(new_request(), ["prepare", "send"], legal)
    url = reverse("casework:takedown_detail", args=[request.pk])
    client.force_login(caseworker)
    page = client.get(url).content.decode()
    for action in ("acknowledge", "record_removal", "record_refusal"):
        assert f'name="action" value="{action}"' in page
    assert 'value="escalate"' not in page and 'value="send"' not in page
    assert 'value="record_no_response"' not in page  # not before the deadline
    assert "csrfmiddlewaretoken" in page
    with clock(request.deadline_at + dt.timedelta(minutes=1)):
        assert 'value="record_no_response"' in client.get(url).content.decode()


def test_a_button_moves_the_request(client, new_request, legal):
    request = walk(new_request(), ["prepare"], legal)
    client.force_login(legal)
    response = client.post(reverse("casework:takedown_transition", args=[request.pk]),
                           {"action": "send", "note": "e-mailed to abuse@"})
    assert response.status_code == 302 and response.url == reverse("casework:takedown_detail", args=[request.pk])
    request.refresh_from_db()
    assert request.state == S.SENT
    assert AuditEvent.objects.get(action="takedown_request.send").data["note"] == "e-mailed to abuse@"


def test_a_button_the_role_may_not_press_is_forbidden(client, new_request, legal, caseworker):
    request = walk(new_request(), ["prepare"], legal)
    client.force_login(caseworker)
    response = client.post(reverse("casework:takedown_transition", args=[request.pk]), {"action": "send"})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.state == S.READY


def test_a_stale_button_explains_instead_of_failing(client, new_request, legal):
    request = walk(new_request(), ["prepare", "send"], legal)
    client.force_login(legal)
    response = client.post(reverse("casework:takedown_transition", args=[request.pk]), {"action": "send"}, follow=True)
    assert response.status_code == 200
    assert "cannot be changed with" in response.content.decode()
    assert AuditEvent.objects.filter(action="takedown_request.send").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a database with row locks (PostgreSQL)")
def test_two_people_pressing_send_at_once_send_it_once(transactional_db, new_request, legal, admin):
    request = walk(new_request(), ["prepare"], legal)
    together = threading.Barrier(2)
    outcomes = []

    def press(person):
        together.wait()
        try:
            takedown_transition(request=request, action="send", by=person)
            outcomes.append("sent")
        except TransitionRefused:
            outcomes.append("refused")
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=press, args=(person,)) for person in (legal, admin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["refused", "sent"]
    assert AuditEvent.objects.filter(action="takedown_request.send").count() == 1


def test_a_request_keeps_its_first_answer_and_first_removal_since_it_was_last_sent(new_request, legal, caseworker,
                                                                                   quick_pdf):
    """The metrics read these from the row (no audit event): each is set once, and a re-send clears both."""
    t0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with clock(t0):
        request = walk(new_request(Regime.DMCA), ["prepare", "send"], legal)
    assert (request.answered_at, request.removed_at) == (None, None)
    steps = [("acknowledge", 2), ("record_removal", 5), ("verify_removal", 6), ("reopen", 30)]
    for action, hours in steps:
        with clock(t0 + dt.timedelta(hours=hours)):
            request = takedown_transition(request=request, action=action, by=caseworker)
    request.refresh_from_db()
    assert request.answered_at == t0 + dt.timedelta(hours=2) and request.removed_at == t0 + dt.timedelta(hours=5)
    with clock(t0 + dt.timedelta(hours=40)):
        request = walk(request, ["prepare", "send"], legal)
    request.refresh_from_db()
    assert (request.answered_at, request.removed_at) == (None, None)


def test_the_migration_fills_answered_and_removed_from_the_audit_trail(new_request, legal, caseworker, quick_pdf):
    from importlib import import_module

    from django.apps import apps

    backfill = import_module("casework.migrations.0014_takedown_request_answered_removed_backfill").backfill
    t0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with clock(t0):
        removed = walk(new_request(Regime.DMCA), ["prepare", "send"], legal)
        refused = walk(new_request(Regime.DMCA), ["prepare", "send"], legal)
        silent = walk(new_request(Regime.DMCA), ["prepare", "send"], legal)
    with clock(t0 + dt.timedelta(hours=3)):
        takedown_transition(request=removed, action="record_removal", by=caseworker)
        takedown_transition(request=refused, action="record_refusal", by=caseworker)
    kept = {r.pk: (r.answered_at, r.removed_at) for r in TakedownRequest.objects.all()}
    TakedownRequest.objects.update(answered_at=None, removed_at=None)  # as before the columns existed
    backfill(apps, None)
    assert {r.pk: (r.answered_at, r.removed_at) for r in TakedownRequest.objects.all()} == kept
    assert kept[removed.pk] == (t0 + dt.timedelta(hours=3),) * 2 and kept[silent.pk] == (None, None)
    assert kept[refused.pk] == (t0 + dt.timedelta(hours=3), None)
