"""The partner API (/api/v1/): tokens, organisation isolation, roles, media submission, findings,
takedown transitions, pagination, throttling, webhooks, and the schema."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.exceptions import Retry
from django.core.cache import cache
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from casework.api.authentication import TOKEN_INVALID
from casework.api.common import NO_ORGANIZATION
from casework.api.media import URL_OR_FILE
from casework.models import ApiToken, AuditEvent, MediaSubmission, TakedownRequest, WebhookDelivery
from casework.services.api_tokens import api_token_create, api_token_digest, api_token_revoke
from casework.services.cases import finding_confirm
from casework.services.consent import subject_create
from casework.services.takedowns import ROLE_NOT_ALLOWED, TRANSITION_NOT_ALLOWED
from casework.services.webhooks import (
    BACKOFF_BASE_S,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    backoff_max_s,
    webhook_create,
    webhook_delivery_attempt,
    webhooks_notify,
)
from casework.tasks import webhook_delivery_send
from detection import services as detection
from detection.models import Finding, MediaItem
from tests import factories

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()  # throttle histories live in the cache
    yield
    cache.clear()


class Partner:
    """A test HTTP server on 127.0.0.1: serves GET ``routes``, answers POSTs with ``post_statuses`` in turn."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict, bytes]] = {}
        self.post_statuses: list[int] = []
        self.posts: list[tuple[dict, bytes]] = []
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status, headers, body):
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._answer(*partner.routes.get(self.path, (404, {}, b"not here")))

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                partner.posts.append((dict(self.headers), body))
                status = partner.post_statuses.pop(0) if partner.post_statuses else 200
                self._answer(status, {}, b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def partner():
    server = Partner()
    yield server
    server.close()


@pytest.fixture
def issued(org):
    return api_token_create(organization=org, name="ExampleTube crawler")


@pytest.fixture
def other_issued(other_org):
    return api_token_create(organization=other_org, name="Other partner")


def auth(issued) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {issued.plaintext}"}


def submit_upload(client, issued, data: bytes = PNG, name: str = "leak.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("api:media_submit"), {"file": SimpleUploadedFile(name, data)}, **auth(issued))


def hash_finding(subject, item: MediaItem) -> Finding:
    # A finding as the hash matcher writes it; scanning for real needs the face models, which is not under test.
    return Finding.objects.create(media_item=item, subject=subject, organization_id=subject.organization_id,
                                  kind=Finding.Kind.HASH, distance=4,
                                  threshold=31, model_version="pdq")


@pytest.fixture
def draft_request(org, caseworker):
    from casework.services.cases import case_open, takedown_request_create

    case = case_open(subject=subject_create(organization=org, display_name="Subject"), by=caseworker)
    return takedown_request_create(case=case, platform="ExampleTube", target_url="https://video.example.com/w/1",
                                   regime="dsa", by=caseworker)


# --- Tokens ---------------------------------------------------------------------------------------

def test_a_valid_token_reads_its_organisations_takedown_requests_and_is_marked_used(client, issued, draft_request):
    response = client.get(reverse("api:takedown_requests"), **auth(issued))
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [draft_request.pk]
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


def test_only_the_tokens_sha256_is_stored(issued):
    token = ApiToken.objects.get(pk=issued.token.pk)
    assert token.secret_sha256 == hashlib.sha256(issued.plaintext.encode()).hexdigest()
    assert issued.plaintext not in json.dumps(list(ApiToken.objects.values()), default=str)


def test_a_revoked_token_is_refused(client, issued):
    api_token_revoke(token=issued.token)
    response = client.get(reverse("api:takedown_requests"), **auth(issued))
    assert response.status_code == 401 and response.json()["detail"] == TOKEN_INVALID


def test_a_wrong_token_is_refused(client, issued):
    response = client.get(reverse("api:takedown_requests"), HTTP_AUTHORIZATION="Token rcl_not-the-token")
    assert response.status_code == 401 and response.json()["detail"] == TOKEN_INVALID


def test_creating_and_revoking_a_token_are_audited(issued):
    api_token_revoke(token=issued.token)
    api_token_revoke(token=issued.token)
    actions = list(AuditEvent.objects.filter(target_id=str(issued.token.pk), target_type="casework.apitoken")
                   .values_list("action", flat=True))
    assert actions == ["api_token.created", "api_token.revoked"]


def test_the_command_prints_a_token_once_that_then_works(client, org, capsys, draft_request):
    call_command("create_api_token", "--organization", org.slug, "--name", "Flagger")
    plaintext = capsys.readouterr().out.strip()
    assert ApiToken.objects.get(name="Flagger").secret_sha256 == api_token_digest(plaintext)
    response = client.get(reverse("api:takedown_requests"), HTTP_AUTHORIZATION=f"Token {plaintext}")
    assert response.status_code == 200


def test_a_service_account_cannot_sign_in_to_the_pages(issued):
    assert not issued.token.user.has_usable_password()


# --- Organisation isolation and roles --------------------------------------------------------------

def test_another_organisations_token_gets_404_for_a_takedown_request(client, other_issued, draft_request):
    url = reverse("api:takedown_request_detail", args=[draft_request.pk])
    assert client.get(url, **auth(other_issued)).status_code == 404
    response = client.patch(url, json.dumps({"action": "prepare"}), content_type="application/json",
                            **auth(other_issued))
    assert response.status_code == 404
    assert client.get(reverse("api:takedown_requests"), **auth(other_issued)).json()["results"] == []


def test_another_organisations_token_gets_404_for_a_media_item(client, issued, other_issued):
    item_id = submit_upload(client, issued).json()["media_items"][0]
    assert client.get(reverse("api:media_item_detail", args=[item_id]), **auth(other_issued)).status_code == 404
    assert client.get(reverse("api:media_item_findings", args=[item_id]), **auth(other_issued)).status_code == 404


def test_staff_of_another_organisation_get_404(client, outsider, draft_request):
    client.force_login(outsider)
    assert client.get(reverse("api:takedown_request_detail", args=[draft_request.pk])).status_code == 404


def test_a_signed_in_user_of_no_organisation_is_forbidden(client, db):
    client.force_login(factories.UserFactory())
    response = client.get(reverse("api:takedown_requests"))
    assert response.status_code == 403 and response.json()["detail"] == NO_ORGANIZATION


def test_staff_session_sees_the_same_takedown_requests(client, caseworker, draft_request):
    client.force_login(caseworker)
    response = client.get(reverse("api:takedown_requests"))
    assert [row["id"] for row in response.json()["results"]] == [draft_request.pk]


def test_a_caseworker_may_not_escalate_a_refused_request_but_legal_may(client, caseworker, legal, draft_request):
    # Reaching "refused" for real needs a generated notice and a send; the state machine is tested elsewhere.
    TakedownRequest.objects.filter(pk=draft_request.pk).update(state=TakedownRequest.State.REFUSED)
    url = reverse("api:takedown_request_detail", args=[draft_request.pk])
    body = json.dumps({"action": "escalate", "note": "to the regulator"})
    client.force_login(caseworker)
    refused = client.patch(url, body, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == ROLE_NOT_ALLOWED.format(
        role="caseworker", action="Escalate", roles="legal staff or organisation admin")
    client.force_login(legal)
    allowed = client.patch(url, body, content_type="application/json")
    assert allowed.status_code == 200 and allowed.json()["state"] == "escalated"
    assert "close" in allowed.json()["actions"]


# --- Takedown transitions -------------------------------------------------------------------------

@pytest.fixture
def sent_request(draft_request):
    TakedownRequest.objects.filter(pk=draft_request.pk).update(state=TakedownRequest.State.SENT)
    draft_request.refresh_from_db()
    return draft_request


def test_a_partner_token_records_an_acknowledgement_with_one_audit_event(client, issued, sent_request):
    url = reverse("api:takedown_request_detail", args=[sent_request.pk])
    response = client.patch(url, json.dumps({"action": "acknowledge"}), content_type="application/json",
                            **auth(issued))
    assert response.status_code == 200 and response.json()["state"] == "acknowledged"
    event = AuditEvent.objects.get(action="takedown_request.acknowledge", target_id=str(sent_request.pk))
    assert event.actor == issued.token.user


def test_a_transition_the_state_does_not_allow_is_refused_with_409(client, issued, draft_request):
    url = reverse("api:takedown_request_detail", args=[draft_request.pk])
    response = client.patch(url, json.dumps({"action": "acknowledge"}), content_type="application/json",
                            **auth(issued))
    assert response.status_code == 409
    assert response.json()["detail"].startswith(TRANSITION_NOT_ALLOWED.split("{")[0])
    draft_request.refresh_from_db()
    assert draft_request.state == TakedownRequest.State.DRAFT


def test_an_unknown_action_is_a_400(client, issued, draft_request):
    url = reverse("api:takedown_request_detail", args=[draft_request.pk])
    response = client.patch(url, json.dumps({"action": "delete"}), content_type="application/json", **auth(issued))
    assert response.status_code == 400


def test_the_list_filters_by_state_and_regime(client, issued, draft_request, sent_request):
    url = reverse("api:takedown_requests")
    assert client.get(url, {"state": "sent"}, **auth(issued)).json()["count"] == 1
    assert client.get(url, {"state": "draft"}, **auth(issued)).json()["count"] == 0
    assert client.get(url, {"regime": "dsa"}, **auth(issued)).json()["count"] == 1
    assert client.get(url, {"regime": "dmca"}, **auth(issued)).json()["count"] == 0
    assert client.get(url, {"state": "nonsense"}, **auth(issued)).status_code == 400


def test_the_list_is_paginated(client, issued, draft_request, caseworker):
    from casework.services.cases import takedown_request_create

    for n in range(4):
        takedown_request_create(case=draft_request.case, platform="ExampleTube",
                                target_url=f"https://video.example.com/w/{n + 2}", regime="dsa", by=caseworker)
    first = client.get(reverse("api:takedown_requests"), {"page_size": 2}, **auth(issued)).json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["next"]
    last = client.get(reverse("api:takedown_requests"), {"page_size": 2, "page": 3}, **auth(issued)).json()
    assert len(last["results"]) == 1 and last["next"] is None


def test_a_page_of_200_requests_costs_the_queries_of_a_page_of_two(client, org, legal, draft_request, caseworker):
    # A legal token may "prepare" a draft, which needs a notice: the list must not ask once per row.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casework.services.cases import takedown_request_create
    from casework.services.notices import NoticeDraft, notice_generate
    from tests.casework.test_thin_path import NOTICE

    legal_token = api_token_create(organization=org, name="Legal desk", role="legal")

    def drafts(count: int):
        for n in range(count):
            takedown_request_create(case=draft_request.case, platform="ExampleTube", regime="take_it_down",
                                    target_url=f"https://video.example.com/w/{n + 2}", by=caseworker)

    def listed() -> tuple[int, list[dict]]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("api:takedown_requests"), {"page_size": 200}, **auth(legal_token))
        assert response.status_code == 200
        return len(queries), response.json()["results"]

    drafts(1)
    small, _ = listed()
    drafts(60)
    with_notice = takedown_request_create(case=draft_request.case, platform="ExampleTube", regime="take_it_down",
                                          target_url="https://video.example.com/w/with-notice", by=caseworker)
    notice_generate(request=with_notice, draft=NoticeDraft(**NOTICE), by=legal)
    TakedownRequest.objects.filter(pk=with_notice.pk).update(state=TakedownRequest.State.REOPENED)
    large, rows = listed()
    assert len(rows) == 63 and large == small
    preparable = {row["id"] for row in rows if "prepare" in row["actions"]}
    assert preparable == {with_notice.pk}  # the others are take-it-down drafts without a notice yet


# --- Media ----------------------------------------------------------------------------------------

def test_an_upload_becomes_a_media_item_of_the_organisation_queued_for_scanning(
    client, issued, org, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("detection.tasks.scan_media.delay", queued.append)  # the worker is not under test
    with django_capture_on_commit_callbacks(execute=True):
        response = submit_upload(client, issued)
    assert response.status_code == 201
    [item_id] = response.json()["media_items"]
    assert queued == [item_id]
    assert MediaSubmission.objects.filter(organization=org, media_item_id=item_id).exists()
    status = client.get(reverse("api:media_item_detail", args=[item_id]), **auth(issued)).json()
    assert status["status"] == "received" and status["sha256"] == hashlib.sha256(PNG).hexdigest()


def test_an_upload_of_bytes_another_organisation_sent_is_a_new_item_that_tells_nothing_of_theirs(
    client, issued, other_issued, scans_queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [theirs] = submit_upload(client, other_issued).json()["media_items"]
        MediaItem.objects.filter(pk=theirs).update(received_at=timezone.now() - timezone.timedelta(days=30))
        response = submit_upload(client, issued)
    assert response.status_code == 201
    [mine] = response.json()["media_items"]
    assert mine != theirs and response.json()["status"] == "received"
    detail = client.get(reverse("api:media_item_detail", args=[mine]), **auth(issued)).json()
    assert detail["status"] == "received"
    assert timezone.now() - timezone.datetime.fromisoformat(detail["received_at"]) < timezone.timedelta(minutes=1)
    assert client.get(reverse("api:media_item_detail", args=[theirs]), **auth(issued)).status_code == 404
    assert scans_queued == [theirs, mine]  # each organisation's item is scanned for its own answer


def test_the_same_organisation_uploading_the_same_bytes_twice_gets_one_item(client, issued):
    first = submit_upload(client, issued).json()["media_items"]
    assert submit_upload(client, issued, name="again.png").json()["media_items"] == first
    assert MediaSubmission.objects.filter(media_item_id=first[0]).count() == 1


@pytest.fixture
def scans_queued(monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr("detection.tasks.scan_media.delay", queued.append)  # the scanner is not under test
    return queued


def submit_url(client, issued, url: str):
    return client.post(reverse("api:media_submit"), json.dumps({"url": url}), content_type="application/json",
                       **auth(issued))


def detail(client, issued, item_id: int) -> dict:
    return client.get(reverse("api:media_item_detail", args=[item_id]), **auth(issued)).json()


def test_a_url_is_answered_at_once_then_fetched_by_a_task(
    client, issued, partner, images, scans_queued, django_capture_on_commit_callbacks
):
    partner.routes["/leak.jpg"] = (200, {"Content-Type": "image/jpeg"}, images["reported-astronaut.jpg"])
    with django_capture_on_commit_callbacks() as callbacks:
        response = submit_url(client, issued, partner.url("/leak.jpg"))
    assert response.status_code == 202, response.content
    [item_id] = response.json()["media_items"]
    assert response.json()["status"] == "fetching"
    assert detail(client, issued, item_id)["status"] == "fetching"
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:  # the request's commit queues the fetch; here the worker runs it
            callback()
    fetched = detail(client, issued, item_id)
    assert fetched["status"] == "received" and fetched["found_media_items"] == [item_id]
    assert fetched["sha256"] == hashlib.sha256(images["reported-astronaut.jpg"]).hexdigest()
    item = MediaItem.objects.get(pk=item_id)
    assert item.source == MediaItem.Source.API and item.source_url == partner.url("/leak.jpg")
    assert scans_queued == [item_id]


def test_a_slow_server_does_not_hold_the_request(client, issued, settings, django_capture_on_commit_callbacks):
    import time

    from detection import fetching
    from tests.detection.test_fetching import LocalServer

    def drip(handler):  # a byte every two seconds, as a hostile or overloaded server sends
        handler.send_response(200)
        handler.end_headers()
        for _ in range(30):
            handler.wfile.write(b"\xff")
            handler.wfile.flush()
            time.sleep(2)

    server = LocalServer()
    server.routes["/drip.jpg"] = drip
    try:
        with django_capture_on_commit_callbacks() as callbacks:
            started = time.monotonic()
            response = submit_url(client, issued, server.url("/drip.jpg"))
            answered_in = time.monotonic() - started
        assert response.status_code == 202 and answered_in < 0.5
        assert server.requests == []  # not even connected to: the worker does that
        settings.FETCH_DEADLINE_S = 1
        with django_capture_on_commit_callbacks(execute=True):
            for callback in callbacks:
                callback()
    finally:
        server.close()
    failed = detail(client, issued, response.json()["media_items"][0])
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == fetching.TOO_SLOW.format(url=server.url("/drip.jpg"), seconds=1)


def test_a_worker_on_the_broker_fetches_a_url_from_a_slow_server_while_the_request_has_answered(
    client, worker, images, scans_queued
):
    import time

    from tests.detection.test_fetching import LocalServer

    def slow(handler):
        time.sleep(2)
        body = images["reference.jpg"]
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    issued = api_token_create(organization=factories.OrganizationFactory(), name="Crawler")
    server = LocalServer()
    server.routes["/slow.jpg"] = slow
    try:
        started = time.monotonic()
        response = submit_url(client, issued, server.url("/slow.jpg"))
        assert response.status_code == 202 and time.monotonic() - started < 0.5
        item_id = response.json()["media_items"][0]
        deadline = time.monotonic() + 30
        while detail(client, issued, item_id)["status"] == "fetching" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.close()
    assert detail(client, issued, item_id)["status"] == "received" and scans_queued == [item_id]


def test_a_url_that_cannot_be_fetched_ends_failed_with_the_reason(
    client, issued, partner, django_capture_on_commit_callbacks
):
    from detection import fetching

    with django_capture_on_commit_callbacks(execute=True):
        response = submit_url(client, issued, partner.url("/gone"))
    assert response.status_code == 202
    failed = detail(client, issued, response.json()["media_items"][0])
    assert failed["status"] == "failed" and failed["found_media_items"] == []
    assert failed["failure_reason"] == fetching.HTTP_STATUS.format(url=partner.url("/gone"), status=404)


def test_a_pages_media_become_items_that_only_the_submitting_organisation_reads(
    client, issued, other_issued, partner, images, scans_queued, django_capture_on_commit_callbacks
):
    partner.routes["/post"] = (200, {"Content-Type": "text/html"},
                              b'<!doctype html><html><body><img src="/a.jpg"><img src="/b.jpg"></body></html>')
    partner.routes["/a.jpg"] = (200, {}, images["reference.jpg"])
    partner.routes["/b.jpg"] = (200, {}, images["reported-coffee.jpg"])
    with django_capture_on_commit_callbacks(execute=True):
        [page_id] = submit_url(client, issued, partner.url("/post")).json()["media_items"]
    page = detail(client, issued, page_id)
    assert page["status"] == "fetched" and len(page["found_media_items"]) == 2
    for item_id in page["found_media_items"]:
        found = detail(client, issued, item_id)
        assert found["status"] == "received" and found["page_url"] == partner.url("/post")
        for route in ("api:media_item_detail", "api:media_item_findings"):
            assert client.get(reverse(route, args=[item_id]), **auth(issued)).status_code == 200
            assert client.get(reverse(route, args=[item_id]), **auth(other_issued)).status_code == 404
    assert scans_queued == page["found_media_items"]


def test_a_url_the_organisation_already_captured_points_at_the_earlier_item(
    client, issued, partner, images, scans_queued, django_capture_on_commit_callbacks
):
    partner.routes["/leak.jpg"] = (200, {}, images["reported-astronaut.jpg"])
    with django_capture_on_commit_callbacks(execute=True):
        [first] = submit_url(client, issued, partner.url("/leak.jpg")).json()["media_items"]
        [again] = submit_url(client, issued, partner.url("/leak.jpg")).json()["media_items"]
    assert again != first
    assert detail(client, issued, again)["status"] == "fetched"
    assert detail(client, issued, again)["found_media_items"] == [first]
    # Only the earlier capture is scanned (queued again while it waits: a second scan is skipped).
    assert MediaItem.objects.exclude(sha256="").count() == 1 and set(scans_queued) == {first}


def test_neither_url_nor_file_is_a_400(client, issued):
    response = client.post(reverse("api:media_submit"), json.dumps({}), content_type="application/json",
                           **auth(issued))
    assert response.status_code == 400 and response.json()["detail"] == URL_OR_FILE


def test_findings_are_only_the_organisations_own_subjects(client, issued, other_issued, org, other_org):
    # Media of any organisation are matched against every consented subject, so one item may hold both.
    item_id = submit_upload(client, issued).json()["media_items"][0]
    item = MediaItem.objects.get(pk=item_id)
    ours = hash_finding(subject_create(organization=org, display_name="Ours"), item)
    hash_finding(subject_create(organization=other_org, display_name="Theirs"), item)
    mine = client.get(reverse("api:media_item_findings", args=[item_id]), **auth(issued)).json()
    assert [f["id"] for f in mine["results"]] == [ours.pk]
    # The same bytes from the other organisation are its own item, with none of this item's findings.
    other_id = submit_upload(client, other_issued).json()["media_items"][0]
    other = client.get(reverse("api:media_item_findings", args=[other_id]), **auth(other_issued)).json()
    assert other_id != item_id and other["results"] == []


def test_findings_are_filtered_by_status_and_kind(client, issued, org):
    item_id = submit_upload(client, issued).json()["media_items"][0]
    item = MediaItem.objects.get(pk=item_id)
    pending = hash_finding(subject_create(organization=org, display_name="A"), item)
    rejected = hash_finding(subject_create(organization=org, display_name="B"), item)
    Finding.objects.filter(pk=rejected.pk).update(status=Finding.Status.REJECTED)
    url = reverse("api:media_item_findings", args=[item_id])

    def ids(**query):
        return [f["id"] for f in client.get(url, query, **auth(issued)).json()["results"]]

    assert ids() == [pending.pk, rejected.pk]
    assert ids(status="rejected") == [rejected.pk] and ids(status="pending", kind="hash") == [pending.pk]
    assert ids(kind="likeness") == []
    bad = client.get(url, {"status": "maybe"}, **auth(issued))
    assert bad.status_code == 400 and "status" in bad.json()


# --- Throttling -----------------------------------------------------------------------------------

def test_requests_over_the_rate_are_throttled(client, issued, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api_read": "2/minute", "api_write": "1/minute"}}
    url = reverse("api:takedown_requests")
    assert [client.get(url, **auth(issued)).status_code for _ in range(3)] == [200, 200, 429]
    assert [submit_upload(client, issued, name=f"{n}.png").status_code for n in range(2)] == [201, 429]


# --- Webhooks -------------------------------------------------------------------------------------

@pytest.fixture
def webhook(org, partner):
    return webhook_create(organization=org, url=partner.url("/hook"))


def test_a_confirmed_finding_calls_the_webhook_with_a_verifiable_signature(
    partner, webhook, org, caseworker, django_capture_on_commit_callbacks
):
    subject = subject_create(organization=org, display_name="Subject")
    item = detection.media_ingest(data=PNG, source=MediaItem.Source.CRAWL, source_url="https://x.example/1.png")
    finding = hash_finding(subject, item)
    with django_capture_on_commit_callbacks(execute=True):
        case, _request = finding_confirm(finding=finding, by=caseworker, platform="ExampleTube",
                                        target_url="https://x.example/1")
    [(headers, body)] = partner.posts
    timestamp = headers[TIMESTAMP_HEADER]
    expected = hmac.new(webhook.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], f"sha256={expected}")
    payload = json.loads(body)
    assert payload["event"] == "finding.confirmed"
    assert payload["data"]["finding"] == finding.pk and payload["data"]["case"] == case.reference
    assert WebhookDelivery.objects.get().delivered_at is not None


def test_another_organisations_webhook_is_not_called(partner, other_org, org, caseworker,
                                                     django_capture_on_commit_callbacks):
    webhook_create(organization=other_org, url=partner.url("/hook"))
    subject = subject_create(organization=org, display_name="Subject")
    item = detection.media_ingest(data=PNG, source=MediaItem.Source.CRAWL, source_url="https://x.example/2.png")
    with django_capture_on_commit_callbacks(execute=True):
        finding_confirm(finding=hash_finding(subject, item), by=caseworker, platform="ExampleTube",
                        target_url="https://x.example/2")
    assert partner.posts == [] and not WebhookDelivery.objects.exists()


def test_a_failing_partner_is_retried_with_exponential_backoff(partner, webhook, org):
    partner.post_statuses = [500, 503]
    [delivery] = webhooks_notify(organization=org, event="finding.confirmed", payload={"finding": 1})
    before = timezone.now()
    first = webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (first.delivered, first.retry_in_s, delivery.attempts, delivery.last_status) == (False, BACKOFF_BASE_S,
                                                                                             1, 500)
    assert (delivery.next_attempt_at - before).total_seconds() >= BACKOFF_BASE_S
    second = webhook_delivery_attempt(delivery_id=delivery.pk)
    assert second.retry_in_s == 2 * BACKOFF_BASE_S
    third = webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert third.delivered and delivery.attempts == 3 and delivery.delivered_at and delivery.next_attempt_at is None


def test_the_task_asks_celery_to_retry_after_the_backoff_then_delivers(partner, webhook, org):
    partner.post_statuses = [500]
    [delivery] = webhooks_notify(organization=org, event="finding.confirmed", payload={"finding": 1})
    with pytest.raises(Retry) as retry:
        webhook_delivery_send.apply(args=[delivery.pk])
    assert retry.value.when == BACKOFF_BASE_S
    webhook_delivery_send.apply(args=[delivery.pk], retries=1)
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.delivered_at is not None and len(partner.posts) == 2
    webhook_delivery_send.apply(args=[delivery.pk], retries=2)  # a duplicate message sends nothing more
    assert len(partner.posts) == 2


def test_a_delivery_stops_after_the_last_attempt(partner, webhook, org):
    partner.post_statuses = [500] * 10
    [delivery] = webhooks_notify(organization=org, event="finding.confirmed", payload={"finding": 1})
    outcomes = [webhook_delivery_attempt(delivery_id=delivery.pk) for _ in range(9)]
    cap = backoff_max_s()  # six minutes with the default limits
    assert [o.retry_in_s for o in outcomes] == [30, 60, 120, 240, cap, cap, cap, cap, None]
    assert 300 <= cap <= 400


def test_no_retry_waits_past_the_brokers_visibility_timeout(partner, webhook, org, settings):
    """Redis hands an unacknowledged message (a retry waiting for its countdown) to a second worker once
    the visibility timeout passes: a longer wait would post the webhook twice."""
    partner.post_statuses = [500] * 10
    [delivery] = webhooks_notify(organization=org, event="finding.confirmed", payload={"finding": 1})
    waits = [webhook_delivery_attempt(delivery_id=delivery.pk).retry_in_s for _ in range(8)]
    assert max(waits) < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]


def test_a_webhook_to_a_private_address_is_refused_unless_allowed(partner, webhook, org, settings):
    settings.FETCH_ALLOWED_NETWORKS = []
    [delivery] = webhooks_notify(organization=org, event="finding.confirmed", payload={"finding": 1})
    outcome = webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert not outcome.delivered and partner.posts == [] and "127.0.0.1" in delivery.last_error


# --- The whole surface ----------------------------------------------------------------------------

def _api_routes() -> list[str]:
    routes = []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                routes.append(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns, "")
    return [route for route in routes if route.startswith("api/v1/")]


def test_the_schema_lists_every_api_route(client, caseworker):
    client.force_login(caseworker)
    schema = json.loads(client.get(reverse("api_schema"), {"format": "json"}).content)
    documented = {path for path in schema["paths"] if path.startswith("/api/v1/")}
    routes = {"/" + re.sub(r"<(?:\w+:)?pk>", "{id}", route) for route in _api_routes()}
    assert routes and routes == documented
    assert "finding.confirmed" in schema["webhooks"]


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_every_api_route_refuses_an_anonymous_request(client, db, method):
    routes = _api_routes()
    assert len(routes) >= 5
    for route in routes:
        url = "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route)
        status = getattr(client, method)(url).status_code
        assert status in (401, 403), f"{method.upper()} {url} answered {status}"
