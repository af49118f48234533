"""Reads of casework: the review queue, a case's timeline and confirmed media, the platform directory."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models import Exists, ExpressionWrapper, F, FloatField, OuterRef, Q, QuerySet
from django.db.models.functions import NullIf, TruncDate

from casework import access
from casework.models import (
    AuditEvent,
    Case,
    Notice,
    Platform,
    PlatformHost,
    RecheckResult,
    Regime,
    TakedownRequest,
)
from detection.models import FaceTemplate, Finding, IndicatorResult, MediaItem

# --- Review queue ---------------------------------------------------------------------------------

STRONGEST_SHOWN = 3


@dataclass(frozen=True)
class IndicatorSummary:
    measured: int
    applicable: int
    strongest: list[tuple[str, float]]  # (name, score), strongest first


def indicators_summarize(results: list[IndicatorResult]) -> IndicatorSummary:
    applicable = sorted((r for r in results if r.score is not None), key=lambda r: (-r.score, r.name))
    return IndicatorSummary(
        measured=len(results),
        applicable=len(applicable),
        strongest=[(r.name, r.score) for r in applicable[:STRONGEST_SHOWN]],
    )


@dataclass(frozen=True)
class ReviewEntry:
    finding: Finding
    indicators: IndicatorSummary
    reference_available: bool  # False once consent is withdrawn: the template and its photo are gone


def finding_reference_available(finding: Finding) -> bool:
    return finding.template_id is not None and FaceTemplate.objects.filter(pk=finding.template_id).exists()


def review_queue(user) -> list[ReviewEntry]:
    """Pending findings the user may review: newest day first, and within a day the strongest first.

    Strength is the distance as a share of its threshold, so face distances (0–0.6) and PDQ bit
    distances (0–31) rank together. Whole days rather than instants: ordering by the exact time first
    would make the strength order never apply.
    """
    findings = (
        access.findings_for_user(user)
        .filter(status=Finding.Status.PENDING)
        .annotate(
            found_on=TruncDate("created_at"),
            relative=ExpressionWrapper(F("distance") / NullIf(F("threshold"), 0.0), output_field=FloatField()),
            reference_available=Exists(FaceTemplate.objects.filter(pk=OuterRef("template_id"))),
        )
        .order_by("-found_on", F("relative").asc(nulls_last=True), "-created_at", "-pk")
        .prefetch_related("media_item__indicators")
    )
    return [
        ReviewEntry(f, indicators_summarize(list(f.media_item.indicators.all())), f.reference_available)
        for f in findings
    ]


# --- Cases ----------------------------------------------------------------------------------------

def case_confirmed_media(case: Case) -> QuerySet[MediaItem]:
    """What the case is about: media staff uploaded to it, and media of its confirmed findings."""
    confirmed = Q(findings__cases=case, findings__status=Finding.Status.CONFIRMED)
    return MediaItem.objects.filter(Q(cases=case) | confirmed).distinct()


ACTION_LABELS = {
    "case.opened": "Case opened",
    "case.closed": "Case closed",
    "case.reopened": "Case re-opened",
    "case.assigned": "Assigned",
    "case.priority_set": "Priority changed",
    "case.tags_set": "Tags changed",
    "case.note_added": "Note",
    "case.media_added": "Media added",
    "case.minor_recorded": "Recorded: the person depicted is a minor",
    "case.finding_attached": "Re-upload found and attached",
    "report.in_review": "Report taken into review",
    "finding.confirmed": "Finding confirmed",
    "finding.rejected": "Finding rejected",
    "notice.generated": "Notice generated",
    "takedown_request.created": "Takedown request drafted",
    "takedown_request.deadline_extended": "Deadline extended",
    "takedown_request.deadline_at_risk": "Deadline at risk",
    "takedown_request.deadline_breached": "Deadline breached",
}


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    who: str
    what: str
    about: str  # "Case", "Request #3", "Finding #7", …
    detail: str = ""


def _who(event: AuditEvent) -> str:
    if event.actor is not None:
        return event.actor.get_username()
    return "Reclaim (automatic)" if event.actor_label == "system" else event.actor_label


def _label(action: str) -> str:
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    if action.startswith("takedown_request."):
        from casework.services.takedowns import ACTIONS  # services import this module

        return ACTIONS.get(action.removeprefix("takedown_request."), action)
    return action


def _detail(event: AuditEvent, notes: dict[str, str]) -> str:
    data = event.data or {}
    if event.action == "case.note_added":
        return notes.get(event.target_id, "")
    if event.action == "case.assigned":
        return f"to {data.get('assignee_name') or 'nobody'}"
    if event.action == "case.priority_set":
        return f"{data.get('from_label', '')} → {data.get('to_label', '')}"
    if event.action == "case.tags_set":
        return ", ".join(data.get("tags", [])) or "no tags"
    if event.action == "takedown_request.created":
        return f"{data.get('platform', '')} · {data.get('url', '')}"
    for key in ("note", "reason"):
        if data.get(key):
            return str(data[key])
    return ""


_ABOUT = {
    "casework.case": "Case",
    "casework.casenote": "Case",
    "casework.report": "Report",
    "casework.takedownrequest": "Request #{id}",
    "casework.notice": "Notice #{id}",
    "detection.finding": "Finding #{id}",
}


def _about(event: AuditEvent) -> str:
    return _ABOUT.get(event.target_type, event.target_type).format(id=event.target_id)


def case_timeline(case: Case) -> list[TimelineEntry]:
    """Every event of the case, oldest first: its audit events and those of its report, requests,
    findings, notices and notes, and every recheck of its URLs (a recheck is not a state change, so it
    has a row of its own, not an audit event)."""
    request_ids = list(case.takedown_requests.values_list("pk", flat=True))
    notes = {str(pk): body for pk, body in case.notes.values_list("pk", "body")}
    targets = {
        "casework.case": [case.pk],
        "casework.report": [case.report_id] if case.report_id else [],
        "casework.takedownrequest": request_ids,
        "casework.notice": list(Notice.objects.filter(takedown_request__case=case).values_list("pk", flat=True)),
        "casework.casenote": list(notes),
        "detection.finding": list(case.findings.values_list("pk", flat=True)),
    }
    where = Q(pk__in=[])
    for target_type, ids in targets.items():
        if ids:
            where |= Q(target_type=target_type, target_id__in=[str(i) for i in ids])
    entries = [
        TimelineEntry(
            at=event.at,
            who=_who(event),
            what=_label(event.action),
            about=_about(event),
            detail=_detail(event, notes),
        )
        for event in AuditEvent.objects.filter(where, organization_id=case.organization_id).select_related("actor")
    ]
    for recheck in RecheckResult.objects.filter(request_id__in=request_ids):
        status = f"HTTP {recheck.http_status}" if recheck.http_status else "no HTTP answer"
        entries.append(TimelineEntry(
            at=recheck.checked_at, who="Reclaim (recheck)", what=f"URL rechecked: {recheck.get_outcome_display()}",
            about=f"Request #{recheck.request_id}", detail=f"{status}. {recheck.detail}".strip(),
        ))
    return sorted(entries, key=lambda e: e.at)


# --- Platform directory ---------------------------------------------------------------------------

def host_normalize(host: str) -> str:
    """Lower case, IDNA (punycode) form, no port, no trailing dot: how hosts are stored and looked up."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") or host.count(":") > 1:  # an IPv6 literal has no platform host name
        return host
    host = host.split(":", 1)[0]
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def platform_for_url(url: str) -> Platform | None:
    """The directory's platform for ``url``: the one whose host name is the URL's host or the longest
    suffix of it on a label boundary (m.example.com → example.com, never badexample.com)."""
    try:
        host = host_normalize(urlsplit(url.strip()).hostname or "")
    except ValueError:
        return None
    if not host:
        return None
    labels = host.split(".")
    # Every suffix of two labels or more: a one-label "host" (com, uk) would be a whole top-level domain.
    candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)] or [host]
    hosts = PlatformHost.objects.filter(host__in=candidates).select_related("platform")
    best = max(hosts, key=lambda h: len(h.host), default=None)
    return best.platform if best else None


def platform_recipient(platform: Platform, regime: str) -> str:
    """Where a request under ``regime`` goes: the regime's own contact point, else the abuse address."""
    own = {Regime.DMCA: platform.dmca_agent_email, Regime.DSA: platform.dsa_contact_email}.get(regime, "")
    return own or platform.abuse_email


def takedown_requests_rechecked(request: TakedownRequest, limit: int = 20):
    return request.rechecks.order_by("-checked_at")[:limit]
