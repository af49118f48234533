"""Evidence packs: what was captured for each media item travels with its hashes, the notices' PDFs
and the case's audit chain; the pack verifies offline after export and fails after any tampering."""

import hashlib
import io
import json
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from casework.models import AuditEvent, Notice, Regime
from casework.services import evidence, minors
from casework.services.cases import case_open, finding_confirm
from casework.services.consent import subject_create
from casework.services.evidence import evidence_pack_anchor_check, evidence_pack_export, evidence_pack_verify
from casework.services.minors import case_media_items
from casework.services.notices import NoticeDraft, notice_generate
from casework.views.evidence import EVIDENCE_LIST_PAGE_SIZE
from detection import services as detection
from detection.encryption import is_token
from detection.models import Finding, MediaItem
from tests.casework.test_notices import COMPLETE
from tests.detection.test_fetching import LocalServer

HEADERS = {"Content-Type": "image/jpeg", "Last-Modified": "Tue, 01 Apr 2025 10:00:00 GMT", "X-Served-By": "cache-1"}


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.close()


@pytest.fixture
def case_with_evidence(server, astronaut_subject, images, caseworker, legal):
    """A case whose media was fetched from a web server, confirmed, and noticed."""
    server.routes["/photo.jpg"] = (200, HEADERS, images["reported-astronaut.jpg"])
    [item] = detection.media_ingest_url(url=server.url("/photo.jpg"), source=MediaItem.Source.CRAWL)
    detection.media_scan(media_item_id=item.pk)
    case, request = finding_confirm(finding=item.findings.get(), by=caseworker, platform="ExampleTube",
                                    target_url=server.url("/photo.jpg"), regime=Regime.DMCA)
    notice_generate(request=request, draft=NoticeDraft.from_fields(COMPLETE[Regime.DMCA]), by=legal)
    return case


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as pack:
        return {name: pack.read(name) for name in pack.namelist()}


def rezip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as pack:
        for name, content in files.items():
            pack.writestr(name, content)
    return buffer.getvalue()


def with_manifest(files: dict[str, bytes], manifest: dict, *, rehash: bool) -> bytes:
    """The pack with an edited manifest; ``rehash`` is the tamperer who also recomputes manifest.sha256."""
    raw = json.dumps(manifest).encode()
    changed = {**files, "manifest.json": raw}
    if rehash:
        changed["manifest.sha256"] = f"{hashlib.sha256(raw).hexdigest()}  manifest.json\n".encode()
    return rezip(changed)


def test_the_pack_holds_each_items_capture_evidence_and_verifies(case_with_evidence, caseworker, server):
    data = evidence_pack_export(case=case_with_evidence, by=caseworker)
    files = members(data)
    manifest = json.loads(files["manifest.json"])
    [item] = manifest["media_items"]
    media = MediaItem.objects.get(pk=item["id"])
    assert item["source_url"] == server.url("/photo.jpg") and item["http_status"] == 200
    assert item["http_headers"]["x-served-by"] == "cache-1" and item["captured_at"] == media.fetched_at.isoformat()
    assert item["sha256"] == media.sha256 and item["pdq"] == media.pdq != ""
    assert hashlib.sha256(files[item["file"]]).hexdigest() == media.sha256  # the stored file, as captured
    [notice] = manifest["notices"]
    assert hashlib.sha256(files[notice["pdf"]]).hexdigest() == notice["pdf_sha256"]
    actions = [e["payload"]["action"] for e in manifest["audit"]["events"]]
    assert {"finding.confirmed", "case.opened", "takedown_request.created", "notice.generated",
            "takedown_request.prepare"} <= set(actions)
    assert manifest["audit"]["chain_head"] == manifest["audit"]["chain"][-1][2]
    assert files["manifest.sha256"].decode().split()[0] == hashlib.sha256(files["manifest.json"]).hexdigest()

    check = evidence_pack_verify(data)
    assert check.problems == [] and evidence_pack_anchor_check(check) == []
    exported = AuditEvent.objects.get(action="case.evidence_exported")
    assert exported.actor == caseworker and exported.data["manifest_sha256"] == check.manifest_sha256


def test_the_pack_holds_the_captured_bytes_not_the_encrypted_file(case_with_evidence, caseworker, images):
    files = members(evidence_pack_export(case=case_with_evidence, by=caseworker))
    [item] = json.loads(files["manifest.json"])["media_items"]
    with default_storage.open(MediaItem.objects.get(pk=item["id"]).file.name, "rb") as handle:
        assert is_token(handle.read())
    assert files[item["file"]] == images["reported-astronaut.jpg"]


def test_a_changed_file_byte_is_caught(case_with_evidence, caseworker):
    files = members(evidence_pack_export(case=case_with_evidence, by=caseworker))
    media = next(name for name in files if name.startswith("media/"))
    tampered = bytearray(files[media])
    tampered[len(tampered) // 2] ^= 0x01
    problems = evidence_pack_verify(rezip({**files, media: bytes(tampered)})).problems
    assert problems == [evidence.PACK_FILE_CHANGED.format(path=media)]


def test_a_dropped_file_is_caught(case_with_evidence, caseworker):
    files = members(evidence_pack_export(case=case_with_evidence, by=caseworker))
    pdf = next(name for name in files if name.startswith("notices/"))
    del files[pdf]
    assert evidence_pack_verify(rezip(files)).problems == [evidence.PACK_FILE_MISSING.format(path=pdf)]


def test_an_added_file_is_caught(case_with_evidence, caseworker):
    files = members(evidence_pack_export(case=case_with_evidence, by=caseworker))
    problems = evidence_pack_verify(rezip({**files, "media/extra.jpg": b"planted"})).problems
    assert problems == [evidence.PACK_FILE_UNLISTED.format(path="media/extra.jpg")]


def test_an_edited_manifest_is_caught(case_with_evidence, caseworker):
    files = members(evidence_pack_export(case=case_with_evidence, by=caseworker))
    manifest = json.loads(files["manifest.json"])
    manifest["media_items"][0]["source_url"] = "https://elsewhere.example/photo.jpg"
    assert evidence_pack_verify(with_manifest(files, manifest, rehash=False)).problems == [
        evidence.PACK_MANIFEST_CHANGED
    ]


def test_a_rehashed_manifest_passes_offline_but_not_against_the_audit_log(case_with_evidence, caseworker):
    """What a hash alone cannot prove: the export's audit event holds the genuine manifest's hash."""
    files = members(evidence_pack_export(case=case_with_evidence, by=caseworker))
    manifest = json.loads(files["manifest.json"])
    manifest["media_items"][0]["source_url"] = "https://elsewhere.example/photo.jpg"
    check = evidence_pack_verify(with_manifest(files, manifest, rehash=True))
    assert check.problems == []
    assert evidence_pack_anchor_check(check) == [evidence.PACK_NOT_ANCHORED.format(sha256=check.manifest_sha256)]


def test_a_file_swapped_with_a_rehashed_manifest_is_not_the_capture(case_with_evidence, caseworker):
    files = members(evidence_pack_export(case=case_with_evidence, by=caseworker))
    manifest = json.loads(files["manifest.json"])
    media = manifest["media_items"][0]["file"]
    manifest["files"][media] = hashlib.sha256(b"another image").hexdigest()
    problems = evidence_pack_verify(with_manifest({**files, media: b"another image"}, manifest, rehash=True)).problems
    assert problems == [evidence.PACK_FILE_NOT_CAPTURE.format(path=media, id=manifest["media_items"][0]["id"])]


def test_an_edited_audit_event_in_the_pack_is_caught(case_with_evidence, caseworker):
    files = members(evidence_pack_export(case=case_with_evidence, by=caseworker))
    manifest = json.loads(files["manifest.json"])
    event = manifest["audit"]["events"][0]
    event["payload"]["actor"] = "user:999:someone-else"
    problems = evidence_pack_verify(with_manifest(files, manifest, rehash=True)).problems
    assert problems == [evidence.PACK_EVENT_EDITED.format(id=event["payload"]["id"])]


def test_a_cut_or_reordered_chain_in_the_pack_is_caught(case_with_evidence, caseworker):
    files = members(evidence_pack_export(case=case_with_evidence, by=caseworker))
    manifest = json.loads(files["manifest.json"])
    chain = manifest["audit"]["chain"]
    assert len(chain) >= 4
    reordered = json.loads(json.dumps(manifest))
    reordered["audit"]["chain"][1], reordered["audit"]["chain"][2] = chain[2], chain[1]
    problems = evidence_pack_verify(with_manifest(files, reordered, rehash=True)).problems
    assert evidence.PACK_CHAIN_BROKEN.format(id=chain[2][0]) in problems
    cut = json.loads(json.dumps(manifest))
    del cut["audit"]["chain"][1]
    problems = evidence_pack_verify(with_manifest(files, cut, rehash=True)).problems
    assert evidence.PACK_CHAIN_BROKEN.format(id=chain[2][0]) in problems


def test_a_case_that_depicts_a_minor_exports_hashes_and_no_imagery(case_with_evidence, caseworker,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        minors.case_minor_record(case=case_with_evidence, by=caseworker)
    case_with_evidence.refresh_from_db()
    data = evidence_pack_export(case=case_with_evidence, by=caseworker)
    files = members(data)
    manifest = json.loads(files["manifest.json"])
    assert not [name for name in files if name.startswith("media/")]
    [item] = manifest["media_items"]
    assert item["file"] is None and item["file_omitted"] == evidence.MINOR_NO_FILE and item["sha256"] and item["pdq"]
    assert evidence_pack_verify(data).problems == []


def test_not_a_zip_is_refused():
    assert evidence_pack_verify(b"not a zip").problems[0].startswith("The pack is not a readable ZIP file")


# --- Commands and page ---------------------------------------------------------------------------------


def test_the_commands_export_and_verify_a_pack(case_with_evidence, tmp_path, capsys):
    out = tmp_path / "pack.zip"
    call_command("export_evidence", case_with_evidence.reference, str(out))
    call_command("verify_evidence_pack", str(out), "--against-audit-log")
    printed = capsys.readouterr().out
    assert f"Evidence pack of {case_with_evidence.reference} verified" in printed
    assert "recorded in the audit log" in printed
    assert "This proves the pack is intact" in printed

    files = members(out.read_bytes())
    del files[next(name for name in files if name.startswith("media/"))]
    (tmp_path / "tampered.zip").write_bytes(rezip(files))
    with pytest.raises(CommandError, match="fails verification"):
        call_command("verify_evidence_pack", str(tmp_path / "tampered.zip"))
    with pytest.raises(CommandError, match="No case has the reference"):
        call_command("export_evidence", "RC-NOSUCH", str(out))


def test_staff_download_the_pack_from_the_evidence_page(client, case_with_evidence, caseworker, server):
    client.force_login(caseworker)
    page = client.get(reverse("casework:case_evidence", args=[case_with_evidence.pk])).content.decode()
    assert server.url("/photo.jpg") in page and "cache-1" in page and "Download the evidence pack" in page
    response = client.post(reverse("casework:case_evidence_export", args=[case_with_evidence.pk]))
    assert response["Content-Type"] == "application/zip" and response["Cache-Control"] == "private, no-store"
    assert evidence_pack_verify(response.content).problems == []
    assert AuditEvent.objects.filter(action="case.evidence_exported", actor=caseworker).count() == 1


# --- The evidence page at volume ------------------------------------------------------------------

@pytest.fixture
def case(org, caseworker):
    return case_open(subject=subject_create(organization=org, display_name="Subject"), by=caseworker)


def _case_grown(case, caseworker, legal, count: int, start: int = 0, notices: int = 0):
    """``count`` more confirmed findings in ``case`` (each a media item and a takedown request, as a confirmed
    scan makes them: the scan itself needs the face models), the first ``notices`` of them noticed."""
    for n in range(start, start + count):
        item = detection.media_ingest(data=b"evidence media %d" % n, source=MediaItem.Source.UPLOAD)
        finding = Finding.objects.create(media_item=item, subject=case.subject, organization=case.organization,
                                         kind=Finding.Kind.HASH, distance=3, threshold=31, model_version="pdq")
        _, request = finding_confirm(finding=finding, by=caseworker, platform="ExampleTube",
                                     target_url=f"https://p.example/{n}", regime=Regime.DMCA)
        if n - start < notices:
            notice_generate(request=request, draft=NoticeDraft.from_fields(COMPLETE[Regime.DMCA]), by=legal)


def _evidence_page(client, case, **query) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("casework:case_evidence", args=[case.pk]), query)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_evidence_page_costs_the_same_queries_with_two_or_sixty_items_and_requests(client, case, caseworker,
                                                                                         legal):
    _case_grown(case, caseworker, legal, 2, notices=2)
    client.force_login(caseworker)
    small, _ = _evidence_page(client, case)
    _case_grown(case, caseworker, legal, EVIDENCE_LIST_PAGE_SIZE, start=2, notices=1)
    _, full = _evidence_page(client, case)  # the media and request lists' first pages full
    _case_grown(case, caseworker, legal, 60 - 2 - EVIDENCE_LIST_PAGE_SIZE, start=2 + EVIDENCE_LIST_PAGE_SIZE)
    large, page = _evidence_page(client, case)
    deep, _ = _evidence_page(client, case, media_page=3, requests_page=2, notices_page=2)
    assert small == large == deep
    assert page.count("https://p.example/") == EVIDENCE_LIST_PAGE_SIZE  # one page of the sixty requests
    assert page.count("</tr>") == EVIDENCE_LIST_PAGE_SIZE + 1  # the media table's rows and its head
    # Thirty-four more items and requests change only the counts and page numbers, not the page's size.
    assert abs(len(page) - len(full)) < 50
    assert "60 media item(s), 60 takedown request(s), 3 notice(s)" in " ".join(page.split())


def test_each_list_of_the_evidence_page_has_its_own_pages(client, case, caseworker, legal):
    _case_grown(case, caseworker, legal, EVIDENCE_LIST_PAGE_SIZE + 1, notices=EVIDENCE_LIST_PAGE_SIZE + 1)
    client.force_login(caseworker)
    items = list(case_media_items(case).order_by("pk"))
    requests = list(case.takedown_requests.order_by("pk"))
    notices = list(Notice.objects.filter(takedown_request__case=case).order_by("pk"))
    notice_url = lambda notice: reverse("casework:notice_detail", args=[notice.pk])
    first = _evidence_page(client, case)[1]
    assert items[0].sha256 in first and items[-1].sha256 not in first
    assert requests[0].target_url + "<" in first and requests[-1].target_url + "<" not in first
    assert notice_url(notices[0]) in first and notice_url(notices[-1]) not in first
    assert "media_page=2#media" in first and "requests_page=2#requests" in first and "notices_page=2#notices" in first
    second = _evidence_page(client, case, requests_page=2, media_page=1)[1]
    assert requests[-1].target_url + "<" in second and requests[0].target_url + "<" not in second
    assert items[0].sha256 in second and notice_url(notices[0]) in second  # the other lists stayed on page 1
    assert "media_page=1" in second and "requests_page=2" in second  # links keep the other lists' pages
    third = _evidence_page(client, case, notices_page=2)[1]
    assert notice_url(notices[-1]) in third and notice_url(notices[0]) not in third


def test_the_evidence_page_lists_only_its_own_cases_notices(client, case, caseworker, legal, org):
    _case_grown(case, caseworker, legal, 1, notices=1)
    other = case_open(subject=subject_create(organization=org, display_name="Other"), by=caseworker)
    _case_grown(other, caseworker, legal, 1, start=1, notices=1)
    client.force_login(caseworker)
    page = _evidence_page(client, case)[1]
    [own] = Notice.objects.filter(takedown_request__case=case)
    [foreign] = Notice.objects.filter(takedown_request__case=other)
    assert reverse("casework:notice_detail", args=[own.pk]) in page
    assert reverse("casework:notice_detail", args=[foreign.pk]) not in page
