"""How fast each staff page and API list answers at volume, and how many queries it runs (issue 17).

Each page is requested through Django's test client as a member of staff of one organisation, signed
in with a second factor as a browser would be (or with a legal partner token for the API): once to
warm up, once with every query captured (their count, the slowest one for EXPLAIN), then ``runs``
times timed. The pages come from the URL configuration: a route that is neither in PAGES nor in
NOT_MEASURED is printed as not measured, so a page added later shows up here until it is benchmarked.

A page fails the issue's bar (FLAG_P95_MS, FLAG_BYTES) with a flag in the table; a query count that
differs between a small and a large organisation is a list that runs a query per row.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from casework.models import Case, Membership, Organization, Report, Role
from detection.models import Finding, MediaItem

FLAG_P95_MS = 300
FLAG_BYTES = 60_000  # "60 kB of HTML per page": JSON pages are shown, not flagged
LEGAL_TOKEN = "legal token"  # the API's caller: a partner token with the legal role


@dataclass(frozen=True)
class Page:
    label: str
    url_name: str
    target: str | None = None  # the object in the URL (bench_targets' keys), None for a list
    query: str = ""
    role: str = Role.CASEWORKER


PAGES = [
    Page("desk /", "casework:home"),
    Page("/review/", "casework:review_queue"),
    Page("/deadlines/", "casework:deadline_list"),
    Page("/deadlines/ last page", "casework:deadline_list", query="page=last"),
    Page("/cases/", "casework:case_list"),
    Page("/cases/ last page", "casework:case_list", query="page=last"),
    Page("/cases/?tag=", "casework:case_list", query="tag=sextortion"),
    Page("/cases/?status=", "casework:case_list", query="status=open"),
    Page("case (heaviest)", "casework:case_detail", "case"),
    Page("case evidence (heaviest)", "casework:case_evidence", "case"),
    Page("/reports/", "casework:report_list"),
    Page("/reports/?status=", "casework:report_list", query="status=received"),
    Page("report", "casework:report_detail", "report"),
    Page("/metrics/", "casework:metrics"),
    Page("/subjects/", "casework:subject_list"),
    Page("subject (heaviest case's)", "casework:subject_detail", "subject"),
    Page("subject enrolment form", "casework:subject_enrol"),
    Page("finding (pending)", "casework:finding_detail", "finding"),
    Page("/watches/", "casework:watch_list"),
    Page("/platforms/ (hash feed)", "casework:feed_platform_list"),
    Page("takedown request (legal)", "casework:takedown_detail", "takedown", role=Role.LEGAL),
    Page("API takedown-requests", "api:takedown_requests", role=LEGAL_TOKEN),
    Page("API takedown-requests page_size=200", "api:takedown_requests", query="page_size=200", role=LEGAL_TOKEN),
    Page("API takedown-requests ?state=draft", "api:takedown_requests", query="state=draft", role=LEGAL_TOKEN),
    Page("API takedown-request", "api:takedown_request_detail", "takedown", role=LEGAL_TOKEN),
    Page("API media item", "api:media_item_detail", "api_media_item", role=LEGAL_TOKEN),
    Page("API media item findings", "api:media_item_findings", "api_media_item", role=LEGAL_TOKEN),
]

# Routes that are not pages to time, and why. Public and portal routes are recognised on their own.
NOT_MEASURED = {
    **dict.fromkeys(
        ["casework:finding_media_reveal", "casework:finding_confirm", "casework:finding_reject",
         "casework:case_triage", "casework:case_note_create", "casework:case_status", "casework:report_case_open",
         "casework:report_hashes_move",
         "casework:case_minor_record", "casework:case_media_upload", "casework:media_item_scan_again",
         "casework:consent_withdraw", "casework:subject_codes_reset", "casework:subject_hashes_add",
         "casework:subject_photo_add", "casework:takedown_transition", "casework:takedown_deadline_extend",
         "casework:notice_create", "casework:notice_send", "casework:notice_submission",
         "casework:case_evidence_export", "api:media_submit", "casework:known_hash_remove",
         "casework:feed_platform_admit", "casework:feed_platform_revoke", "stopncii:submit_feedback"],
        "a write (POST): not a page"),
    "stopncii:fetch_hashes": "a platform's hash feed: paged through 1M records by bench --feed (casework.bench_feed)",
    **dict.fromkeys(
        ["casework:finding_media", "casework:finding_probe_crop", "casework:finding_reference_crop",
         "casework:consent_receipt", "casework:notice_pdf", "casework:notice_eml"],
        "a file: the volume builder writes no files"),
    "casework:notice_detail": "the volume builder generates no notices (each is a PDF)",
    **dict.fromkeys(
        ["casework:watch_create", "casework:watch_edit", "casework:watch_pause", "casework:watch_resume",
         "casework:watch_crawl", "casework:watch_robots", "casework:crawl_run_stop"],
        "a watch's form or a write: one watch, no volume to measure"),
    **dict.fromkeys(
        ["casework:watch_detail", "casework:crawl_run_detail"],
        "the volume builder makes no watches or crawl runs (issue 12)"),
}


@dataclass
class Measurement:
    status: int
    queries: int
    bytes: int
    html: bool  # the size bar is the "60 kB of HTML per page"; an API page's size is its page_size
    times_ms: list[float] = field(default_factory=list)
    slowest_sql: str = ""
    slowest_ms: float = 0.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95_ms(self) -> float:
        if len(self.times_ms) < 2:
            return self.times_ms[0]
        return statistics.quantiles(self.times_ms, n=20, method="inclusive")[18]

    def flags(self) -> list[str]:
        flags = [] if self.status == 200 else [f"HTTP {self.status}"]
        if self.p95_ms > FLAG_P95_MS:
            flags.append(f"p95 > {FLAG_P95_MS} ms")
        if self.html and self.bytes > FLAG_BYTES:
            flags.append(f"> {FLAG_BYTES // 1000} kB")
        return flags


@dataclass
class PageResult:
    page: Page
    by_organization: dict[str, Measurement]  # organisation slug -> its measurement


def bench_targets(organization: Organization) -> dict[str, int]:
    """The objects the measured detail pages show: the heaviest case and what hangs off it."""
    case = (Case.objects.filter(organization=organization).annotate(requests=Count("takedown_requests"))
            .order_by("-requests", "pk").first())
    return {
        "case": case.pk,
        "subject": case.subject_id,
        "takedown": case.takedown_requests.order_by("-pk").values_list("pk", flat=True).first(),
        "finding": Finding.objects.filter(organization=organization, status=Finding.Status.PENDING)
        .order_by("pk").values_list("pk", flat=True).first(),
        "report": Report.objects.filter(organization=organization, cases__isnull=False)
        .order_by("pk").values_list("pk", flat=True).first(),
        "api_media_item": MediaItem.objects.filter(submissions__organization=organization, findings__isnull=False)
        .order_by("pk").values_list("pk", flat=True).first(),
    }


def routes_not_measured() -> list[tuple[str, str]]:
    """(route name, why) for every route of the site's own URL configuration that PAGES does not time."""
    measured = {page.url_name for page in PAGES}
    found = []

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace in ("casework", "api", "stopncii"):
                    walk(pattern.url_patterns, pattern.namespace)
            elif isinstance(pattern, URLPattern) and namespace and pattern.name:
                name = f"{namespace}:{pattern.name}"
                if name in measured:
                    continue
                if getattr(pattern.callback, "public_page", False):
                    why = "public: not a staff page"
                elif pattern.name.startswith("portal"):
                    why = "the subject portal: not a staff page"
                else:
                    why = NOT_MEASURED.get(name, "NOT MEASURED: add it to casework/bench_pages.py PAGES")
                found.append((name, why))

    walk(get_resolver().url_patterns, None)
    return found


def _staff_client(organization: Organization, role: str) -> Client:
    """Signed in with a confirmed authenticator, as casework.middleware requires of staff."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    membership = (Membership.objects.filter(organization=organization, role=role, user__api_token__isnull=True)
                  .select_related("user").order_by("user_id").first())
    client = Client()
    client.force_login(membership.user)
    device = TOTPDevice.objects.filter(user=membership.user, confirmed=True).first() or TOTPDevice.objects.create(
        user=membership.user, name="Benchmark authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _token_client(organization: Organization) -> Client:
    from casework.services.api_tokens import api_token_create

    issued = api_token_create(organization=organization, role=Role.LEGAL,
                              name=f"Benchmark {timezone.now():%Y-%m-%d %H:%M:%S.%f}")
    return Client(HTTP_AUTHORIZATION=f"Token {issued.plaintext}")


def _measure(client: Client, url: str, runs: int) -> Measurement:
    client.get(url, secure=True)  # warm: templates compiled, caches filled, as on a running server
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, secure=True)
    # Reads only: EXPLAIN ANALYZE runs its statement, and a write (a token's last use) is no page's cost.
    reads = [q for q in captured.captured_queries if q["sql"].lstrip("( ").upper().startswith(("SELECT", "WITH"))]
    slowest = max(reads, key=lambda q: float(q["time"]), default={"sql": "", "time": "0"})
    result = Measurement(status=response.status_code, queries=len(captured.captured_queries),
                         bytes=len(response.content), html=response.get("Content-Type", "").startswith("text/html"),
                         slowest_sql=slowest["sql"], slowest_ms=1000 * float(slowest["time"]))
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url, secure=True)
        result.times_ms.append(1000 * (time.perf_counter() - started))
    return result


def pages_measure(organizations: list[Organization], *, runs: int = 7, pages: list[Page] = PAGES) -> list[PageResult]:
    axes_log = logging.getLogger("axes")
    axes_level = axes_log.level
    axes_log.setLevel(logging.WARNING)  # a line per benchmark sign-in would bury the table
    # The test client's host; HTTPS is asked for (secure=True) so SECURE_SSL_REDIRECT answers nothing.
    try:
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            results = _pages_measure(organizations, runs, pages)
    finally:
        axes_log.setLevel(axes_level)
    return results


def _pages_measure(organizations: list[Organization], runs: int, pages: list[Page]) -> list[PageResult]:
    clients, targets = {}, {}
    for org in organizations:
        targets[org.slug] = bench_targets(org)
        for role in {page.role for page in pages}:
            clients[org.slug, role] = _token_client(org) if role == LEGAL_TOKEN else _staff_client(org, role)
    results = []
    for page in pages:
        measured = {}
        for org in organizations:
            args = [targets[org.slug][page.target]] if page.target else []
            url = reverse(page.url_name, args=args) + (f"?{page.query}" if page.query else "")
            measured[org.slug] = _measure(clients[org.slug, page.role], url, runs)
        results.append(PageResult(page, measured))
    return results


def explain(sql: str) -> str:
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        return "\n".join(" | ".join(str(c) for c in row) for row in cursor.fetchall())


def results_table(results: list[PageResult], organizations: list[Organization]) -> list[str]:
    """One line per page: for each organisation median and p95 ms, queries, kB; then the flags."""
    slugs = [org.slug for org in organizations]
    head = f"{'page':38}" + "".join(f" | {slug[:35]:>35}" for slug in slugs) + " | flags"
    sub = f"{'':38}" + "".join(f" | {'med ms':>8}{'p95 ms':>8}{'queries':>8}{'kB':>7}{'':>4}" for _ in slugs) + " |"
    lines = [head, sub, "-" * len(sub)]
    for result in results:
        cells, flags = "", []
        for slug in slugs:
            m = result.by_organization[slug]
            cells += f" | {m.median_ms:>8.1f}{m.p95_ms:>8.1f}{m.queries:>8}{m.bytes / 1000:>7.1f}{'':>4}"
            flags += [f"{flag} ({slug})" for flag in m.flags()]
        counts = {result.by_organization[slug].queries for slug in slugs}
        if len(counts) > 1:
            flags.insert(0, "QUERIES GROW WITH VOLUME")
        lines.append(f"{result.page.label[:38]:38}{cells} | {'; '.join(flags)}")
    return lines
