"""A busy organisation's volume, for ``manage.py bench --pages`` (issue 17).

At scale 1.0 the numbers are the issue's: what a real organisation had when its pages slowed down.
Rows are bulk-inserted in batches, but as the services would leave them: subjects with a consent,
media items with their organisation and SHA-256, one finding each (of a subject of the same
organisation, carrying that organisation), confirmed findings in a case of their subject, takedown
requests whose ``deadline_at`` is ``casework.deadlines``' for their ``sent_at``, and an audit event for
each change, hash-chained exactly as ``casework.services.audit`` chains them (its own payload and
digest), so ``manage.py verify_audit`` passes on the result. No files: pages show media blurred or by
name, and a page's speed is about rows, not bytes on disk.

Timestamps are spread over two years, as a real organisation's are: auto_now_add fields are set by
hand here (``_backdated``), or every row would share one instant and no index would be tested.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection, models, transaction

from casework import deadlines
from casework.models import (
    AuditChainHead,
    AuditEvent,
    Case,
    CaseNote,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    ConsentText,
    MediaSubmission,
    Membership,
    Organization,
    Regime,
    Report,
    ReporterRole,
    Role,
    Subject,
    TakedownRequest,
)
from casework.services import takedowns
from casework.services.audit import GENESIS, audit_payload, audit_payload_digest
from detection.models import Finding, MediaItem

UTC = dt.UTC
BATCH_SIZE = 5_000

# Issue 17's busy organisation, at scale 1.0. A media item has one finding.
VOLUME = {
    "subjects": 5_000,
    "media_items": 100_000,
    "pending": 15_000,
    "cases": 19_000,
    "takedown_requests": 30_000,
    "reports": 20_000,
    "audit_events": 450_000,
    "platforms": 2_750,
}
# The heaviest case of the issue: 326 requests, 326 findings, ~2,000 timeline entries (at scale 1).
HEAVY_CASE = {"takedown_requests": 326, "findings": 326, "notes": 150}
# Below these a page would be empty or a list one row long: nothing to measure.
MINIMUM = {"subjects": 3, "media_items": 30, "pending": 5, "cases": 5, "takedown_requests": 11, "reports": 5,
           "audit_events": 0, "platforms": 5, "takedown_requests_heavy": 3, "findings_heavy": 3, "notes_heavy": 2}
SECOND_ORGANIZATION_SHARE = 0.1
TAGS = ["school", "sextortion", "celebrity", "ex-partner", "deepfake", "workplace", "minor-suspected", "repeat"]
STAFF_EXTRA = 5  # caseworkers besides the three measured users: assignees of cases
HISTORY_DAYS = 730

State = TakedownRequest.State
# (weight, the transitions that lead from a draft to the state): every state appears.
STATE_PATHS = {
    State.DRAFT: (8, []),
    State.READY: (4, ["prepare"]),
    State.SENT: (12, ["prepare", "send"]),
    State.ACKNOWLEDGED: (8, ["prepare", "send", "acknowledge"]),
    State.REMOVED: (14, ["prepare", "send", "record_removal"]),
    State.REFUSED: (6, ["prepare", "send", "record_refusal"]),
    State.NO_RESPONSE: (6, ["prepare", "send", "record_no_response"]),
    State.ESCALATED: (4, ["prepare", "send", "record_refusal", "escalate"]),
    State.REMOVAL_VERIFIED: (14, ["prepare", "send", "acknowledge", "record_removal", "verify_removal"]),
    State.CLOSED: (20, ["prepare", "send", "record_removal", "verify_removal", "close"]),
    State.REOPENED: (4, ["prepare", "send", "record_removal", "reopen"]),
}
TO_STATE = {"prepare": State.READY, "send": State.SENT, "acknowledge": State.ACKNOWLEDGED,
            "record_removal": State.REMOVED, "record_refusal": State.REFUSED, "record_no_response": State.NO_RESPONSE,
            "escalate": State.ESCALATED, "verify_removal": State.REMOVAL_VERIFIED, "close": State.CLOSED,
            "reopen": State.REOPENED}
# Of the requests whose clock runs, how many are at risk and past their deadline: the issue saw 697 of
# ~6,000 on the desk.
RUNNING_MIX = {deadlines.ON_TRACK: 0.88, deadlines.AT_RISK: 0.05, deadlines.BREACHED: 0.07}
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # casework.services.cases.new_reference's


def counts_at(scale: float) -> dict[str, int]:
    counts = {name: max(MINIMUM[name], round(n * scale)) for name, n in VOLUME.items()}
    # A smaller organisation's heaviest case is lighter, but not in proportion: the square root keeps
    # it heavier than one page at small scales, so a per-row query on the case page shows in the tests.
    for name, n in HEAVY_CASE.items():
        counts[f"{name}_heavy"] = max(MINIMUM[f"{name}_heavy"], round(n * max(scale, scale**0.5)))
    counts["pending"] = min(counts["pending"], counts["media_items"] // 3)
    return counts


def scale_slug(scale: float) -> str:
    return "bench-s" + f"{scale:g}".replace(".", "p").replace("-", "m")


@dataclass(frozen=True)
class OrganizationVolume:
    organization: Organization
    counts: dict[str, int]
    seconds: float


@contextmanager
def _backdated(*model_classes):
    """Let rows carry their own created_at/received_at: auto_now_add would stamp them all "now"."""
    fields = [f for m in model_classes for f in m._meta.concrete_fields if getattr(f, "auto_now_add", False)]
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True


def _insert(model: type[models.Model], rows: Iterable[models.Model]) -> list[int]:
    """bulk_create in batches from a generator (100,000 unsaved instances at once would be ~1 GB)."""
    ids, batch = [], []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_SIZE:
            ids += [o.pk for o in model.objects.bulk_create(batch)]
            batch = []
    if batch:
        ids += [o.pk for o in model.objects.bulk_create(batch)]
    return ids


def _code(n: int, width: int = 6) -> str:
    digits = []
    for _ in range(width):
        n, d = divmod(n, len(_CODE_ALPHABET))
        digits.append(_CODE_ALPHABET[d])
    return "".join(reversed(digits))


def _free_prefix(model: type[models.Model], start: str, rng: random.Random) -> str:
    """A two-letter prefix no existing reference uses, so sequential references stay unique."""
    while True:
        prefix = f"{start}-{rng.choice(_CODE_ALPHABET)}{rng.choice(_CODE_ALPHABET)}"
        if not model.objects.filter(reference__startswith=prefix).exists():
            return prefix


class _Builder:
    def __init__(self, *, organization: Organization, counts: dict[str, int], seed: int, now: dt.datetime):
        self.org, self.counts, self.now = organization, counts, now
        self.rng = random.Random(seed)
        self.events: list[tuple] = []  # (at, actor_id, action, target_type, target_id, data)
        self.usernames: dict[int, str] = {}

    def when(self, days_min: float = 0, days_max: float = HISTORY_DAYS) -> dt.datetime:
        return self.now - dt.timedelta(days=self.rng.uniform(days_min, days_max))

    def event(self, at, actor_id, action, target_type, target_id, data):
        at = min(at, self.now - dt.timedelta(minutes=1))  # planned follow-ups of recent rows: not in the future
        self.events.append((at, actor_id, action, target_type, str(target_id), data))

    # --- people ---------------------------------------------------------------------------------
    def staff(self) -> None:
        user_model = get_user_model()
        roles = [Role.CASEWORKER, Role.LEGAL, Role.ADMIN] + [Role.CASEWORKER] * STAFF_EXTRA
        self.staff_ids = []
        for n, role in enumerate(roles):
            user = user_model(username=f"{self.org.slug}-{role}-{n}")
            user.set_unusable_password()  # the benchmark signs in with force_login
            user.save()
            Membership.objects.create(user=user, organization=self.org, role=role)
            self.staff_ids.append(user.pk)
            self.usernames[user.pk] = user.get_username()
        self.caseworker_id, self.legal_id = self.staff_ids[0], self.staff_ids[1]

    def subjects(self) -> None:
        text, _ = ConsentText.objects.get_or_create(version="bench-1", defaults={
            "title": "Likeness and hash matching consent (benchmark)", "body": "Benchmark data.",
            "purposes": [ConsentPurpose.LIKENESS_MATCHING, ConsentPurpose.HASH_MATCHING]})
        created = [self.when() for _ in range(self.counts["subjects"])]
        with _backdated(Subject):
            self.subject_ids = _insert(Subject, (
                Subject(organization=self.org, display_name=f"Subject {n}", created_at=at) for n, at in enumerate(created)))
        consent_ids = _insert(Consent, (
            Consent(subject_id=pk, text=text, purposes=text.purposes, method=ConsentMethod.PAPER_WITNESSED,
                    signature=f"Subject {n}", recorded_by_id=self.caseworker_id, granted_at=at)
            for n, (pk, at) in enumerate(zip(self.subject_ids, created))))
        for pk, consent_pk, at in zip(self.subject_ids, consent_ids, created):
            self.event(at, self.caseworker_id, "subject.created", "casework.subject", pk, {"subject": pk})
            self.event(at, self.caseworker_id, "consent.granted", "casework.consent", consent_pk,
                       {"subject": pk, "purposes": text.purposes, "method": ConsentMethod.PAPER_WITNESSED})

    def reports(self) -> None:
        prefix = _free_prefix(Report, "RP", self.rng)
        rows = []
        for n in range(self.counts["reports"]):
            status = self.rng.choices(list(Report.Status), weights=[15, 40, 45])[0]
            rows.append((self.when(1), status))
        rows.sort()
        with _backdated(Report):
            self.report_ids = _insert(Report, (
                Report(organization=self.org, reference=f"{prefix}{_code(n)}", pin_hash="bench$not-a-pin",
                       reporter_role=self.rng.choice(list(ReporterRole)), description="Benchmark report.",
                       urls=f"https://site{n % 97}.example/post/{n}", depicts_minor=False, status=status, created_at=at)
                for n, (at, status) in enumerate(rows)))
        self.report_created = {pk: at for pk, (at, _) in zip(self.report_ids, rows)}
        self.reports_in_review = [pk for pk, (_, s) in zip(self.report_ids, rows) if s != Report.Status.RECEIVED]
        for pk, (at, _) in zip(self.report_ids, rows):
            self.event(at, None, "report.received", "casework.report", pk, {"files": 0})

    # --- cases ----------------------------------------------------------------------------------
    def cases(self) -> None:
        prefix = _free_prefix(Case, "RC", self.rng)
        reports = list(self.reports_in_review)
        self.rng.shuffle(reports)
        plans = []
        for n in range(self.counts["cases"]):
            report_id = reports.pop() if reports and self.rng.random() < 0.4 else None
            created = self.report_created[report_id] + dt.timedelta(hours=2) if report_id else self.when(1)
            subject_id = self.subject_ids[0] if n == 0 else self.rng.choice(self.subject_ids)
            closed = n != 0 and self.rng.random() < 0.4
            plans.append({
                "subject_id": subject_id, "report_id": report_id, "created_at": created,
                "status": Case.Status.CLOSED if closed else Case.Status.OPEN,
                "closed_at": created + dt.timedelta(days=self.rng.uniform(1, 60)) if closed else None,
                "priority": self.rng.choices([1, 2, 3, 4], weights=[20, 50, 20, 10])[0],
                "tags": sorted(self.rng.sample(TAGS, self.rng.choice([0, 0, 1, 1, 2, 3]))),
                "assignee_id": self.rng.choice(self.staff_ids + [None]),
            })
        # The heavy case: open for years, urgent, the measured caseworker's.
        plans[0].update(tags=["repeat", "sextortion"], priority=4, assignee_id=self.caseworker_id, report_id=None,
                        created_at=self.now - dt.timedelta(days=HISTORY_DAYS - 10))
        with _backdated(Case):
            self.case_ids = _insert(Case, (
                Case(organization=self.org, reference=f"{prefix}{_code(n)}", created_by_id=self.caseworker_id, **plan)
                for n, plan in enumerate(plans)))
        self.case_subject = {pk: p["subject_id"] for pk, p in zip(self.case_ids, plans)}
        self.case_created = {pk: p["created_at"] for pk, p in zip(self.case_ids, plans)}
        self.heavy_case_id = self.case_ids[0]
        for pk, p in zip(self.case_ids, plans):
            at, by = p["created_at"], self.caseworker_id
            self.event(at, by, "case.opened", "casework.case", pk, {"subject": p["subject_id"], "findings": []})
            if p["report_id"]:
                self.event(at, by, "report.in_review", "casework.report", p["report_id"], {"case": pk})
            if p["tags"]:
                self.event(at + dt.timedelta(minutes=5), by, "case.tags_set", "casework.case", pk,
                           {"from": [], "tags": p["tags"]})
            if p["assignee_id"]:
                self.event(at + dt.timedelta(minutes=6), by, "case.assigned", "casework.case", pk,
                           {"from": by, "to": p["assignee_id"], "assignee_name": self.usernames[p["assignee_id"]]})
            if p["closed_at"]:
                self.event(p["closed_at"], by, "case.closed", "casework.case", pk, {"note": ""})

    def notes(self) -> None:
        count = self.counts["notes_heavy"]
        created = sorted(self.case_created[self.heavy_case_id] + dt.timedelta(hours=1 + n) for n in range(count))
        with _backdated(CaseNote):
            ids = _insert(CaseNote, (CaseNote(case_id=self.heavy_case_id, author_id=self.caseworker_id,
                                              body=f"Called the subject ({n}).", created_at=at)
                                     for n, at in enumerate(created)))
        for pk, at in zip(ids, created):
            self.event(at, self.caseworker_id, "case.note_added", "casework.casenote", pk,
                       {"case": self.heavy_case_id, "length": 20})

    # --- media and findings ---------------------------------------------------------------------
    def media_and_findings(self) -> None:
        n_media, n_pending = self.counts["media_items"], self.counts["pending"]
        sources = self.rng.choices(list(MediaItem.Source), weights=[10, 20, 50, 20], k=n_media)
        statuses = [Finding.Status.PENDING] * n_pending + [
            Finding.Status.CONFIRMED if self.rng.random() < 0.45 else Finding.Status.REJECTED
            for _ in range(n_media - n_pending)]
        self.rng.shuffle(statuses)
        confirmed = [n for n, s in enumerate(statuses) if s == Finding.Status.CONFIRMED]
        heavy = set(confirmed[: self.counts["findings_heavy"]])
        finding_case = {n: (self.heavy_case_id if n in heavy else self.rng.choice(self.case_ids)) for n in confirmed}
        received = [self.when(0.01) for _ in range(n_media)]

        def media_rows() -> Iterator[MediaItem]:
            for n, (source, at) in enumerate(zip(sources, received)):
                sha = f"{self.rng.getrandbits(256):064x}"
                fetched = source in (MediaItem.Source.CRAWL, MediaItem.Source.API)
                yield MediaItem(
                    source=source, organization=self.org, sha256=sha, md5=sha[:32], size=self.rng.randint(20_000, 5_000_000),
                    source_url=f"https://cdn{n % 53}.site{n % 211}.example/m/{n}.jpg" if fetched else "",
                    page_url=f"https://site{n % 211}.example/p/{n}" if fetched else "",
                    http_status=200 if fetched else None, fetched_at=at if fetched else None,
                    original_name="" if fetched else f"upload-{n}.jpg", content_type="image/jpeg",
                    kind=MediaItem.Kind.IMAGE, width=1080, height=1350, status=MediaItem.Status.DONE,
                    received_at=at, processed_at=at + dt.timedelta(minutes=2),
                )

        with _backdated(MediaItem):
            self.media_ids = _insert(MediaItem, media_rows())

        def subject_of(n: int) -> int:
            return self.case_subject[finding_case[n]] if n in finding_case else self.rng.choice(self.subject_ids)

        plans = []
        for n, (media_id, status) in enumerate(zip(self.media_ids, statuses)):
            kind = Finding.Kind.LIKENESS if self.rng.random() < 0.7 else Finding.Kind.HASH
            distance = round(self.rng.uniform(0.2, 0.6) if kind == Finding.Kind.LIKENESS else self.rng.randint(0, 31), 4)
            created = received[n] + dt.timedelta(minutes=3)
            if n in finding_case:  # confirmed into a case: the case is older than its findings
                created = max(created, self.case_created[finding_case[n]] + dt.timedelta(minutes=10))
            if status != Finding.Status.PENDING:
                created = min(created, self.now - dt.timedelta(hours=4))  # reviewed 3 hours later, before now
            plans.append((media_id, subject_of(n), kind, distance, status, created))
        with _backdated(Finding):
            self.finding_ids = _insert(Finding, (
                Finding(media_item_id=media_id, subject_id=subject_id, organization=self.org, kind=kind,
                        distance=distance, threshold=0.6 if kind == Finding.Kind.LIKENESS else 31.0,
                        model_version="bench", status=status, created_at=created,
                        references_agreeing=1, references_total=1,
                        reviewed_by_id=None if status == Finding.Status.PENDING else self.caseworker_id,
                        reviewed_at=None if status == Finding.Status.PENDING else created + dt.timedelta(hours=3),
                        review_reason="" if status != Finding.Status.REJECTED else "Not the subject.")
                for media_id, subject_id, kind, distance, status, created in plans))
        through = Case.findings.through
        _insert(through, (through(case_id=finding_case[n], finding_id=self.finding_ids[n]) for n in confirmed))
        for n, (pk, (_, _, kind, distance, status, created)) in enumerate(zip(self.finding_ids, plans)):
            if status == Finding.Status.CONFIRMED:
                self.event(created + dt.timedelta(hours=3), self.caseworker_id, "finding.confirmed",
                           "detection.finding", pk, {"kind": kind, "distance": distance, "case": finding_case[n]})
            elif status == Finding.Status.REJECTED:
                self.event(created + dt.timedelta(hours=3), self.caseworker_id, "finding.rejected",
                           "detection.finding", pk, {"reason": "Not the subject.", "ignored_file": ""})
        self.decided_findings = [(pk, p[5]) for pk, p in zip(self.finding_ids, plans) if p[4] != Finding.Status.PENDING]

        # Where each item came from: uploads to a case, a report's files, a partner's submissions.
        by_source = {s: [m for m, src in zip(self.media_ids, sources) if src == s] for s in MediaItem.Source}
        through = Case.media_items.through
        _insert(through, (through(case_id=self.heavy_case_id if n < 5 else self.rng.choice(self.case_ids), mediaitem_id=m)
                          for n, m in enumerate(by_source[MediaItem.Source.UPLOAD])))
        through = Report.media_items.through
        _insert(through, (through(report_id=self.rng.choice(self.report_ids), mediaitem_id=m)
                          for m in by_source[MediaItem.Source.REPORT]))
        received_of = dict(zip(self.media_ids, received))
        with _backdated(MediaSubmission):
            _insert(MediaSubmission, (
                MediaSubmission(organization=self.org, media_item_id=m, submitted_by_id=self.caseworker_id,
                                created_at=received_of[m]) for m in by_source[MediaItem.Source.API]))
        for m in by_source[MediaItem.Source.API]:
            self.event(received_of[m], self.caseworker_id, "media_item.submitted", "detection.mediaitem", m,
                       {"url": "", "via": "api"})

    # --- takedown requests ----------------------------------------------------------------------
    def takedown_requests(self) -> None:
        names = [f"platform-{n:04d}.example" for n in range(self.counts["platforms"])]
        n_requests = self.counts["takedown_requests"]
        # Every platform once, then a long tail: a few platforms receive most requests (Zipf, s = 1.1).
        weights = [1 / (rank + 1) ** 1.1 for rank in range(len(names))]
        platforms = names[:n_requests] + self.rng.choices(names, weights=weights, k=max(0, n_requests - len(names)))
        self.rng.shuffle(platforms)
        states = list(STATE_PATHS)  # every state at least once
        states += self.rng.choices(list(STATE_PATHS), weights=[w for w, _ in STATE_PATHS.values()],
                                   k=max(0, n_requests - len(states)))
        self.rng.shuffle(states)
        n_heavy = min(self.counts["takedown_requests_heavy"], n_requests)
        # Cases opened months ago: a request's history (a GDPR month, a no-response after it) fits after them.
        old = [pk for pk, at in self.case_created.items() if at < self.now - dt.timedelta(days=100)] or self.case_ids
        cases = [self.heavy_case_id] * n_heavy + [self.rng.choice(old) for _ in range(n_requests - n_heavy)]
        # Counted out, not drawn: even a tiny volume has a request at risk and one breached on the desk.
        running = [n for n, state in enumerate(states) if state in deadlines.CLOCK_RUNNING]
        late = {status: max(1, round(len(running) * RUNNING_MIX[status])) for status in (deadlines.AT_RISK, deadlines.BREACHED)}
        mixes = [status for status, k in late.items() for _ in range(k)]
        mixes += [deadlines.ON_TRACK] * (len(running) - len(mixes))
        self.rng.shuffle(mixes)
        mix_of = dict(zip(running, mixes))
        plans = [self._request_plan(case_id, platform, state, n, mix_of.get(n))
                 for n, (case_id, platform, state) in enumerate(zip(cases, platforms, states))]
        plans.sort(key=lambda p: p["created_at"])
        with _backdated(TakedownRequest):
            ids = _insert(TakedownRequest, (
                TakedownRequest(organization=self.org, created_by_id=self.legal_id,
                                **{k: v for k, v in p.items() if k != "history"}) for p in plans))
        for pk, p in zip(ids, plans):
            self.event(p["created_at"], self.legal_id, "takedown_request.created", "casework.takedownrequest", pk,
                       {"case": p["case_id"], "platform": p["platform"], "url": p["target_url"], "regime": p["regime"],
                        "directory_platform": None})
            previous = State.DRAFT
            for action, at in p["history"]:
                data = {"from": previous, "to": TO_STATE[action], "note": ""}
                if action == "send":
                    data["deadline_at"] = p["deadline_at"].isoformat()
                self.event(at, self.legal_id, f"takedown_request.{action}", "casework.takedownrequest", pk, data)
                previous = TO_STATE[action]

    def _request_plan(self, case_id: int, platform: str, state: str, n: int, mix: str | None) -> dict:
        regime = self.rng.choices(list(Regime), weights=[40, 25, 20, 10, 5])[0]
        path = STATE_PATHS[state][1]
        period = deadlines.deadline_compute(regime=regime, sent_at=self.now) - self.now
        if state in deadlines.CLOCK_RUNNING:
            fraction = {deadlines.ON_TRACK: (0.0, 0.6), deadlines.AT_RISK: (0.8, 0.97),
                        deadlines.BREACHED: (1.05, 3.0)}[mix]
            sent_at = self.now - period * self.rng.uniform(*fraction)
        else:
            # Finished long enough ago for a "no response" after a GDPR month.
            sent_at = self.now - dt.timedelta(days=self.rng.uniform(45, HISTORY_DAYS - 30))
        created = sent_at - dt.timedelta(hours=self.rng.uniform(1, 48))
        created = max(created, self.case_created[case_id] + dt.timedelta(minutes=30))
        sent_at = max(sent_at, created + dt.timedelta(minutes=30))
        deadline_at = deadlines.deadline_compute(regime=regime, sent_at=sent_at) if "send" in path else None
        history, at = [], created
        for action in path:
            if action == "prepare":
                at = created + (sent_at - created) / 2
            elif action == "send":
                at = sent_at
            elif action == "record_no_response":
                at = deadline_at + dt.timedelta(hours=self.rng.uniform(1, 72))
            else:  # answers come around the deadline: some in time, some late
                at = at + period * self.rng.uniform(0.05, 0.8)
            at = min(at, self.now - dt.timedelta(minutes=1))
            history.append((action, at))
        # As takedown_transition keeps them: the first answer and the first removal after sending.
        answered_at = next((when for action, when in history if TO_STATE[action] in takedowns.ANSWERED), None)
        removed_at = next((when for action, when in history if TO_STATE[action] == State.REMOVED), None)
        return {
            "case_id": case_id, "platform": platform, "regime": regime, "state": state, "created_at": created,
            "target_url": f"https://{platform}/content/{n}", "recipient_email": f"abuse@{platform}",
            "state_changed_at": history[-1][1] if history else None,
            "sent_at": sent_at if deadline_at else None, "deadline_at": deadline_at, "history": history,
            "answered_at": answered_at, "removed_at": removed_at,
        }

    # --- the audit log --------------------------------------------------------------------------
    def pad_events(self) -> None:
        """The rest of a busy log: media looked at during review (one event each, on a finding)."""
        missing = self.counts["audit_events"] - len(self.events)
        for _ in range(max(0, missing)):
            pk, created = self.rng.choice(self.decided_findings)
            at = created + (self.now - created) * self.rng.random()
            self.event(at, self.rng.choice(self.staff_ids), "media.revealed", "detection.finding", pk,
                       {"finding": pk, "what": "media"})

    def write_events(self) -> None:
        """Append the events to the chain in time order, hashed as audit_record hashes them."""
        self.events.sort(key=lambda e: e[0])
        with transaction.atomic():
            # The head row serialises appends (casework.services.audit): no other writer may fork the chain.
            head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1, defaults={"last_hash": GENESIS})
            last = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
            next_id, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
            if previous != head.last_hash:
                raise RuntimeError("the audit chain's head does not match its last event: run verify_audit first")

            def rows() -> Iterator[AuditEvent]:
                nonlocal previous
                for offset, (at, actor_id, action, target_type, target_id, data) in enumerate(self.events):
                    event = AuditEvent(
                        id=next_id + offset, at=at, actor_id=actor_id, organization_id=self.org.pk, action=action,
                        actor_label=f"user:{actor_id}:{self.usernames[actor_id]}" if actor_id else "system",
                        target_type=target_type, target_id=target_id, data=data, prev_hash=previous,
                    )
                    event.hash = audit_payload_digest(audit_payload(event))
                    previous = event.hash
                    yield event

            _insert(AuditEvent, rows())
            # Ids were given here, so the database's own counter must be moved past them.
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [AuditEvent]):
                    cursor.execute(sql)
            head.last_hash = previous
            head.save(update_fields=["last_hash"])


def organization_volume_build(*, scale: float, slug: str, name: str, seed: int = 17) -> OrganizationVolume:
    """One organisation with issue 17's volume times ``scale``."""
    import time

    started = time.monotonic()
    counts = counts_at(scale)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    with transaction.atomic():
        organization = Organization.objects.create(name=name, slug=slug)
        builder = _Builder(organization=organization, counts=counts, seed=seed, now=now)
        builder.staff()
        builder.subjects()
        builder.reports()
        builder.cases()
        builder.notes()
        builder.media_and_findings()
        builder.takedown_requests()
        builder.pad_events()
        builder.write_events()
    counts["audit_events"] = len(builder.events)
    return OrganizationVolume(organization=organization, counts=counts, seconds=time.monotonic() - started)


def volume_build(*, scale: float, seed: int = 17) -> list[OrganizationVolume]:
    """The busy organisation at ``scale`` and a second one at SECOND_ORGANIZATION_SHARE of it."""
    slug = scale_slug(scale)
    return [
        organization_volume_build(scale=scale, slug=slug, name=f"Busy organisation (scale {scale:g})", seed=seed),
        organization_volume_build(scale=scale * SECOND_ORGANIZATION_SHARE, slug=f"{slug}-second",
                                  name=f"Second organisation (scale {scale:g} × {SECOND_ORGANIZATION_SHARE:g})",
                                  seed=seed + 1),
    ]
