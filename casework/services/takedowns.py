"""Takedown requests as an explicit state machine.

A plain transitions table rather than django-fsm(-2): the table is the documentation, the tests
walk it, and the one service below applies it with a row lock and an audit event. django-fsm would
add a dependency, and its ``protected`` field and ``@transition`` methods on the model would put
the logic on the model, which this codebase keeps in services.

Roles: *staff* is caseworker, legal and admin; *legal* is legal and admin. Recording what a platform
did, verifying and re-opening is work any staff member does; what commits the organisation legally
(declaring a request ready, sending it, escalating, giving up without removal) is legal's.
Reclaim itself (the scheduled URL recheck, the re-upload watch) may record a removal, verify it and
re-open, from what it observed (SYSTEM_ACTIONS); the audit event then names no person.

=====================  ==================  ==================  =======  ===========================
From                   Action              To                  Roles    Note
=====================  ==================  ==================  =======  ===========================
draft                  prepare             ready               legal    by notice_generate where
                                                                            the regime has a notice
reopened               prepare             ready               legal
ready                  send                sent                legal    starts the legal clock
sent                   acknowledge         acknowledged        staff
sent, acknowledged,    record_removal      removed             staff
escalated
sent, acknowledged     record_refusal      refused             staff
sent, acknowledged     record_no_response  no_response         staff    only after the deadline
refused, no_response   escalate            escalated           legal    regulator, court, FTC
removed, escalated     verify_removal      removal_verified    staff    URL rechecked: gone
removal_verified       close               closed              staff
refused, no_response,  close               closed              legal    closed without removal
escalated
removed,               reopen              reopened            staff    the content came back
removal_verified,
closed
=====================  ==================  ==================  =======  ===========================
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from casework import deadlines
from casework.access import role_in
from casework.models import Role, TakedownRequest
from casework.services.audit import audit_record
from detection.engine.errors import ReadableError

State = TakedownRequest.State
STAFF = frozenset({Role.CASEWORKER, Role.LEGAL, Role.ADMIN})
LEGAL = frozenset({Role.LEGAL, Role.ADMIN})

ACTIONS = {
    "prepare": _("Mark ready to send"),
    "send": _("Mark as sent"),
    "acknowledge": _("Platform acknowledged"),
    "record_removal": _("Content removed"),
    "record_refusal": _("Platform refused"),
    "record_no_response": _("No response by the deadline"),
    "escalate": _("Escalate"),
    "verify_removal": _("Removal verified"),
    "close": pgettext_lazy("close a takedown request", "Close"),
    "reopen": _("Content is back: re-open"),
}


@dataclass(frozen=True)
class Transition:
    to: str
    roles: frozenset[str]


def _from(states, action: str, to: str, roles: frozenset[str]) -> dict[tuple[str, str], Transition]:
    return {(state, action): Transition(to, roles) for state in states}


TRANSITIONS: dict[tuple[str, str], Transition] = {
    **_from([State.DRAFT, State.REOPENED], "prepare", State.READY, LEGAL),
    **_from([State.READY], "send", State.SENT, LEGAL),
    **_from([State.SENT], "acknowledge", State.ACKNOWLEDGED, STAFF),
    **_from([State.SENT, State.ACKNOWLEDGED, State.ESCALATED], "record_removal", State.REMOVED, STAFF),
    **_from([State.SENT, State.ACKNOWLEDGED], "record_refusal", State.REFUSED, STAFF),
    **_from([State.SENT, State.ACKNOWLEDGED], "record_no_response", State.NO_RESPONSE, STAFF),
    **_from([State.REFUSED, State.NO_RESPONSE], "escalate", State.ESCALATED, LEGAL),
    **_from([State.REMOVED, State.ESCALATED], "verify_removal", State.REMOVAL_VERIFIED, STAFF),
    **_from([State.REMOVAL_VERIFIED], "close", State.CLOSED, STAFF),
    **_from([State.REFUSED, State.NO_RESPONSE, State.ESCALATED], "close", State.CLOSED, LEGAL),
    **_from([State.REMOVED, State.REMOVAL_VERIFIED, State.CLOSED], "reopen", State.REOPENED, STAFF),
}

# The platform answered: what stops a request's clock counting as breached (casework.selectors metrics).
ANSWERED = frozenset({State.ACKNOWLEDGED, State.REMOVED, State.REFUSED})

# What Reclaim itself may do, with no person acting (``system=True``): record what a recheck of the URL
# observed (gone; still gone) and re-open when content comes back. Nothing that commits the organisation
# legally: preparing, sending, escalating and closing stay with people.
SYSTEM_ACTIONS = frozenset({"record_removal", "verify_removal", "reopen"})

UNKNOWN_ACTION = _("“{action}” is not something a takedown request can do.")
TRANSITION_NOT_ALLOWED = _("A request that is “{state}” cannot be changed with “{action}”. From here: {allowed}.")
ROLE_NOT_ALLOWED = _("Your role ({role}) cannot “{action}” a takedown request; ask a colleague who is {roles}.")
PREPARE_NEEDS_NOTICE = _(
    "Generate the notice first: a {regime} request is ready to send only with a notice that has every element "
    "the law requires."
)
SYSTEM_NOT_ALLOWED = _("Reclaim does not “{action}” a takedown request on its own; a person must.")
NO_RESPONSE_TOO_EARLY = _(
    "The platform has until {deadline:%Y-%m-%d %H:%M} UTC to act; record “no response” only after that."
)


class TransitionRefused(ReadableError):
    """The request's state does not allow the action, or a guard refuses it."""


class TransitionRoleRefused(TransitionRefused):
    """The person's role does not allow the action (a page answers 403)."""


def _role_names(roles) -> str:
    joiner = pgettext("between role names: legal staff or organisation admin", " or ")
    return joiner.join(sorted(Role(r).label.lower() for r in roles))


def takedown_actions_available(*, request: TakedownRequest, role: str | None) -> list[tuple[str, str]]:
    """(action, label) a person with ``role`` may take now: the buttons a page offers."""
    now, available = timezone.now(), []
    for action, label in ACTIONS.items():
        try:
            _check(request, action, role, now)
        except TransitionRefused:
            continue
        available.append((action, label))
    return available


def _has_notice(request: TakedownRequest) -> bool:
    # A list of requests annotates ``has_notice`` (an Exists) so its buttons cost one query for the page,
    # not one per draft (casework.api.takedowns).
    annotated = getattr(request, "has_notice", None)
    return request.notices.exists() if annotated is None else annotated


def _check(request: TakedownRequest, action: str, role: str | None, now, *, system: bool = False) -> Transition:
    if action not in ACTIONS:
        raise TransitionRefused(UNKNOWN_ACTION.format(action=action))
    transition = TRANSITIONS.get((request.state, action))
    if transition is None:
        allowed = [str(label) for a, label in ACTIONS.items() if (request.state, a) in TRANSITIONS] or [
            gettext("nothing")]
        raise TransitionRefused(
            TRANSITION_NOT_ALLOWED.format(
                state=request.get_state_display(), action=ACTIONS[action], allowed=", ".join(allowed)
            )
        )
    if system:
        if action not in SYSTEM_ACTIONS:
            raise TransitionRoleRefused(SYSTEM_NOT_ALLOWED.format(action=ACTIONS[action]))
    elif role not in transition.roles:
        role_label = Role(role).label.lower() if role else gettext("none in this organisation")
        raise TransitionRoleRefused(
            ROLE_NOT_ALLOWED.format(role=role_label, action=ACTIONS[action], roles=_role_names(transition.roles))
        )
    if action == "prepare":
        from casework.services.notices import notice_available  # notices calls this module

        # Where Reclaim knows the regime's required elements, only a checked notice makes a request valid,
        # and only a valid request starts the platform's legal clock.
        if notice_available(request.regime) and not _has_notice(request):
            raise TransitionRefused(PREPARE_NEEDS_NOTICE.format(regime=request.get_regime_display()))
    # "No response" is a finding of fact about the legal clock: before the deadline it is not yet true.
    if action == "record_no_response" and request.deadline_at is not None and now < request.deadline_at:
        raise TransitionRefused(NO_RESPONSE_TOO_EARLY.format(deadline=request.deadline_at.astimezone(deadlines.UTC)))
    return transition


def takedown_transition(
    *, request: TakedownRequest, action: str, by, note: str = "", system: bool = False
) -> TakedownRequest:
    """Move a request along TRANSITIONS; one AuditEvent per change. Raises TransitionRefused.

    ``system=True`` (with ``by=None``) is Reclaim acting on its own observation: only SYSTEM_ACTIONS.
    """
    if system and by is not None:
        raise ValueError("a system transition has no person acting: pass by=None")
    with transaction.atomic():
        # Two people may press buttons at once (or a notice is generated while someone sends): the lock
        # makes the second see the first one's state and be refused if it no longer applies.
        locked = TakedownRequest.objects.select_for_update().get(pk=request.pk)
        case = locked.case
        now = timezone.now()
        transition = _check(locked, action, role_in(by, case.organization_id) if by else None, now, system=system)
        previous = locked.state
        locked.state, locked.state_changed_at = transition.to, now
        fields = ["state", "state_changed_at"]
        data = {"from": previous, "to": transition.to, "note": note.strip()}
        if action == "send":
            # A (re-)sent request starts a fresh clock, with fresh notifications and no extension.
            locked.sent_at = now
            locked.deadline_at = deadlines.deadline_compute(regime=locked.regime, sent_at=now)
            locked.deadline_extended_at, locked.deadline_extension_reason = None, ""
            locked.at_risk_notified_at = locked.breached_notified_at = None
            locked.answered_at = locked.removed_at = None
            fields += ["sent_at", "deadline_at", "deadline_extended_at", "deadline_extension_reason",
                       "at_risk_notified_at", "breached_notified_at", "answered_at", "removed_at"]
            data["deadline_at"] = locked.deadline_at.isoformat()
        elif locked.sent_at is not None:
            # The first answer and the first removal since sending, for the metrics (each kept once).
            if transition.to in ANSWERED and locked.answered_at is None:
                locked.answered_at = now
                fields.append("answered_at")
            if transition.to == State.REMOVED and locked.removed_at is None:
                locked.removed_at = now
                fields.append("removed_at")
        locked.save(update_fields=fields)
        audit_record(
            action=f"takedown_request.{action}", actor=by, organization=case.organization, target=locked, data=data
        )
    return locked
