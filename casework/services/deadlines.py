"""Acting on legal clocks: the scheduled check that warns assignees, and GDPR's extension.

The clocks themselves are computed in ``casework.deadlines``; a request's clock starts when it is
sent (``casework.services.takedowns``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from casework import deadlines
from casework.access import ROLE_REQUIRED, role_in
from casework.models import Membership, Regime, Role, TakedownRequest
from casework.services.audit import audit_record
from detection.engine.errors import ReadableError

log = logging.getLogger(__name__)

EXTENSION_ONLY_GDPR = _("Only GDPR requests can be extended: Art. 12(3) lets the controller take two further months.")
EXTENSION_NOT_RUNNING = _("Only a request that was sent and is waiting for the platform can be extended.")
EXTENSION_TWICE = _("This request was already extended on {date:%Y-%m-%d}; GDPR allows one extension of two months.")
EXTENSION_NEEDS_REASON = _("Record the reason the platform gave: Art. 12(3) requires the reasons for the delay.")
EXTENSION_TOO_LATE = _(
    "An extension must be notified within the first month, by {deadline:%Y-%m-%d %H:%M} UTC. Notice given on "
    "{notified:%Y-%m-%d %H:%M} UTC comes too late, so the one-month deadline stands."
)


class DeadlineError(ReadableError):
    pass


def takedown_deadline_extend(*, request: TakedownRequest, by, reason: str, notified_at: dt.datetime | None = None):
    """Record that the platform (the controller) extended a GDPR deadline by two months, with notice."""
    notified_at = notified_at or timezone.now()
    if not reason.strip():
        raise DeadlineError(EXTENSION_NEEDS_REASON)
    with transaction.atomic():
        locked = TakedownRequest.objects.select_for_update().get(pk=request.pk)
        case = locked.case
        if role_in(by, case.organization_id) is None:
            raise DeadlineError(ROLE_REQUIRED)
        if locked.regime != Regime.GDPR:
            raise DeadlineError(EXTENSION_ONLY_GDPR)
        if locked.state not in deadlines.CLOCK_RUNNING or locked.sent_at is None:
            raise DeadlineError(EXTENSION_NOT_RUNNING)
        if locked.deadline_extended_at is not None:
            raise DeadlineError(EXTENSION_TWICE.format(date=locked.deadline_extended_at))
        if notified_at > locked.deadline_at:
            raise DeadlineError(EXTENSION_TOO_LATE.format(deadline=locked.deadline_at, notified=notified_at))
        previous = locked.deadline_at
        locked.deadline_at = deadlines.deadline_extended_compute(sent_at=locked.sent_at)
        locked.deadline_extended_at, locked.deadline_extension_reason = notified_at, reason.strip()
        # A new period: the assignee is warned again when it runs short.
        locked.at_risk_notified_at = locked.breached_notified_at = None
        locked.save(update_fields=["deadline_at", "deadline_extended_at", "deadline_extension_reason",
                                   "at_risk_notified_at", "breached_notified_at"])
        audit_record(
            action="takedown_request.deadline_extended", actor=by, organization=case.organization, target=locked,
            data={"from": previous.isoformat(), "to": locked.deadline_at.isoformat(),
                  "reason": locked.deadline_extension_reason, "notified_at": notified_at.isoformat()},
        )
    return locked


@dataclass
class DeadlineCheckSummary:
    at_risk: list[int] = field(default_factory=list)
    breached: list[int] = field(default_factory=list)


def _recipients(request: TakedownRequest) -> list[str]:
    assignee = request.case.assignee
    if assignee is not None and assignee.email:
        return [assignee.email]
    # Nobody assigned (or no address): the organisation's admins must hear of it instead of nobody.
    admins = Membership.objects.filter(organization_id=request.case.organization_id, role=Role.ADMIN)
    return sorted({m.user.email for m in admins.select_related("user") if m.user.email})


def _notify(request: TakedownRequest, state: deadlines.DeadlineState) -> None:
    recipients = _recipients(request)
    if not recipients:
        log.warning("takedown request %s is %s and nobody can be e-mailed", request.pk, state.label)
        return
    # Staff e-mail leaves our systems: it names the case and platform, never the subject or the content.
    context = {"request": request, "case": request.case, "state": state}
    subject = gettext("[Reclaim] Deadline {state}: case {case}, request to {platform}").format(
        state=state.label, case=request.case.reference, platform=request.platform)
    send_mail(subject, render_to_string("casework/emails/deadline.txt", context), None, recipients)


def _flag(request: TakedownRequest, state: deadlines.DeadlineState, flag: str, now: dt.datetime) -> bool:
    with transaction.atomic():
        # Two checks may overlap (a slow run and the next beat): the conditional update lets one claim it.
        claimed = TakedownRequest.objects.filter(
            pk=request.pk, state__in=deadlines.CLOCK_RUNNING, deadline_at=request.deadline_at,
            **{f"{flag}__isnull": True},
        ).update(**{flag: now})
        if not claimed:
            return False
        audit_record(
            action=f"takedown_request.deadline_{state.status}", actor=None, organization=request.case.organization,
            target=request, data={"deadline_at": state.deadline_at.isoformat(), "regime": request.regime},
        )
        # Inside the transaction: if the mail server fails, the flag rolls back and the next run retries.
        _notify(request, state)
    return True


def deadlines_check(*, now: dt.datetime | None = None) -> DeadlineCheckSummary:
    """Flag requests whose deadline is at risk or breached, and tell the assignee once for each."""
    now = now or timezone.now()
    summary = DeadlineCheckSummary()
    pending = (
        TakedownRequest.objects.filter(
            state__in=deadlines.CLOCK_RUNNING, deadline_at__isnull=False, breached_notified_at__isnull=True
        )
        .select_related("case__assignee", "case__organization")
        .order_by("deadline_at")
    )
    for request in pending:
        state = deadlines.deadline_state(request, now)
        try:
            if state is None or state.status == deadlines.ON_TRACK:
                continue
            if state.status == deadlines.BREACHED and _flag(request, state, "breached_notified_at", now):
                summary.breached.append(request.pk)
            elif (state.status == deadlines.AT_RISK and request.at_risk_notified_at is None
                  and _flag(request, state, "at_risk_notified_at", now)):
                summary.at_risk.append(request.pk)
        except Exception:
            # One failing e-mail must not hold back the warnings for every other request.
            log.exception("deadline notification for takedown request %s failed; retried next run", request.pk)
    return summary
