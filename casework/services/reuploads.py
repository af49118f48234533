"""Re-upload watch: a new finding whose media is a case's confirmed media again (same SHA-256, or PDQ
within threshold) joins that case and re-opens it, with its removed and closed requests.

Why a sweep (``reupload_watch_recent``, every few minutes under Celery beat) and not a call at the end of
a scan: findings are written by detection's scan task, and detection never imports casework
(ARCHITECTURE.md), while logic in signals is ruled out (STYLE.md). A sweep over recent findings that are
in no case yet is idempotent (an attached finding is in a case, so it is not looked at again), survives a
worker that died between the scan and the hook, and costs a re-upload at most one beat interval. The
finding stays pending: a person still confirms it, which files the new URL's takedown request.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from casework.fingerprints import fingerprints_compare, fingerprints_of, item_pdq_variants
from casework.models import Case, TakedownRequest
from casework.selectors import case_confirmed_media
from casework.services.audit import audit_record
from casework.services.cases import case_reopen
from casework.services.takedowns import TransitionRefused, takedown_transition
from detection.models import Finding

log = logging.getLogger(__name__)

State = TakedownRequest.State
REOPENED_STATES = (State.REMOVED, State.REMOVAL_VERIFIED, State.CLOSED)  # every state "reopen" leaves
LOOKBACK = dt.timedelta(days=2)  # the sweep catches up after this much downtime, no more
REUPLOADED = "Re-upload: finding {finding} ({url}) is the case's media again ({by} match)."


@dataclass(frozen=True)
class Reupload:
    finding_id: int
    case_id: int
    by: str  # "sha256" or "pdq"
    reopened_requests: list[int]


def _matching_case(finding: Finding) -> tuple[Case, str] | None:
    item = finding.media_item
    variants = item_pdq_variants(item)
    # Newest case first: a re-upload most likely belongs to the latest case about the same images.
    for case in Case.objects.filter(subject_id=finding.subject_id).order_by("-created_at"):
        known = fingerprints_of(case_confirmed_media(case).exclude(pk=item.pk))
        match = fingerprints_compare(known, sha256=item.sha256 if item.size else "", pdq_variants=variants)
        if match.matched:
            return case, match.by
    return None


def reupload_watch(*, finding: Finding) -> Reupload | None:
    """Attach ``finding`` to the case whose confirmed media it matches, and re-open that case and its
    removed/closed requests. None when it matches no case or is already in one (safe to call twice)."""
    if finding.status == Finding.Status.REJECTED or finding.cases.exists():
        return None
    if finding.media_item.cases.exists():  # staff put this file on a case themselves: not a re-upload
        return None
    found = _matching_case(finding)
    if found is None:
        return None
    case, by = found
    note = REUPLOADED.format(finding=finding.pk, url=finding.media_item.source_url or "an upload", by=by)
    reopened = []
    with transaction.atomic():
        locked = Case.objects.select_for_update().select_related("organization").get(pk=case.pk)
        # Two sweeps may race: under the case's lock, the second sees the finding already attached.
        if locked.findings.filter(pk=finding.pk).exists():
            return None
        locked.findings.add(finding)
        audit_record(
            action="case.finding_attached", actor=None, organization=locked.organization, target=locked,
            data={"finding": finding.pk, "media_item": finding.media_item_id, "match": by, "note": note},
        )
        case_reopen(case=locked, by=None, reason=note)
        for request in locked.takedown_requests.filter(state__in=REOPENED_STATES).order_by("pk"):
            try:
                takedown_transition(request=request, action="reopen", by=None, system=True, note=note)
            except TransitionRefused as exc:  # changed by a person meanwhile
                log.info("re-upload watch left request %s: %s", request.pk, exc.reason)
                continue
            reopened.append(request.pk)
    return Reupload(finding.pk, case.pk, by, reopened)


def reupload_watch_recent(*, now: dt.datetime | None = None) -> list[Reupload]:
    """Run the watch over findings of the last LOOKBACK that are in no case yet."""
    since = (now or timezone.now()) - LOOKBACK
    recent = (
        Finding.objects.filter(created_at__gte=since, cases__isnull=True)
        .exclude(status=Finding.Status.REJECTED)
        .select_related("media_item")
        .order_by("pk")
    )
    return [r for r in (reupload_watch(finding=f) for f in recent) if r is not None]
