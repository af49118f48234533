"""Removal verification: revisit each takedown request's URL and record what it serves now.

=================================  ===============  ==============================================
What the URL answers               Outcome          What the request does
=================================  ===============  ==============================================
404 or 410                         removed          sent, acknowledged, escalated → record_removal;
                                                    removed → verify_removal (a second look, an
                                                    interval later, so one blip is not "verified")
the case's media (SHA-256 equal,   still present    removed, removal verified → reopen (and the
or PDQ within threshold), itself                    case, if closed): the content came back
or on the page it serves
anything else that answers         changed          nothing: a platform's "content unavailable" page
                                                    or different content; a person looks
no answer, 5xx, refused by the     failed           nothing: absence of an answer is not removal
SSRF guard, too large
=================================  ===============  ==============================================

Requests checked: those waiting for removal (sent, acknowledged, escalated) and those removed, whose
content may return (removed, removal verified). Closed requests are left to the re-upload watch.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from casework.fingerprints import fingerprints_compare, fingerprints_of
from casework.models import Case, RecheckResult, TakedownRequest
from casework.selectors import case_confirmed_media
from casework.services.cases import case_reopen
from casework.services.takedowns import TransitionRefused, takedown_transition
from detection.revisits import Revisit, url_revisit

log = logging.getLogger(__name__)

State = TakedownRequest.State
Outcome = RecheckResult.Outcome
RECHECKED_STATES = frozenset({State.SENT, State.ACKNOWLEDGED, State.ESCALATED, State.REMOVED, State.REMOVAL_VERIFIED})
GONE_STATUSES = frozenset({404, 410})  # 410 Gone says so; 404 is how most platforms say it

GONE = "The URL answers HTTP {status}: the content is gone."
FOUND = "The case's media is there ({by} match{distance})."
NOT_FOUND = "The URL answers, but none of the case's media was found on it{distance}."
NOTHING_TO_COMPARE = "The URL answers; the case has no confirmed media to compare it with."
RETURNED = "Recheck {at:%Y-%m-%d %H:%M} UTC: the content is back at {url}."


def _transition_for(outcome: str, state: str) -> str:
    if outcome == Outcome.REMOVED:
        if state in (State.SENT, State.ACKNOWLEDGED, State.ESCALATED):
            return "record_removal"
        if state == State.REMOVED:
            return "verify_removal"
    if outcome == Outcome.STILL_PRESENT and state in (State.REMOVED, State.REMOVAL_VERIFIED):
        return "reopen"
    return ""


def _judge(revisit: Revisit, case: Case) -> tuple[str, str, int | None, str]:
    """(outcome, sha256, pdq distance, detail) of one revisit against the case's confirmed media."""
    if revisit.status in GONE_STATUSES:
        return Outcome.REMOVED, "", None, GONE.format(status=revisit.status)
    if revisit.error:
        return Outcome.FAILED, "", None, revisit.error
    known = fingerprints_of(case_confirmed_media(case))
    page_sha = revisit.page.sha256 if revisit.page else ""
    if not known.sha256 and not known.pdq:
        return Outcome.CHANGED, page_sha, None, NOTHING_TO_COMPARE
    closest = None
    for content in revisit.contents:
        match = fingerprints_compare(known, sha256=content.sha256, pdq_variants=content.pdq_variants)
        if match.matched:
            distance = f", PDQ distance {match.pdq_distance}" if match.pdq_distance is not None else ""
            detail = FOUND.format(by=match.by, distance=distance)
            return Outcome.STILL_PRESENT, content.sha256, match.pdq_distance, detail
        if match.pdq_distance is not None and (closest is None or match.pdq_distance < closest):
            closest = match.pdq_distance
    distance = f" (closest PDQ distance {closest})" if closest is not None else ""
    return Outcome.CHANGED, page_sha, closest, NOT_FOUND.format(distance=distance)


def takedown_recheck(*, request: TakedownRequest) -> RecheckResult:
    """Revisit the request's URL, record the result, and move the request on what was observed.

    The fetch runs outside any transaction (it can take minutes); the state is then re-read under a
    row lock by ``takedown_transition``, so a person who changed the request meanwhile wins: a
    transition that no longer applies is refused and only the observation is kept.
    """
    revisit = url_revisit(url=request.target_url)
    outcome, sha256, distance, detail = _judge(revisit, request.case)
    now = timezone.now()
    with transaction.atomic():
        result = RecheckResult.objects.create(
            request=request, checked_at=now, http_status=revisit.status, outcome=outcome, sha256=sha256,
            pdq_distance=distance, detail=detail,
        )
        current = TakedownRequest.objects.get(pk=request.pk)
        action = _transition_for(outcome, current.state)
        if action:
            try:
                takedown_transition(request=current, action=action, by=None, system=True,
                                    note=f"Recheck #{result.pk}: {detail}")
            except TransitionRefused as exc:
                log.info("recheck %s of request %s: %s", result.pk, request.pk, exc.reason)
                action = ""
        if action == "reopen":
            case_reopen(case=current.case, by=None, reason=RETURNED.format(at=now, url=request.target_url))
        if action:
            result.action = action
            result.save(update_fields=["action"])
    return result


def takedown_rechecks_due(*, now: dt.datetime | None = None) -> list[int]:
    """Requests whose URL is due a recheck: in RECHECKED_STATES, with a URL, not rechecked this period.

    "This period" is 90% of RECHECK_EVERY_MINUTES, so beat's jitter does not skip a round, and a
    doubled or retried beat run finds nothing due.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.RECHECK_EVERY_MINUTES * 0.9)
    due = (
        TakedownRequest.objects.filter(state__in=RECHECKED_STATES)
        .exclude(target_url="")
        .annotate(last_checked=Max("rechecks__checked_at"))
        .filter(Q(last_checked__isnull=True) | Q(last_checked__lt=cutoff))
        .order_by("pk")
    )
    return list(due.values_list("pk", flat=True))
