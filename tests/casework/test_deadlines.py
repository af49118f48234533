"""Legal clocks: computed per regime when a request is sent, shown on the pages, and checked on a
schedule that tells the assignee once when a deadline is at risk and once when it is breached."""

import datetime as dt
import time
import zoneinfo

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from casework import deadlines
from casework.models import AuditEvent, Regime, Role, TakedownRequest
from casework.services import deadlines as deadline_services
from casework.services.deadlines import DeadlineError, deadlines_check, takedown_deadline_extend
from config.celery import app as celery_app
from tests import factories
from tests.casework.test_takedowns import clock, walk

UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    """A UTC moment from ``YYYY-MM-DD HH:MM[:SS]``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def sent(new_request, legal, moment: dt.datetime, regime: str = Regime.TAKE_IT_DOWN) -> TakedownRequest:
    with clock(moment):
        return walk(new_request(regime), ["prepare", "send"], legal)


# --- Computation ----------------------------------------------------------------------------------


def test_take_it_down_is_48_hours_from_sending(new_request, legal):
    request = sent(new_request, legal, at("2025-06-03 09:15"))
    assert request.sent_at == at("2025-06-03 09:15")
    assert request.deadline_at == at("2025-06-05 09:15")
    assert AuditEvent.objects.get(action="takedown_request.send").data["deadline_at"] == "2025-06-05T09:15:00+00:00"


def test_the_48_hour_clock_does_not_stop_on_weekends(new_request, legal):
    friday_evening = at("2025-03-07 18:00")
    request = sent(new_request, legal, friday_evening)
    assert request.deadline_at == at("2025-03-09 18:00")
    assert request.deadline_at.weekday() == 6  # a Sunday: due then, not on Monday


@override_settings(TIME_ZONE="America/New_York")
def test_the_48_hour_clock_counts_elapsed_hours_across_a_daylight_saving_change(new_request, legal):
    # Saturday noon in New York, the day before clocks go forward (9 March 2025).
    request = sent(new_request, legal, at("2025-03-08 17:00"))
    assert request.deadline_at - request.sent_at == dt.timedelta(hours=48)
    local = request.deadline_at.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert (local.day, local.hour) == (10, 13)  # 49 hours on the wall clock, 48 real ones
    assert request.deadline_at.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("sent_on", "due"),
    [
        ("2025-01-15 10:00", "2025-02-17 23:59:59"),  # 15 Feb 2025 is a Saturday: runs to Monday
        ("2025-03-12 10:00", "2025-04-14 23:59:59"),  # 12 Apr is a Saturday too
        ("2025-01-31 10:00", "2025-02-28 23:59:59"),  # no 31 February: the month's last day (a Friday)
        ("2024-01-31 10:00", "2024-02-29 23:59:59"),  # leap year
        ("2023-01-31 10:00", "2023-02-28 23:59:59"),
        ("2024-12-31 23:00", "2025-01-31 23:59:59"),  # across the year
        ("2025-02-08 08:00", "2025-03-10 23:59:59"),  # 8 March 2025 is a Saturday
        ("2026-01-31 08:00", "2026-03-02 23:59:59"),  # 28 Feb 2026 (the clamp) is a Saturday
        ("2025-05-05 00:00", "2025-06-05 23:59:59"),  # the day of receipt is not counted: whole days
    ],
)
def test_gdpr_is_one_calendar_month_to_the_end_of_a_working_day(sent_on, due):
    assert deadlines.deadline_compute(regime=Regime.GDPR, sent_at=at(sent_on)) == at(due)


@override_settings(TIME_ZONE="Europe/Berlin")
def test_gdpr_months_are_counted_in_the_deployments_time_zone(new_request, legal):
    # 23:30 UTC on 31 January is already 1 February in Berlin: the month runs to the end of 1 March there.
    request = sent(new_request, legal, at("2024-01-31 23:30"), Regime.GDPR)
    assert request.deadline_at == at("2024-03-01 22:59:59")  # 23:59:59 CET
    with override_settings(TIME_ZONE="UTC"):
        assert deadlines.deadline_compute(regime=Regime.GDPR, sent_at=request.sent_at) == at("2024-02-29 23:59:59")


@override_settings(DSA_RESPONSE_HOURS=24, DMCA_RESPONSE_HOURS=36, DELISTING_RESPONSE_HOURS=240)
@pytest.mark.parametrize(("regime", "hours"), [(Regime.DSA, 24), (Regime.DMCA, 36), (Regime.DELISTING, 240)])
def test_dsa_dmca_and_delisting_use_the_configured_targets(regime, hours):
    start = at("2025-12-31 20:00")
    assert deadlines.deadline_compute(regime=regime, sent_at=start) == start + dt.timedelta(hours=hours)


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        deadlines.deadline_compute(regime=Regime.TAKE_IT_DOWN, sent_at=dt.datetime(2025, 1, 1, 12))


def test_deadlines_are_stored_in_utc_whatever_the_time_zone(new_request, legal, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    request = sent(new_request, legal, at("2025-06-03 09:15"))
    request.refresh_from_db()
    assert request.deadline_at == at("2025-06-05 09:15")


def test_at_risk_when_a_quarter_of_the_period_is_left(new_request, legal):
    request = sent(new_request, legal, at("2025-06-02 00:00"))
    def state(hours: float) -> str:
        return deadlines.deadline_state(request, request.sent_at + dt.timedelta(hours=hours)).status

    assert (state(35.9), state(36.1), state(47.9), state(48)) == (
        deadlines.ON_TRACK, deadlines.AT_RISK, deadlines.AT_RISK, deadlines.BREACHED
    )


def test_the_clock_stops_when_the_platform_acts(new_request, legal):
    request = walk(sent(new_request, legal, at("2025-06-02 00:00")), ["record_removal"], legal)
    assert deadlines.deadline_state(request, at("2025-07-01 00:00")) is None


# --- GDPR extension -------------------------------------------------------------------------------


def test_a_gdpr_extension_adds_two_months_and_is_audited(new_request, legal, caseworker):
    request = sent(new_request, legal, at("2025-01-31 10:00"), Regime.GDPR)
    assert request.deadline_at == at("2025-02-28 23:59:59")
    extended = takedown_deadline_extend(request=request, by=caseworker, reason="complex request",
                                        notified_at=at("2025-02-20 12:00"))
    assert extended.deadline_at == at("2025-04-30 23:59:59")
    event = AuditEvent.objects.get(action="takedown_request.deadline_extended")
    assert event.actor == caseworker and event.data["reason"] == "complex request"
    assert event.data["to"] == "2025-04-30T23:59:59+00:00"


def test_gdpr_extension_rules(new_request, legal, outsider):
    request = sent(new_request, legal, at("2025-01-31 10:00"), Regime.GDPR)
    cases = [
        ({"reason": " "}, deadline_services.EXTENSION_NEEDS_REASON),
        ({"by": outsider}, deadline_services.ROLE_REQUIRED),
        ({"notified_at": at("2025-03-01 00:00")},
         deadline_services.EXTENSION_TOO_LATE.format(deadline=request.deadline_at, notified=at("2025-03-01 00:00"))),
    ]
    for overrides, message in cases:
        with pytest.raises(DeadlineError) as error:
            takedown_deadline_extend(**{"request": request, "by": legal, "reason": "busy",
                                        "notified_at": at("2025-02-01 00:00"), **overrides})
        assert error.value.reason == message
    takedown_deadline_extend(request=request, by=legal, reason="busy", notified_at=at("2025-02-01 00:00"))
    with pytest.raises(DeadlineError) as error:
        takedown_deadline_extend(request=request, by=legal, reason="again", notified_at=at("2025-02-02 00:00"))
    assert error.value.reason == deadline_services.EXTENSION_TWICE.format(date=at("2025-02-01 00:00"))


def test_only_a_running_gdpr_request_can_be_extended(new_request, legal):
    tida = sent(new_request, legal, at("2025-01-31 10:00"))
    with pytest.raises(DeadlineError) as error:
        takedown_deadline_extend(request=tida, by=legal, reason="x")
    assert error.value.reason == deadline_services.EXTENSION_ONLY_GDPR
    draft = new_request(Regime.GDPR)
    with pytest.raises(DeadlineError) as error:
        takedown_deadline_extend(request=draft, by=legal, reason="x")
    assert error.value.reason == deadline_services.EXTENSION_NOT_RUNNING


# --- The scheduled check --------------------------------------------------------------------------


@pytest.fixture
def assignee(org):
    user = factories.staff(org, Role.CASEWORKER)
    user.email = "assignee@support.example.org"
    user.save()
    return user


def test_the_check_tells_the_assignee_once_at_risk_and_once_breached(new_request, legal, assignee):
    request = new_request(assignee=assignee)
    with clock(at("2025-06-02 00:00")):
        request = walk(request, ["prepare", "send"], legal)
    on_track = deadlines_check(now=at("2025-06-03 00:00"))
    assert (on_track.at_risk, on_track.breached, mail.outbox) == ([], [], [])

    assert deadlines_check(now=at("2025-06-03 13:00")).at_risk == [request.pk]
    assert deadlines_check(now=at("2025-06-03 14:00")).at_risk == []  # once
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["assignee@support.example.org"] and "at risk" in message.subject
    assert request.case.reference in message.subject and "2025-06-04 00:00 UTC" in message.body
    assert "Subject" not in message.body  # the subject's name never leaves in staff e-mail

    assert deadlines_check(now=at("2025-06-04 00:00")).breached == [request.pk]
    assert deadlines_check(now=at("2025-06-05 00:00")).breached == []
    assert len(mail.outbox) == 2 and "breached" in mail.outbox[1].subject
    request.refresh_from_db()
    assert request.at_risk_notified_at == at("2025-06-03 13:00")
    assert request.breached_notified_at == at("2025-06-04 00:00")
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="takedown_request.deadline_")] == [
        "takedown_request.deadline_at_risk", "takedown_request.deadline_breached",
    ]


def test_a_request_first_seen_after_its_deadline_is_reported_breached_only(new_request, legal, assignee):
    request = new_request(assignee=assignee)
    with clock(at("2025-06-02 00:00")):
        walk(request, ["prepare", "send"], legal)
    summary = deadlines_check(now=at("2025-06-10 00:00"))
    assert (summary.at_risk, summary.breached) == ([], [request.pk])
    assert len(mail.outbox) == 1


def test_requests_whose_clock_stopped_are_not_flagged(new_request, legal, assignee):
    request = new_request(assignee=assignee)
    with clock(at("2025-06-02 00:00")):
        walk(request, ["prepare", "send", "record_removal"], legal)
    summary = deadlines_check(now=at("2025-06-10 00:00"))
    assert (summary.at_risk, summary.breached, mail.outbox) == ([], [], [])


def test_without_an_assignee_address_the_admins_are_told(org, new_request, legal, caseworker, admin):
    admin.email = "admin@support.example.org"
    admin.save()
    with clock(at("2025-06-02 00:00")):
        walk(new_request(), ["prepare", "send"], legal)
    deadlines_check(now=at("2025-06-10 00:00"))
    assert [m.to for m in mail.outbox] == [["admin@support.example.org"]]


def test_a_failing_mail_server_leaves_the_flag_for_the_next_run(new_request, legal, assignee, monkeypatch):
    request = new_request(assignee=assignee)
    with clock(at("2025-06-02 00:00")):
        walk(request, ["prepare", "send"], legal)

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(deadline_services, "send_mail", broken)
    assert deadlines_check(now=at("2025-06-10 00:00")).breached == []
    request.refresh_from_db()
    assert request.breached_notified_at is None
    assert not AuditEvent.objects.filter(action="takedown_request.deadline_breached").exists()
    monkeypatch.undo()
    assert deadlines_check(now=at("2025-06-10 00:15")).breached == [request.pk]


def test_an_extension_restarts_the_warnings(new_request, legal, assignee):
    request = new_request(Regime.GDPR, assignee=assignee)
    with clock(at("2025-01-31 10:00")):
        request = walk(request, ["prepare", "send"], legal)
    assert deadlines_check(now=at("2025-02-25 00:00")).at_risk == [request.pk]
    takedown_deadline_extend(request=request, by=legal, reason="complex", notified_at=at("2025-02-25 01:00"))
    assert deadlines_check(now=at("2025-03-01 00:00")).at_risk == []
    assert deadlines_check(now=at("2025-04-20 00:00")).at_risk == [request.pk]


# --- Pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("now", "label"), [("2025-06-02 01:00", "on track"), ("2025-06-03 13:00", "at risk"),
                                            ("2025-06-04 01:00", "breached")])
def test_the_case_and_takedown_pages_show_the_deadline(client, new_request, legal, now, label):
    with clock(at("2025-06-02 00:00")):
        request = walk(new_request(), ["prepare", "send"], legal)
    client.force_login(legal)
    with clock(at(now)):
        for url in (reverse("casework:case_detail", args=[request.case_id]),
                    reverse("casework:takedown_detail", args=[request.pk])):
            page = client.get(url).content.decode()
            assert "2025-06-04 00:00" in page and f"· {label}</span>" in page, url


def test_the_takedown_page_offers_the_gdpr_extension(client, new_request, legal):
    request = sent(new_request, legal, at("2025-01-31 10:00"), Regime.GDPR)
    client.force_login(legal)
    with clock(at("2025-02-10 00:00")):
        url = reverse("casework:takedown_detail", args=[request.pk])
        assert "Record a two-month extension" in client.get(url).content.decode()
        response = client.post(reverse("casework:takedown_deadline_extend", args=[request.pk]), {"reason": "complex"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.deadline_at == at("2025-04-30 23:59:59")


# --- Celery ---------------------------------------------------------------------------------------


def test_the_beat_schedule_names_registered_tasks():
    celery_app.loader.import_default_modules()
    schedule = celery_app.conf.beat_schedule
    assert schedule["deadlines-check"]["task"] == "casework.tasks.deadlines_check"
    assert schedule["deadlines-check"]["schedule"] == 15 * 60
    for entry in schedule.values():
        assert entry["task"] in celery_app.tasks, entry


def test_the_task_runs_the_check(new_request, legal, assignee):
    from casework.tasks import deadlines_check as task

    with clock(dt.datetime.now(UTC) - dt.timedelta(days=3)):
        request = walk(new_request(assignee=assignee), ["prepare", "send"], legal)
    assert task.delay().get() == {"at_risk": [], "breached": [request.pk]}


def test_beat_sends_the_deadline_check_through_the_broker_to_a_worker(worker, new_request, legal, assignee):
    from celery.beat import Scheduler

    with clock(dt.datetime.now(UTC) - dt.timedelta(days=3)):
        request = walk(new_request(assignee=assignee), ["prepare", "send"], legal)
    # Beat's own scheduler, loaded from the settings' schedule, publishes the entry as it does when due.
    scheduler = Scheduler(app=celery_app, lazy=False)
    entry = scheduler.schedule["deadlines-check"]
    scheduler.apply_entry(entry, producer=scheduler.producer)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        request.refresh_from_db()
        if request.breached_notified_at is not None:
            break
        time.sleep(0.2)
    assert request.breached_notified_at is not None
    assert [m.to for m in mail.outbox] == [["assignee@support.example.org"]]
