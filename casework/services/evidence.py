"""Evidence packs: a case's captured media, notices and audit trail in one ZIP that verifies offline.

Integrity: ``manifest.json`` lists every file with its SHA-256, and ``manifest.sha256`` holds the
manifest's own SHA-256. That is a hash, not a signature: anyone can check it, and anyone who edits the
pack can recompute it. An HMAC keyed with SECRET_KEY was considered and not used: only the holder of
the key could verify it (not a court or the victim's lawyer), the key cannot be handed over without
letting the holder forge packs, and rotating SECRET_KEY would make every older pack unverifiable.
Instead the export is anchored in the audit log: the pack carries the chain head at export, and the
export's own audit event records the manifest's SHA-256. So offline verification proves the pack is
intact and self-consistent (files, manifest, audit events and their links); that it is the pack Reclaim
exported is proved by the manifest hash recorded in the live, hash-chained log
(``evidence_pack_anchor_check``; ``verify_evidence_pack --against-audit-log``).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.db.models import Q, QuerySet
from django.utils import timezone

from casework.models import AuditEvent, Case, Notice
from casework.services.audit import GENESIS, audit_payload, audit_payload_digest, audit_record
from casework.services.minors import case_media_items
from detection.media_files import media_item_read

PACK_FORMAT = "reclaim-evidence-pack/1"
MANIFEST = "manifest.json"
MANIFEST_HASH = "manifest.sha256"
MINOR_NO_FILE = "not kept: the case depicts a minor, so Reclaim keeps only the hashes of its imagery"
NOT_STORED = "not stored (the capture failed or the file was deleted)"

PACK_NOT_ZIP = "The pack is not a readable ZIP file: {error}"
PACK_NO_MANIFEST = "The pack has no {name}."
PACK_MANIFEST_UNREADABLE = "manifest.json is not valid JSON of an evidence pack: {error}"
PACK_MANIFEST_CHANGED = "manifest.json does not match the SHA-256 in manifest.sha256: the manifest was changed"
PACK_FILE_MISSING = "{path} is listed in the manifest but is missing from the pack"
PACK_FILE_CHANGED = "{path} does not match its SHA-256 in the manifest: the file was changed"
PACK_FILE_UNLISTED = "{path} is in the pack but not in the manifest"
PACK_FILE_NOT_CAPTURE = "{path} is not the file captured for media item {id}: its SHA-256 is not the capture's"
PACK_PDF_NOT_NOTICE = "{path} is not the PDF generated for notice {id}: its SHA-256 is not the notice's"
PACK_EVENT_EDITED = "audit event #{id} does not match its hash: it was edited"
PACK_EVENT_NOT_IN_CHAIN = "audit event #{id} is not in the pack's chain of links"
PACK_CHAIN_BROKEN = "the chain breaks at event #{id}: it does not follow the event before it (cut or reordered)"
PACK_HEAD_MISMATCH = "the pack's chain does not end at the head it records"
PACK_NOT_ANCHORED = (
    "No export of a pack with this manifest (SHA-256 {sha256}) is in the audit log: the pack is not one "
    "Reclaim exported, or it was rebuilt after export"
)
PACK_HEAD_UNKNOWN = "The pack's chain head {head} is not an event of this audit log"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def case_audit_events(case: Case) -> QuerySet[AuditEvent]:
    """The audit events about the case, its takedown requests, their notices and its findings."""
    requests = [str(pk) for pk in case.takedown_requests.values_list("pk", flat=True)]
    notices = [str(pk) for pk in Notice.objects.filter(takedown_request__case=case).values_list("pk", flat=True)]
    findings = [str(pk) for pk in case.findings.values_list("pk", flat=True)]
    about = (
        Q(target_type="casework.case", target_id=str(case.pk))
        | Q(target_type="casework.takedownrequest", target_id__in=requests)
        | Q(target_type="casework.notice", target_id__in=notices)
        | Q(target_type="detection.finding", target_id__in=findings)
    )
    return AuditEvent.objects.filter(about).order_by("id")


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _read(field) -> bytes:
    with field.open("rb") as handle:
        return handle.read()


def evidence_pack_export(*, case: Case, by) -> bytes:
    """The case's evidence pack as ZIP bytes; the export is audited with the manifest's SHA-256."""
    buffer, files = io.BytesIO(), {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as pack:

        def add(path: str, data: bytes) -> str:
            # Media is compressed already; deflating it again costs time and saves nothing.
            compress = zipfile.ZIP_DEFLATED if path.endswith(".pdf") else zipfile.ZIP_STORED
            pack.writestr(path, data, compress_type=compress)
            files[path] = _sha256(data)
            return path

        items = []
        for item in case_media_items(case).order_by("pk"):
            path, omitted = None, None
            if case.depicts_minor:
                omitted = MINOR_NO_FILE  # the law forbids holding it, whatever the purpose
            elif not item.file:
                omitted = NOT_STORED
            else:
                # Decrypted: the pack holds what was captured, so its SHA-256 is the capture's.
                suffix = PurePosixPath(item.file.name).suffix
                path = add(f"media/{item.pk}-{item.sha256[:16]}{suffix}", media_item_read(item))
            items.append({
                "id": item.pk, "source": item.source, "source_url": item.source_url, "page_url": item.page_url,
                "captured_at": _iso(item.fetched_at or item.received_at), "fetched_at": _iso(item.fetched_at),
                "received_at": _iso(item.received_at), "http_status": item.http_status,
                "http_headers": item.http_headers, "sha256": item.sha256, "md5": item.md5, "pdq": item.pdq,
                "pdq_quality": item.pdq_quality, "size": item.size, "content_type": item.content_type,
                "kind": item.kind, "file": path, "file_omitted": omitted,
            })
        requests = list(case.takedown_requests.order_by("pk"))
        notices = []
        for notice in Notice.objects.filter(takedown_request__case=case).order_by("pk"):
            notices.append({
                "id": notice.pk, "takedown_request": notice.takedown_request_id, "regime": notice.regime,
                "created_at": _iso(notice.created_at), "signed_at": _iso(notice.signed_at),
                "signer_name": notice.signer_name, "pdf": add(f"notices/{notice.pk}-{notice.regime}.pdf",
                                                              _read(notice.pdf)),
                "pdf_sha256": notice.pdf_sha256, "sent_via": notice.sent_via, "sent_at": _iso(notice.sent_at),
                "message_id": notice.message_id, "submission_reference": notice.submission_reference,
                "known_copies": notice.known_copies,
            })
        events = list(case_audit_events(case))
        # Hashes only for the events between: they prove the links without showing other cases' data.
        links = (
            list(AuditEvent.objects.filter(id__gte=events[0].pk).order_by("id").values_list("id", "prev_hash", "hash"))
            if events else []
        )
        head = links[-1][2] if links else GENESIS
        manifest = {
            "format": PACK_FORMAT,
            "exported_at": timezone.now().isoformat(),
            "exported_by": by.get_username() if by else "system",
            "case": {
                "reference": case.reference, "organization": case.organization.name,
                "subject": case.subject.display_name if case.subject else None, "status": case.status,
                "depicts_minor": case.depicts_minor, "opened_at": _iso(case.created_at),
            },
            "media_items": items,
            "takedown_requests": [
                {"id": r.pk, "platform": r.platform, "url": r.target_url, "regime": r.regime, "state": r.state,
                 "sent_at": _iso(r.sent_at), "deadline_at": _iso(r.deadline_at)}
                for r in requests
            ],
            "notices": notices,
            "audit": {
                "events": [{"payload": audit_payload(e), "hash": e.hash} for e in events],
                "chain": [list(link) for link in links],
                "chain_head": head,
            },
            "files": files,
        }
        data = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=str).encode()
        manifest_sha256 = _sha256(data)
        pack.writestr(MANIFEST, data)
        pack.writestr(MANIFEST_HASH, f"{manifest_sha256}  {MANIFEST}\n")
    audit_record(
        action="case.evidence_exported", actor=by, organization=case.organization, target=case,
        data={"manifest_sha256": manifest_sha256, "chain_head": head, "files": len(files)},
    )
    return buffer.getvalue()


@dataclass
class PackCheck:
    problems: list[str] = field(default_factory=list)
    manifest: dict | None = None
    manifest_sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_audit(audit: dict, problems: list[str]) -> None:
    chain = [tuple(link) for link in audit.get("chain", [])]
    for before, after in zip(chain, chain[1:]):
        if after[1] != before[2] or after[0] <= before[0]:
            problems.append(PACK_CHAIN_BROKEN.format(id=after[0]))
    if (chain[-1][2] if chain else GENESIS) != audit.get("chain_head"):
        problems.append(PACK_HEAD_MISMATCH)
    links = set(chain)
    for event in audit.get("events", []):
        payload = event["payload"]
        if audit_payload_digest(payload) != event["hash"]:
            problems.append(PACK_EVENT_EDITED.format(id=payload.get("id")))
        if (payload.get("id"), payload.get("prev"), event["hash"]) not in links:
            problems.append(PACK_EVENT_NOT_IN_CHAIN.format(id=payload.get("id")))


def evidence_pack_verify(data: bytes) -> PackCheck:
    """Check a pack with nothing but the pack: every file against the manifest, the manifest against
    manifest.sha256, and the audit events against their hashes and links."""
    check = PackCheck()
    try:
        pack = zipfile.ZipFile(io.BytesIO(data))
        names = set(pack.namelist())
    except zipfile.BadZipFile as exc:
        check.problems.append(PACK_NOT_ZIP.format(error=exc))
        return check
    for name in (MANIFEST, MANIFEST_HASH):
        if name not in names:
            check.problems.append(PACK_NO_MANIFEST.format(name=name))
    if check.problems:
        return check
    raw = pack.read(MANIFEST)
    check.manifest_sha256 = _sha256(raw)
    if pack.read(MANIFEST_HASH).decode(errors="replace").split()[:1] != [check.manifest_sha256]:
        check.problems.append(PACK_MANIFEST_CHANGED)
    try:
        manifest = json.loads(raw)
        listed: dict[str, str] = manifest["files"]
        audit = manifest["audit"]
    except (ValueError, KeyError, TypeError) as exc:
        check.problems.append(PACK_MANIFEST_UNREADABLE.format(error=exc))
        return check
    check.manifest = manifest
    actual = {}
    for path, expected in listed.items():
        if path not in names:
            check.problems.append(PACK_FILE_MISSING.format(path=path))
            continue
        actual[path] = _sha256(pack.read(path))
        if actual[path] != expected:
            check.problems.append(PACK_FILE_CHANGED.format(path=path))
    for path in sorted(names - set(listed) - {MANIFEST, MANIFEST_HASH}):
        check.problems.append(PACK_FILE_UNLISTED.format(path=path))
    # A file that matches the manifest must also be what was captured (or generated): a tamperer who
    # swaps a file and rewrites its line in "files" is caught here. A changed file is reported once.
    intact = {path for path, digest in actual.items() if digest == listed[path]}
    for item in manifest.get("media_items", []):
        if item.get("file") in intact and actual[item["file"]] != item.get("sha256"):
            check.problems.append(PACK_FILE_NOT_CAPTURE.format(path=item["file"], id=item.get("id")))
    for notice in manifest.get("notices", []):
        if notice.get("pdf") in intact and actual[notice["pdf"]] != notice.get("pdf_sha256"):
            check.problems.append(PACK_PDF_NOT_NOTICE.format(path=notice["pdf"], id=notice.get("id")))
    _check_audit(audit, check.problems)
    return check


def evidence_pack_anchor_check(check: PackCheck) -> list[str]:
    """Where the audit log is at hand: was a pack with exactly this manifest exported, and is its chain
    head an event of this log? This is what a recomputed manifest.sha256 cannot fake."""
    problems = []
    exported = AuditEvent.objects.filter(action="case.evidence_exported", data__manifest_sha256=check.manifest_sha256)
    if not exported.exists():
        problems.append(PACK_NOT_ANCHORED.format(sha256=check.manifest_sha256))
    head = (check.manifest or {}).get("audit", {}).get("chain_head", "")
    if head != GENESIS and not AuditEvent.objects.filter(hash=head).exists():
        problems.append(PACK_HEAD_UNKNOWN.format(head=head))
    return problems
