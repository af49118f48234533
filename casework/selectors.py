"""Reads of casework: the review queue, a case's timeline and confirmed media, the platform directory."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.paginator import Page, Paginator
from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models import Case as Case_  # casework.models.Case is the case a caseworker works
from django.db.models.functions import Cast, Coalesce, NullIf, RowNumber, TruncDate, TruncMonth
from django.utils.translation import gettext, gettext_lazy, ngettext, pgettext_lazy

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
from detection.engine.indicators import clip_probe, combined
from detection.engine.video.vpdq import VPDQ_PREFIX
from detection.models import (
    CrawlPage,
    CrawlRun,
    FaceTemplate,
    Finding,
    IndicatorResult,
    MediaItem,
    MediaSighting,
    Watch,
)

# --- Review queue ---------------------------------------------------------------------------------

STRONGEST_SHOWN = 3


@dataclass(frozen=True)
class IndicatorSummary:
    measured: int
    applicable: int
    strongest: list[tuple[str, float]]  # (name, score), strongest first


# Results that say how sure they are in words, with the figure validated on sources they were not fitted to: their
# meaning is re-rendered from the stored evidence, so results stored under an earlier wording read in the current one.
SAID_IN_WORDS = {combined.CombinedLikelihood.name: combined.meaning_of,
                 clip_probe.LearnedClipProbe.name: clip_probe.meaning_of}
# Figures stored by earlier versions that were not measured on unseen sources: never shown.
UNVALIDATED_EVIDENCE = ("cross_validated_auc", "cross_validation")


def indicators_for_page(item: MediaItem) -> list[IndicatorResult]:
    """A media item's indicators as the finding page lists them: applicable signals first, strongest first,
    "not applicable" ones last. The combined result and the learned probe carry ``strength`` (words, never a
    percentage) and their meaning in the current wording and the reader's language, with their validated figure."""
    results = sorted(item.indicators.all(), key=lambda r: (r.score is None, -(r.score or 0), r.name))
    for result in results:
        if result.name in SAID_IN_WORDS and result.score is not None:
            result.strength = combined.strength_words(result.score, gettext, result.evidence)
            result.meaning = SAID_IN_WORDS[result.name](result.score, result.evidence, gettext)
        if isinstance(result.evidence, dict):
            result.evidence = {key: value for key, value in result.evidence.items() if key not in UNVALIDATED_EVIDENCE}
    return results


def indicators_summarize(results: list[IndicatorResult]) -> IndicatorSummary:
    # The hand-made signals only: the combined result and the learned probe are said in words, with their validated
    # figures, on the finding page; a bare number here would read as a probability.
    applicable = sorted((r for r in results if r.score is not None and r.name not in SAID_IN_WORDS),
                        key=lambda r: (-r.score, r.name))
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


# An organisation may have thousands of findings waiting (a crawl adds them by the hundred); each entry
# shows two face crops and a form, so a page holds what a reviewer works through in one sitting.
REVIEW_PAGE_SIZE = 25


def review_queue(user, *, page=1) -> Page:
    """One page of the pending findings the user may review: newest day first, and within a day the
    strongest first. The page's ``object_list`` is its ReviewEntry rows.

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
        # Prefetched for the page's rows only: the paginator slices before the queryset is evaluated.
        .prefetch_related("media_item__indicators")
    )
    page = Paginator(findings, REVIEW_PAGE_SIZE).get_page(page)
    page.object_list = [
        ReviewEntry(f, indicators_summarize(list(f.media_item.indicators.all())), f.reference_available)
        for f in page.object_list
    ]
    return page


# --- Cases ----------------------------------------------------------------------------------------

def case_confirmed_media(case: Case) -> QuerySet[MediaItem]:
    """What the case is about: media staff uploaded to it, and media of its confirmed findings. One id
    subquery, a UNION on this case's rows, not joins with DISTINCT (see minors.case_media_items)."""
    uploaded = Case.media_items.through.objects.filter(case_id=case.pk).values("mediaitem_id")
    confirmed = Finding.objects.filter(cases=case, status=Finding.Status.CONFIRMED).values("media_item_id")
    return MediaItem.objects.filter(pk__in=uploaded.union(confirmed, all=True))


ACTION_LABELS = {
    "case.opened": gettext_lazy("Case opened"),
    "case.closed": gettext_lazy("Case closed"),
    "case.reopened": gettext_lazy("Case re-opened"),
    "case.assigned": gettext_lazy("Assigned"),
    "case.priority_set": gettext_lazy("Priority changed"),
    "case.tags_set": gettext_lazy("Tags changed"),
    "case.note_added": pgettext_lazy("timeline entry", "Note"),
    "case.media_added": gettext_lazy("Media added"),
    "case.minor_recorded": gettext_lazy("Recorded: the person depicted is a minor"),
    "case.finding_attached": gettext_lazy("Re-upload found and attached"),
    "report.in_review": gettext_lazy("Report taken into review"),
    "finding.confirmed": gettext_lazy("Finding confirmed"),
    "finding.rejected": gettext_lazy("Finding rejected"),
    "notice.generated": gettext_lazy("Notice generated"),
    "takedown_request.created": gettext_lazy("Takedown request drafted"),
    "takedown_request.deadline_extended": gettext_lazy("Deadline extended"),
    "takedown_request.deadline_at_risk": gettext_lazy("Deadline at risk"),
    "takedown_request.deadline_breached": gettext_lazy("Deadline breached"),
}


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    who: str
    what: str
    about: str  # "Case", "Request #3", "Finding #7", …
    detail: str = ""


def _who(event: AuditEvent) -> str:
    if event.actor_id is not None:
        return event.actor_name  # annotated by _timeline_entries (the user's USERNAME_FIELD is username)
    return gettext("Reclaim (automatic)") if event.actor_label == "system" else event.actor_label


def _label(action: str) -> str:
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    if action.startswith("takedown_request."):
        from casework.services.takedowns import ACTIONS  # services import this module

        return ACTIONS.get(action.removeprefix("takedown_request."), action)
    return action


def _detail(event: AuditEvent) -> str:
    data = event.data or {}
    if event.action == "case.note_added":
        return event.note or ""  # annotated by _timeline_event_branches
    if event.action == "case.assigned":
        if data.get("assignee_name"):
            return gettext("to {name}").format(name=data["assignee_name"])
        return gettext("to nobody")
    if event.action == "case.priority_set":
        before = _priority_label(data.get("from"), data.get("from_label", ""))
        return f"{before} → {_priority_label(data.get('to'), data.get('to_label', ''))}"
    if event.action == "case.tags_set":
        return ", ".join(data.get("tags", [])) or gettext("no tags")
    if event.action == "takedown_request.created":
        return f"{data.get('platform', '')} · {data.get('url', '')}"
    for key in ("note", "reason"):
        if data.get(key):
            return str(data[key])
    return ""


def _priority_label(value, recorded: str) -> str:
    """A priority in the reader's language; the label the event recorded when the value is not one now."""
    try:
        return str(Case.Priority(value).label)
    except ValueError:
        return recorded


_ABOUT = {
    "casework.case": pgettext_lazy("what a timeline entry is about", "Case"),
    "casework.casenote": pgettext_lazy("what a timeline entry is about", "Case"),
    "casework.report": pgettext_lazy("what a timeline entry is about", "Report"),
    "casework.takedownrequest": pgettext_lazy("what a timeline entry is about", "Request #{id}"),
    "casework.notice": pgettext_lazy("what a timeline entry is about", "Notice #{id}"),
    "detection.finding": pgettext_lazy("what a timeline entry is about", "Finding #{id}"),
}


def _about(event: AuditEvent) -> str:
    return _ABOUT.get(event.target_type, event.target_type).format(id=event.target_id)


TIMELINE_PAGE_SIZE = 50


def _as_target_ids(queryset: QuerySet, field: str = "pk") -> Subquery:
    # AuditEvent.target_id is text (it names rows of any table): the ids are cast where they are selected.
    return Subquery(queryset.annotate(target=Cast(field, CharField())).values("target"))


def _timeline_event_branches(case: Case) -> list[QuerySet[AuditEvent]]:
    """The audit events of the case and of its report, requests, findings, notices and notes, one query per
    kind of target, each with an annotated ``note`` (the body of a note's event, else ""). Apart, each reads
    the (target_type, target_id) index for this case's ids only; joined with OR, they made the database
    test every event of the organisation (240 ms at 450,000 events)."""
    events = AuditEvent.objects.filter(organization_id=case.organization_id).order_by()
    no_note = Value("", output_field=CharField())
    note = case.notes.filter(pk=Cast(OuterRef("target_id"), BigIntegerField())).values("body")[:1]
    branches = [
        events.filter(target_type="casework.case", target_id=str(case.pk)).annotate(note=no_note),
        events.filter(target_type="casework.takedownrequest",
                      target_id__in=_as_target_ids(case.takedown_requests.all())).annotate(note=no_note),
        events.filter(target_type="casework.notice",
                      target_id__in=_as_target_ids(Notice.objects.filter(takedown_request__case=case)))
        .annotate(note=no_note),
        events.filter(target_type="detection.finding",
                      target_id__in=_as_target_ids(Case.findings.through.objects.filter(case_id=case.pk),
                                                   "finding_id")).annotate(note=no_note),
        events.filter(target_type="casework.casenote", target_id__in=_as_target_ids(case.notes.all()))
        .annotate(note=Subquery(note, output_field=CharField())),
    ]
    if case.report_id:
        branches.append(events.filter(target_type="casework.report", target_id=str(case.report_id))
                        .annotate(note=no_note))
    return branches


def _timeline_rows(case: Case) -> QuerySet:
    """(when, kind, key) of every timeline entry: the case's audit events, and every recheck of its URLs (a
    recheck is not a state change, so it has a row of its own, not an audit event). One UNION: the
    database orders and cuts it, whatever the case's size."""
    def rows(queryset: QuerySet, when: str, kind: str) -> QuerySet:
        return queryset.values(when=F(when), kind=Value(kind, output_field=CharField()), key=F("pk"))

    events = [rows(branch, "at", "event") for branch in _timeline_event_branches(case)]
    rechecks = rows(RecheckResult.objects.filter(request__case=case).order_by(), "checked_at", "recheck")
    return rechecks.union(*events, all=True)


def _timeline_entries(case: Case, rows: list[dict]) -> list[TimelineEntry]:
    """The entries of ``rows`` (from _timeline_rows), in their order. The events and rechecks are read by
    the time span the rows cover, not by their ids, so a page costs the same two queries whatever kinds
    of entry it holds (a list of ids that is empty would skip its query)."""
    if not rows:
        return []
    span = (min(row["when"] for row in rows), max(row["when"] for row in rows))
    branches = [branch.filter(at__range=span).annotate(actor_name=F("actor__username"))
                for branch in _timeline_event_branches(case)]
    events = {event.pk: event for event in branches[0].union(*branches[1:], all=True)}
    rechecks = RecheckResult.objects.filter(request__case=case, checked_at__range=span).in_bulk()
    entries = []
    for row in rows:
        if row["kind"] == "event":
            event = events[row["key"]]
            entries.append(TimelineEntry(at=event.at, who=_who(event), what=_label(event.action),
                                         about=_about(event), detail=_detail(event)))
        else:
            recheck = rechecks[row["key"]]
            status = f"HTTP {recheck.http_status}" if recheck.http_status else gettext("no HTTP answer")
            entries.append(TimelineEntry(
                at=recheck.checked_at, who=gettext("Reclaim (recheck)"),
                what=gettext("URL rechecked: {outcome}").format(outcome=recheck.get_outcome_display()),
                about=_ABOUT["casework.takedownrequest"].format(id=recheck.request_id),
                detail=f"{status}. {recheck.detail}".strip(),
            ))
    return entries


def case_timeline(case: Case) -> list[TimelineEntry]:
    """Every event of the case, oldest first (the evidence of what happened, in full)."""
    return _timeline_entries(case, list(_timeline_rows(case).order_by("when", "key")))


def case_timeline_page(case: Case, number) -> Page:
    """One page of the case's timeline, newest first (what the case page shows): TIMELINE_PAGE_SIZE
    entries, in four queries on the first page of a new case as deep in one with thousands of entries."""
    page = Paginator(_timeline_rows(case).order_by("-when", "-key"), TIMELINE_PAGE_SIZE).get_page(number)
    page.object_list = _timeline_entries(case, list(page.object_list))
    return page


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
        lines.append(gettext("Your reference photos and the face data made from them are deleted now. "
                             "We stop looking for your face in new reports and searches."))
    if ConsentPurpose.HASH_MATCHING in consent.purposes and ConsentPurpose.HASH_MATCHING not in other_purposes:
        lines.append(gettext("The fingerprints (hashes) of known images of you are deleted now, and we stop "
                             "matching them."))
    if ConsentPurpose.HASH_SHARING in consent.purposes and ConsentPurpose.HASH_SHARING not in other_purposes:
        lines.append(gettext("We stop sharing those hashes with platforms: the platforms that received them are "
                             "told to delete them when they next read our list. We cannot check that they do."))
    if lines:
        lines.append(gettext("Possible matches waiting for a caseworker to check are deleted too."))
    else:
        lines.append(gettext("Another consent of yours still covers the same uses, so no data is deleted now."))
    lines.append(gettext("Your open cases carry on: removal requests already sent stay with the sites they went to."))
    lines.append(gettext("This cannot be undone here. To start again, you would give consent again with your "
                         "caseworker."))
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
# Whole sentences per count (ngettext), in the reader's language when the page is rendered.
_PLAIN_REQUESTS = [
    (_PREPARING, lambda n: ngettext("We are preparing {n} request to have the content removed.",
                                    "We are preparing {n} requests to have the content removed.", n)),
    (_WAITING, lambda n: ngettext(
        "We have asked {n} time for content to be removed and are waiting for the site to act.",
        "We have asked {n} times for content to be removed and are waiting for the site to act.", n)),
    (_REMOVED, lambda n: ngettext("{n} removal done: the content is gone from where we asked.",
                                  "{n} removals done: the content is gone from where we asked.", n)),
    ({TakedownRequest.State.REFUSED}, lambda n: ngettext(
        "{n} request refused by the site. We are looking at what else can be done.",
        "{n} requests refused by the site. We are looking at what else can be done.", n)),
    ({TakedownRequest.State.REOPENED}, lambda n: ngettext("Content came back in {n} place. We are asking again.",
                                                          "Content came back in {n} places. We are asking again.", n)),
]


def takedown_requests_in_words(requests) -> list[str]:
    """One sentence per kind of progress; no platform names or URLs (a reporter may be a bystander)."""
    states = [r.state for r in requests]
    lines = []
    for group, sentence in _PLAIN_REQUESTS:
        n = sum(1 for state in states if state in group)
        if n:
            lines.append(sentence(n).format(n=n))
    return lines


def report_status_in_words(report: Report) -> list[str]:
    """What a reporter reads on the status page."""
    if report.status == Report.Status.CLOSED:
        lines = [gettext("Your report is closed. If the content comes back or you find more, please make a new "
                         "report.")]
    elif report.status == Report.Status.IN_REVIEW:
        lines = [gettext("A caseworker is working on your report.")]
    else:
        lines = [gettext("We have your report. A caseworker will read it; nothing else is needed from you now.")]
    requests = TakedownRequest.objects.filter(case__report=report)
    return lines + takedown_requests_in_words(requests)


def case_status_in_words(case: Case) -> list[str]:
    """What a subject reads about one of their cases in the portal."""
    if case.status == Case.Status.CLOSED:
        lines = [gettext("This case is closed.")]
    else:
        lines = [gettext("Your caseworker is working on this case.")]
    return lines + (takedown_requests_in_words(case.takedown_requests.all()) or [gettext("No removal requests yet.")])


# --- The caseworker's desk (casework.views.desk) ---------------------------------------------------


# The desk shows the most urgent of each list; the rest are one link away (takedown_requests_by_deadline).
DESK_LIST_SIZE = 20


@dataclass(frozen=True)
class Desk:
    review_count: int
    new_reports: int
    at_risk: list[TakedownRequest]  # the DESK_LIST_SIZE most urgent, deadline soonest first
    breached: list[TakedownRequest]  # the DESK_LIST_SIZE most overdue first
    at_risk_count: int
    breached_count: int
    my_cases: list[Case]
    my_case_count: int


def takedown_requests_by_deadline(user, *, status: str = "", now=None) -> QuerySet[TakedownRequest]:
    """The user's organisations' requests whose clock is running and at risk or breached (``status``;
    empty for both), most urgent first: the earliest deadline is the most overdue or the nearest."""
    from django.utils import timezone

    return _takedown_requests_by_deadline(access.organization_ids(user), status=status, now=now or timezone.now())


def _takedown_requests_by_deadline(organization_ids: list[int], *, status: str, now) -> QuerySet[TakedownRequest]:
    from casework import deadlines

    if status:
        wanted = deadlines.deadline_status_filter(status, now)
    else:
        wanted = (deadlines.deadline_status_filter(deadlines.BREACHED, now)
                  | deadlines.deadline_status_filter(deadlines.AT_RISK, now))
    return (
        TakedownRequest.objects.filter(wanted, organization_id__in=organization_ids)
        .select_related("case")
        .order_by("deadline_at", "pk")
    )


def desk_for_user(user, *, now=None) -> Desk:
    from django.utils import timezone

    from casework import deadlines
    from casework.access import findings_for_user, organization_ids

    now = now or timezone.now()
    orgs = organization_ids(user)
    at_risk = deadlines.deadline_status_filter(deadlines.AT_RISK, now)
    breached = deadlines.deadline_status_filter(deadlines.BREACHED, now)
    running = TakedownRequest.objects.filter(organization_id__in=orgs, state__in=deadlines.CLOCK_RUNNING)
    counts = running.aggregate(
        at_risk=Count("pk", filter=at_risk), breached=Count("pk", filter=breached)
    )
    mine = Case.objects.filter(organization_id__in=orgs, assignee=user).exclude(status=Case.Status.CLOSED)
    return Desk(
        review_count=findings_for_user(user).filter(status=Finding.Status.PENDING).count(),
        new_reports=Report.objects.filter(organization_id__in=orgs, status=Report.Status.RECEIVED).count(),
        at_risk=list(_takedown_requests_by_deadline(orgs, status=deadlines.AT_RISK, now=now)[:DESK_LIST_SIZE]),
        breached=list(_takedown_requests_by_deadline(orgs, status=deadlines.BREACHED, now=now)[:DESK_LIST_SIZE]),
        at_risk_count=counts["at_risk"],
        breached_count=counts["breached"],
        my_cases=list(mine.select_related("subject").order_by("-priority", "created_at")[:DESK_LIST_SIZE]),
        my_case_count=mine.count(),
    )


def reports_search(user, *, status: str = "") -> QuerySet[Report]:
    """The user's organisations' public reports, newest first, with how many files and cases each has."""
    reports = Report.objects.filter(organization_id__in=access.organization_ids(user))
    if status:
        reports = reports.filter(status=status)
    # Counted by correlated subqueries, not joins and GROUP BY: the database then counts for the rows of
    # the page it returns, instead of grouping every report before it can take the newest 50.
    return reports.annotate(
        file_count=_count_of(Report.media_items.through.objects.filter(report_id=OuterRef("pk")), "report_id"),
        case_count=_count_of(Case.objects.filter(report_id=OuterRef("pk")), "report_id"),
    ).order_by("-created_at", "-id")


def _count_of(rows: QuerySet, key: str) -> Coalesce:
    """How many of ``rows`` (correlated on ``key``) there are, as a subquery expression; 0 for none."""
    counted = rows.order_by().values(key).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


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
    if tag.strip():
        cases = cases.filter(_tag_filter(tag))
    # The id last: pages of a list ordered by non-unique columns would repeat or skip rows.
    return cases.order_by("-priority", "-created_at", "-id")


def _tag_filter(tag: str) -> Q:
    """Cases whose JSON list of tags holds exactly ``tag`` (tags are stored normalised: triage.tags_normalize).

    JSONField ``contains`` is PostgreSQL-only, so this matches the list's text instead, on both databases:
    the tag as a JSON string, right after the list's opening bracket or an element separator. Inside a JSON
    string a quote is always escaped, so that pattern starts and ends exactly on an element's quotes:
    "school" matches neither "high school" nor "schools". Django writes the list with json.dumps (", "
    between elements, non-ASCII as \\u escapes); PostgreSQL's jsonb prints ", " too but non-ASCII as is,
    hence both spellings.
    """
    from casework.services.triage import TriageError, tags_normalize

    try:
        wanted = tags_normalize([tag])
    except TriageError:  # longer than any tag can be: no case has it
        return Q(pk__in=[])
    if not wanted:
        return Q()
    where = Q(pk__in=[])
    for spelling in {json.dumps(wanted[0]), json.dumps(wanted[0], ensure_ascii=False)}:
        where |= Q(tags__icontains=f"[{spelling}") | Q(tags__icontains=f", {spelling}")
    return where



# Bars and rows compare platforms side by side; past a dozen they stop being readable, and an organisation
# that has written to thousands of hosts would get a page of them. The platforms sent the most requests
# are shown one by one and the rest are summed in one row and one bar.
TOP_PLATFORMS = 12
OTHER_PLATFORMS = gettext_lazy("All other platforms ({n})")


@dataclass(frozen=True)
class PlatformMetrics:
    platform: str  # the platform's name, or OTHER_PLATFORMS for the rest together
    platforms: int  # how many platforms the row covers: 1, or how many were grouped
    sent: int
    removed: int  # sent requests that led to removal
    median_hours: float | None  # from sending to removal; None without a removal

    @property
    def removal_rate(self) -> float:
        return self.removed / self.sent


@dataclass(frozen=True)
class Metrics:
    platforms: list[PlatformMetrics]  # most requests sent first; the grouped rest, if any, last
    breached_per_month: list[tuple[str, int]]  # ("2026-11", count), oldest first, gaps filled

    @property
    def hours_to_removal(self) -> dict[str, float]:  # platform -> median hours from sending to removal
        return {row.platform: row.median_hours for row in self.platforms if row.median_hours is not None}

    @property
    def removal_rate(self) -> dict[str, float]:  # platform -> share of sent requests that led to removal
        return {row.platform: row.removal_rate for row in self.platforms}

    @property
    def sent(self) -> dict[str, int]:
        return {row.platform: row.sent for row in self.platforms}


def metrics_for_user(user, *, now=None) -> Metrics:
    """How the user's organisations' sent requests went, per platform, with the medians and counts made by
    the database from the requests' own rows (sent_at, removed_at, answered_at, deadline_at): the same few
    queries however many requests, events and platforms there are."""
    from django.utils import timezone

    now = now or timezone.now()
    sent = TakedownRequest.objects.filter(organization_id__in=access.organization_ids(user), sent_at__isnull=False)
    most_sent = (
        sent.order_by().values("platform")
        .annotate(n=Count("pk"), platform_count=Window(Count("*")))
        .order_by("-n", "platform")
    )
    top = list(most_sent[:TOP_PLATFORMS + 1])
    shown = [row["platform"] for row in top]
    if len(shown) > TOP_PLATFORMS:  # NULL groups the rest: no platform name can collide with it
        shown = shown[:TOP_PLATFORMS]
        group = Case_(When(platform__in=shown, then=F("platform")), default=Value(None), output_field=CharField())
    else:
        group = F("platform")
    grouped = sent.order_by().annotate(platform_group=group)
    sent_counts = {row["platform_group"]: row["n"] for row in grouped.values("platform_group").annotate(n=Count("pk"))}
    # The removed requests of each group, and of them the one or two in the middle when ordered by how
    # long removal took: the median. removed_at is kept on the row (takedown_transition), so no audit
    # event is read.
    by_group = {"partition_by": [F("platform_group")]}
    middles = (
        grouped.filter(removed_at__isnull=False)
        .annotate(took=ExpressionWrapper(F("removed_at") - F("sent_at"), output_field=DurationField()))
        .annotate(
            position=Window(RowNumber(), **by_group, order_by=[F("took").asc(), F("pk").asc()]),
            removed_count=Window(Count("pk"), **by_group),
        )
        .filter(position__gte=(F("removed_count") + 1) / 2, position__lte=(F("removed_count") + 2) / 2)
        .values_list("platform_group", "removed_count", "took")
    )
    removed: dict[str | None, tuple[int, list[dt.timedelta]]] = {}
    for name, removed_count, took in middles:
        removed.setdefault(name, (removed_count, []))[1].append(took)
    rows, rest = [], []
    for name, sent_count in sent_counts.items():
        platforms = 1 if name is not None else top[0]["platform_count"] - TOP_PLATFORMS
        removed_count, took = removed.get(name, (0, []))
        (rows if name is not None else rest).append(PlatformMetrics(
            platform=name if name is not None else OTHER_PLATFORMS.format(n=platforms),
            platforms=platforms,
            sent=sent_count,
            removed=removed_count,
            median_hours=round(sum(took, dt.timedelta()).total_seconds() / len(took) / 3600, 1) if took else None,
        ))
    rows.sort(key=lambda r: (-r.sent, r.platform))
    # Breached: the deadline passed with no answer between sending and the deadline (an answer after it
    # does not undo the breach).
    breaches = (
        sent.filter(deadline_at__lte=now)
        .filter(Q(answered_at__isnull=True) | Q(answered_at__gt=F("deadline_at")))
        .annotate(month=TruncMonth("deadline_at", tzinfo=dt.UTC))
        .order_by()
        .values("month")
        .annotate(n=Count("pk"))
    )
    return Metrics(
        platforms=rows + rest,
        breached_per_month=_months_filled({row["month"].strftime("%Y-%m"): row["n"] for row in breaches}),
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


# --- Watches and their crawls (issue 12) ----------------------------------------------------------

SIGHTINGS_SHOWN = 20


def watches_search(user) -> QuerySet[Watch]:
    """The user's organisations' watches by name, each with its latest run's id, status, start and
    findings (crawl_runs_counted): correlated subqueries on the (watch, created_at) index, not a query
    per row."""
    latest = CrawlRun.objects.filter(watch_id=OuterRef("pk")).order_by("-created_at", "-id")
    return access.watches_for_user(user).annotate(
        last_run_id=Subquery(latest.values("pk")[:1]),
        last_run_status=Subquery(latest.values("status")[:1]),
        last_run_at=Subquery(latest.values("created_at")[:1]),
        last_run_findings=Subquery(crawl_runs_counted(latest).values("findings_now")[:1]),
    ).order_by("name", "id")


def crawl_runs_counted(runs: QuerySet[CrawlRun]) -> QuerySet[CrawlRun]:
    """Runs with ``scanned_now`` and ``findings_now``: counted from their sightings when read, because
    the scans of a run's media end after its crawl does (the run's own counters are taken when it ends)."""
    def distinct_count(rows: QuerySet, run_key: str) -> Coalesce:
        counted = (rows.filter(**{run_key: OuterRef("pk")}).order_by().values(run_key)
                   .annotate(n=Count("pk", distinct=True)).values("n"))
        return Coalesce(Subquery(counted, output_field=IntegerField()), 0)

    return runs.annotate(
        scanned_now=distinct_count(MediaItem.objects.filter(status=MediaItem.Status.DONE), "sightings__run_id"),
        findings_now=distinct_count(Finding.objects.all(), "media_item__sightings__run_id"),
    )


def watch_runs(watch: Watch) -> QuerySet[CrawlRun]:
    return crawl_runs_counted(watch.runs.order_by("-created_at", "-id"))


def watch_current_run(watch: Watch) -> CrawlRun | None:
    """The run still working through its frontier, if any (one at a time: watch_crawl_now)."""
    return watch_runs(watch).filter(status__in=(CrawlRun.Status.QUEUED, CrawlRun.Status.RUNNING)).first()


def crawl_run_frontier_counts(run: CrawlRun) -> list[tuple[str, int]]:
    """(status label, how many) for every frontier status, in the order a URL goes through them."""
    from detection.crawling import crawl_run_progress  # the crawler's module: loaded by the pages that show runs

    counts = crawl_run_progress(run=run)
    return [(label, counts[status]) for status, label in CrawlPage.Status.choices]


def crawl_run_pages(run: CrawlRun, *, status: str = "") -> QuerySet[CrawlPage]:
    pages = run.pages.all()
    if status:
        pages = pages.filter(status=status)
    return pages.order_by("depth", "id")


def finding_sightings(finding: Finding) -> list[MediaSighting]:
    """Where the finding's crawls saw its media: which watch, on which page. Only the finding's own
    organisation's runs: another organisation's watch is not theirs to know of."""
    sightings = MediaSighting.objects.filter(media_item_id=finding.media_item_id,
                                             run__organization_id=finding.organization_id)
    return list(sightings.select_related("run__watch").order_by("-seen_at", "-id")[:SIGHTINGS_SHOWN])


# --- A public report's hash lines -------------------------------------------------------------------

HASH_LINE_SUBJECTS_SHOWN = 200


def subjects_consenting_to_hash_matching(organization_id: int) -> list[Subject]:
    """The organisation's subjects whose consent covers hash matching now, by name: those a report's
    hash lines may be moved to. At most HASH_LINE_SUBJECTS_SHOWN (the form is a list to choose from)."""
    active = Consent.objects.filter(withdrawn_at__isnull=True)
    subjects = (Subject.objects.filter(organization_id=organization_id, consents__in=active).distinct()
                .order_by("display_name", "pk").prefetch_related(Prefetch("consents", queryset=active)))
    found = []
    # Purposes are a JSON list, which SQLite cannot filter on: read in pages until the list is full.
    for subject in subjects.iterator(chunk_size=500):
        if any(ConsentPurpose.HASH_MATCHING in consent.purposes for consent in subject.consents.all()):
            found.append(subject)
            if len(found) == HASH_LINE_SUBJECTS_SHOWN:
                break
    return found


def hash_line_shown(line: str) -> str:
    """A hash line as a report's page shows it: a video's frame hashes (hundreds of them on one line) as
    their count."""
    if not line.startswith(VPDQ_PREFIX):
        return line
    frames = line.count(";") + 1
    return ngettext("vpdq: the hash of {frames} frame of a video", "vpdq: the hashes of {frames} frames of a video",
                    frames).format(frames=frames)
