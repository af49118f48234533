"""Reads of casework: the review queue, a case's timeline and confirmed media, the platform directory."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models import Count, Exists, ExpressionWrapper, F, FloatField, OuterRef, Q, QuerySet
from django.db.models.functions import NullIf, TruncDate

from casework import access
from casework.models import (
    AuditEvent,
    Case,
    Consent,
    ConsentPurpose,
    Notice,
    Platform,
    PlatformHost,
    RecheckResult,
    Regime,
    Report,
    Subject,
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


def consent_withdrawal_consequences(consent: Consent) -> list[str]:
    """What withdrawing this consent does, in the order the subject will notice it, said to them: the
    portal shows it, and a caseworker recording a withdrawal reads it out first."""
    others = consent.subject.consents.filter(withdrawn_at__isnull=True).exclude(pk=consent.pk)
    other_purposes = {p for c in others for p in c.purposes}
    lines = []
    if ConsentPurpose.LIKENESS_MATCHING in consent.purposes and ConsentPurpose.LIKENESS_MATCHING not in other_purposes:
        lines.append("Your reference photos and the face data made from them are deleted now. "
                     "We stop looking for your face in new reports and searches.")
    if ConsentPurpose.HASH_MATCHING in consent.purposes and ConsentPurpose.HASH_MATCHING not in other_purposes:
        lines.append("The fingerprints (hashes) of known images of you are deleted now, and we stop matching them.")
    if ConsentPurpose.HASH_SHARING in consent.purposes and ConsentPurpose.HASH_SHARING not in other_purposes:
        lines.append("We stop sharing those hashes with platforms. Hashes platforms already received stay with them.")
    if lines:
        lines.append("Possible matches waiting for a caseworker to check are deleted too.")
    else:
        lines.append("Another consent of yours still covers the same uses, so no data is deleted now.")
    lines.append("Your open cases carry on: removal requests already sent stay with the sites they went to.")
    lines.append("This cannot be undone here. To start again, you would give consent again with your caseworker.")
    return lines


# --- Status in plain words: for the public reporter and the subject, never for staff -------------

_PREPARING = {TakedownRequest.State.DRAFT, TakedownRequest.State.READY}
_WAITING = {
    TakedownRequest.State.SENT,
    TakedownRequest.State.ACKNOWLEDGED,
    TakedownRequest.State.NO_RESPONSE,
    TakedownRequest.State.ESCALATED,
}
_REMOVED = {TakedownRequest.State.REMOVED, TakedownRequest.State.REMOVAL_VERIFIED}
_PLAIN_REQUESTS = [
    (_PREPARING, "We are preparing {n} request{s} to have the content removed."),
    (_WAITING, "We have asked {n} time{s} for content to be removed and are waiting for the site to act."),
    (_REMOVED, "{n} removal{s} done: the content is gone from where we asked."),
    ({TakedownRequest.State.REFUSED}, "{n} request{s} refused by the site. We are looking at what else can be done."),
    ({TakedownRequest.State.REOPENED}, "Content came back in {n} place{s}. We are asking again."),
]


def takedown_requests_in_words(requests) -> list[str]:
    """One sentence per kind of progress; no platform names or URLs (a reporter may be a bystander)."""
    states = [r.state for r in requests]
    lines = []
    for group, sentence in _PLAIN_REQUESTS:
        n = sum(1 for state in states if state in group)
        if n:
            lines.append(sentence.format(n=n, s="" if n == 1 else "s"))
    return lines


def report_status_in_words(report: Report) -> list[str]:
    """What a reporter reads on the status page."""
    if report.status == Report.Status.CLOSED:
        lines = ["Your report is closed. If the content comes back or you find more, please make a new report."]
    elif report.status == Report.Status.IN_REVIEW:
        lines = ["A caseworker is working on your report."]
    else:
        lines = ["We have your report. A caseworker will read it; nothing else is needed from you now."]
    requests = TakedownRequest.objects.filter(case__report=report)
    return lines + takedown_requests_in_words(requests)


def case_status_in_words(case: Case) -> list[str]:
    """What a subject reads about one of their cases in the portal."""
    if case.status == Case.Status.CLOSED:
        lines = ["This case is closed."]
    else:
        lines = ["Your caseworker is working on this case."]
    return lines + (takedown_requests_in_words(case.takedown_requests.all()) or ["No removal requests yet."])


# --- The caseworker's desk (casework.views.desk) ---------------------------------------------------


@dataclass(frozen=True)
class DeadlineEntry:
    request: TakedownRequest
    state: object  # casework.deadlines.DeadlineState


@dataclass(frozen=True)
class Desk:
    review_count: int
    new_reports: int
    at_risk: list[DeadlineEntry]
    breached: list[DeadlineEntry]
    my_cases: list[Case]


def desk_for_user(user, *, now=None) -> Desk:
    from django.utils import timezone

    from casework import deadlines
    from casework.access import findings_for_user, organization_ids

    now = now or timezone.now()
    orgs = organization_ids(user)
    running = (
        TakedownRequest.objects.filter(
            case__organization_id__in=orgs, state__in=deadlines.CLOCK_RUNNING, deadline_at__isnull=False
        )
        .select_related("case")
        .order_by("deadline_at")
    )
    at_risk, breached = [], []
    for request in running:
        state = deadlines.deadline_state(request, now)
        if state is not None and state.status == deadlines.AT_RISK:
            at_risk.append(DeadlineEntry(request, state))
        elif state is not None and state.status == deadlines.BREACHED:
            breached.append(DeadlineEntry(request, state))
    my_cases = list(
        Case.objects.filter(organization_id__in=orgs, assignee=user)
        .exclude(status=Case.Status.CLOSED)
        .select_related("subject")
        .order_by("-priority", "created_at")[:50]
    )
    return Desk(
        review_count=findings_for_user(user).filter(status=Finding.Status.PENDING).count(),
        new_reports=Report.objects.filter(organization_id__in=orgs, status=Report.Status.RECEIVED).count(),
        at_risk=at_risk, breached=breached, my_cases=my_cases,
    )


def reports_search(user, *, status: str = "") -> QuerySet[Report]:
    """The user's organisations' public reports, newest first, with how many files and cases each has."""
    reports = Report.objects.filter(organization_id__in=access.organization_ids(user))
    if status:
        reports = reports.filter(status=status)
    return reports.annotate(
        file_count=Count("media_items", distinct=True), case_count=Count("cases", distinct=True)
    ).order_by("-created_at", "-id")


def subjects_search(user, *, text: str = "") -> QuerySet[Subject]:
    """The user's organisations' subjects, newest first, with their active consents, reference
    photos and cases counted."""
    subjects = Subject.objects.filter(organization_id__in=access.organization_ids(user))
    if text:
        subjects = subjects.filter(display_name__icontains=text)
    return subjects.annotate(
        active_consents=Count("consents", filter=Q(consents__withdrawn_at__isnull=True), distinct=True),
        photo_count=Count("reference_photos", distinct=True),
        case_count=Count("cases", distinct=True),
    ).order_by("-created_at", "-id")


def cases_search(user, *, status: str = "", priority: str = "", tag: str = "", assignee: str = "",
                 text: str = "") -> QuerySet[Case]:
    """The user's organisations' cases, filtered; ``assignee`` is a user id, "me" or "none"."""
    from casework.access import organization_ids

    cases = Case.objects.filter(organization_id__in=organization_ids(user)).select_related("subject", "assignee")
    if status:
        cases = cases.filter(status=status)
    if priority.lstrip("-").isdigit():
        cases = cases.filter(priority=int(priority))
    if assignee == "me":
        cases = cases.filter(assignee=user)
    elif assignee == "none":
        cases = cases.filter(assignee__isnull=True)
    elif assignee.isdigit():
        cases = cases.filter(assignee_id=int(assignee))
    if text.strip():
        cases = cases.filter(reference__icontains=text.strip())
    cases = cases.order_by("-priority", "-created_at")
    if tag.strip():
        # Tags are a JSON list; containment lookups differ between SQLite and PostgreSQL, so the
        # (one organisation's, bounded) list is filtered here.
        wanted = tag.strip().lower()
        ids = [pk for pk, tags in cases.values_list("pk", "tags") if wanted in {str(t).lower() for t in tags or []}]
        cases = cases.filter(pk__in=ids)
    return cases


# A platform has answered a request once it acknowledged, removed or refused (takedown transitions).
RESPONDED = {"acknowledged", "removed", "refused"}


@dataclass(frozen=True)
class Metrics:
    hours_to_removal: dict[str, float]  # platform -> median hours from sending to removal
    removal_rate: dict[str, float]  # platform -> share of sent requests that led to removal
    sent: dict[str, int]
    breached_per_month: list[tuple[str, int]]  # ("2026-11", count), oldest first, gaps filled


def metrics_for_user(user, *, now=None) -> Metrics:
    import statistics
    from collections import defaultdict

    from django.utils import timezone

    from casework.access import organization_ids

    now = now or timezone.now()
    requests = list(
        TakedownRequest.objects.filter(case__organization_id__in=organization_ids(user), sent_at__isnull=False)
    )
    events = defaultdict(list)
    for target_id, at, to in AuditEvent.objects.filter(
        target_type=TakedownRequest._meta.label_lower,
        target_id__in=[str(r.pk) for r in requests],
        action__startswith="takedown_request.",
    ).values_list("target_id", "at", "data__to"):
        events[int(target_id)].append((at, to))
    hours, sent, removed = defaultdict(list), defaultdict(int), defaultdict(int)
    breaches = defaultdict(int)
    for request in requests:
        history = sorted(events.get(request.pk, []), key=lambda event: event[0])
        sent[request.platform] += 1
        removal = next((at for at, to in history if to == "removed" and at >= request.sent_at), None)
        if removal is not None:
            removed[request.platform] += 1
            hours[request.platform].append((removal - request.sent_at).total_seconds() / 3600)
        if request.deadline_at is not None and request.deadline_at <= now:
            answered = next((at for at, to in history if to in RESPONDED and at >= request.sent_at), None)
            if answered is None or answered > request.deadline_at:
                breaches[request.deadline_at.strftime("%Y-%m")] += 1
    return Metrics(
        hours_to_removal={p: round(statistics.median(h), 1) for p, h in sorted(hours.items())},
        removal_rate={p: removed[p] / n for p, n in sorted(sent.items())},
        sent=dict(sorted(sent.items())),
        breached_per_month=_months_filled(breaches),
    )


def _months_filled(counts: dict[str, int]) -> list[tuple[str, int]]:
    if not counts:
        return []
    first, last = min(counts), max(counts)
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        key = f"{year:04d}-{month:02d}"
        months.append((key, counts.get(key, 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
