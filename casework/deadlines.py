"""The legal clock of each regime: when a platform must have acted on a request sent at a given time.

Pure computation (settings are read, nothing is written); ``casework.services.deadlines`` acts on it.
``deadline_status_filter`` is the same computation as a database filter, for lists.
All datetimes are time-zone aware and returned in UTC.

=============  ===========================  ================================================================
Regime         Clock                        Source
=============  ===========================  ================================================================
TAKE IT DOWN   48 hours, elapsed time       Pub. L. 119-12 § 3(a)(3): remove "as soon as possible, but not
                                            later than 48 hours after receiving" a valid request. Hours run
                                            through nights, weekends and DST changes alike.
GDPR           1 calendar month, + 2 with   Art. 12(3). Months are counted per Regulation 1182/71 Art. 3
               notice                       (the EDPB's and ICO's reading): the day of receipt is not
                                            counted; the period ends at the end of the same date in the
                                            month after (or the month's last day, e.g. 31 Jan → 28/29 Feb);
                                            a period ending on a Saturday or Sunday runs to the end of the
                                            next Monday. Public holidays vary by member state and are not
                                            counted, which errs on the early side.
DSA            DSA_RESPONSE_HOURS           Art. 16(6) says "timely"; the hours are an organisational target.
DMCA           DMCA_RESPONSE_HOURS          17 U.S.C. 512(c)(1)(C) says "expeditiously"; ditto.
Delisting      DELISTING_RESPONSE_HOURS     No statute outside the GDPR (use the GDPR regime for an Art. 17
                                            delisting request); an organisational target.
=============  ===========================  ================================================================
"""

from __future__ import annotations

import calendar
import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q, Value
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import pgettext

from casework.models import Regime, TakedownRequest

UTC = dt.UTC

ON_TRACK = "on_track"
AT_RISK = "at_risk"
BREACHED = "breached"

# While the request is with the platform its clock runs; any other state stopped it or never started it.
CLOCK_RUNNING = frozenset({TakedownRequest.State.SENT, TakedownRequest.State.ACKNOWLEDGED})

GDPR_MONTHS = 1
GDPR_EXTENSION_MONTHS = 2


def _hours(regime: str) -> int | None:
    return {
        Regime.TAKE_IT_DOWN: 48,
        Regime.DSA: settings.DSA_RESPONSE_HOURS,
        Regime.DMCA: settings.DMCA_RESPONSE_HOURS,
        Regime.DELISTING: settings.DELISTING_RESPONSE_HOURS,
    }.get(regime)


def _require_aware(moment: dt.datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone: deadlines are computed from aware datetimes only")


def add_months(day: dt.date, months: int) -> dt.date:
    """The same date ``months`` later, or that month's last day when it has no such date."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _end_of_working_day(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    while day.weekday() >= 5:  # Saturday, Sunday: Regulation 1182/71 Art. 3(4)
        day += dt.timedelta(days=1)
    # The end of the day is the first instant of the next one; 23:59:59 reads better on a page and in
    # an e-mail, and one second early is the safe side.
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone).astimezone(UTC)


def months_deadline(sent_at: dt.datetime, months: int) -> dt.datetime:
    """End of the period of ``months`` calendar months from ``sent_at``, in the deployment's time zone."""
    _require_aware(sent_at)
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local_day = sent_at.astimezone(zone).date()
    return _end_of_working_day(add_months(local_day, months), zone)


def deadline_compute(*, regime: str, sent_at: dt.datetime) -> dt.datetime:
    _require_aware(sent_at)
    if regime == Regime.GDPR:
        return months_deadline(sent_at, GDPR_MONTHS)
    hours = _hours(regime)
    if hours is None:
        raise ValueError(f"no deadline is defined for regime {regime!r}")
    # Elapsed time, computed in UTC: the clock stops for no weekend, night or daylight-saving change.
    return sent_at.astimezone(UTC) + dt.timedelta(hours=hours)


def deadline_extended_compute(*, sent_at: dt.datetime) -> dt.datetime:
    """GDPR Art. 12(3): the one month "may be extended by two further months", so three in all."""
    return months_deadline(sent_at, GDPR_MONTHS + GDPR_EXTENSION_MONTHS)


@dataclass(frozen=True)
class DeadlineState:
    deadline_at: dt.datetime
    status: str  # ON_TRACK, AT_RISK or BREACHED
    remaining: dt.timedelta

    @property
    def label(self) -> str:
        return {ON_TRACK: pgettext("deadline", "on track"), AT_RISK: pgettext("deadline", "at risk"),
                BREACHED: pgettext("deadline", "breached")}[self.status]


def deadline_state(request: TakedownRequest, now: dt.datetime) -> DeadlineState | None:
    """Where a request stands against its clock; None when its clock is not running."""
    if request.state not in CLOCK_RUNNING or request.deadline_at is None or request.sent_at is None:
        return None
    remaining = request.deadline_at - now
    period = request.deadline_at - request.sent_at
    if remaining <= dt.timedelta(0):
        status = BREACHED
    elif remaining <= period * settings.DEADLINE_AT_RISK_FRACTION:
        status = AT_RISK
    else:
        status = ON_TRACK
    return DeadlineState(deadline_at=request.deadline_at, status=status, remaining=remaining)


def deadline_status_filter(status: str, now: dt.datetime) -> Q:
    """``deadline_state(request, now).status == status`` as a filter on TakedownRequest, so a list of an
    organisation's at-risk or breached requests is counted, ordered and cut in the database. The same
    arithmetic as deadline_state: breached once the deadline has passed; at risk once what remains is
    at most DEADLINE_AT_RISK_FRACTION of the period from sending to the deadline."""
    _require_aware(now)
    running = Q(state__in=CLOCK_RUNNING, deadline_at__isnull=False, sent_at__isnull=False)
    if status == BREACHED:
        return running & Q(deadline_at__lte=now)
    if status != AT_RISK:
        raise ValueError(f"{status!r} is not a deadline status a list is made of")
    remaining = ExpressionWrapper(F("deadline_at") - Value(now, output_field=DateTimeField()),
                                  output_field=DurationField())
    margin = ExpressionWrapper((F("deadline_at") - F("sent_at")) * settings.DEADLINE_AT_RISK_FRACTION,
                               output_field=DurationField())
    return running & Q(deadline_at__gt=now) & LessThanOrEqual(remaining, margin)
