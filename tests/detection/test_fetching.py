"""URL fetching and ingest against a real HTTP server on 127.0.0.1. Addresses other than loopback are
only ever judged, never contacted: the guard refuses them before any packet is sent."""

import shutil
import ssl
import subprocess
import threading
import time
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from detection import fetching, services
from detection.engine import hashes
from detection.fetching import FetchError, FetchPolicy
from detection.models import MediaItem

LOCAL = FetchPolicy(allowed_networks=["127.0.0.1/32"], connect_timeout_s=2, read_timeout_s=2, deadline_s=5)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + b"\x00" * 64


class LocalServer:
    """Serves ``routes``: path → (status, headers, body) or a callable handed the request handler."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.routes: dict = {}
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path, (404, {}, b"not here"))
                try:
                    if callable(route):
                        route(self)
                        return
                    status, headers, body = route
                    self.send_response(status)
                    for name, value in {"Content-Length": str(len(body)), **headers}.items():
                        if value is not None:
                            self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up on purpose (limits, timeouts)
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.block_on_close = False  # a deliberately slow handler must not hold up the next test
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for media.example, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=media.example",
         "-addext", "subjectAltName=DNS:media.example"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    local = LocalServer(tls=context)
    yield local
    local.close()


def page(body: str) -> tuple[int, dict, bytes]:
    html = f"<!doctype html><html><body>{body}</body></html>"
    return 200, {"Content-Type": "text/html; charset=utf-8"}, html.encode()


# --- The address guard ----------------------------------------------------------------------------

@pytest.mark.parametrize("ip", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "::1", "::", "fe80::1", "fc00::1", "fec0::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "::ffff:169.254.169.254", "2002:a9fe:a9fe::1", "64:ff9b::a00:1",
])
def test_private_loopback_link_local_and_disguised_addresses_are_refused(ip):
    assert not fetching.address_allowed(ip, FetchPolicy())


@pytest.mark.parametrize("ip", ["93.184.216.34", "2606:4700:4700::1111", "::ffff:93.184.216.34"])
def test_public_addresses_are_allowed(ip):
    assert fetching.address_allowed(ip, FetchPolicy())


def test_an_allowed_network_lets_loopback_through_and_nothing_else():
    policy = FetchPolicy(allowed_networks=["127.0.0.1/32"])
    assert fetching.address_allowed("127.0.0.1", policy)
    assert fetching.address_allowed("::ffff:127.0.0.1", policy)
    assert not fetching.address_allowed("127.0.0.2", policy)
    assert not fetching.address_allowed("::1", policy)
    assert not fetching.address_allowed("10.0.0.1", policy)


def test_loopback_is_refused_when_no_network_is_allowed(server):
    server.routes["/a.jpg"] = (200, {}, b"\xff\xd8\xff")
    with pytest.raises(FetchError) as error:
        fetching.fetch(server.url("/a.jpg"), FetchPolicy())
    assert error.value.reason == fetching.BLOCKED_ADDRESS.format(host="127.0.0.1", ip="127.0.0.1")
    assert server.requests == []


def test_one_private_address_among_public_ones_refuses_the_host(monkeypatch):
    monkeypatch.setattr(fetching, "_resolve", lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(FetchError) as error:
        fetching.fetch("https://mixed.example/a.jpg", FetchPolicy())
    assert error.value.reason == fetching.BLOCKED_ADDRESS.format(host="mixed.example", ip="10.0.0.7")


def test_the_vetted_address_is_connected_to_with_the_original_host_header(server, monkeypatch, images):
    """One DNS answer is vetted and used: a rebinding second answer would never be asked for."""
    lookups = []

    def resolve(host, port):
        lookups.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(fetching, "_resolve", resolve)
    server.routes["/a.jpg"] = (200, {}, images["reference.jpg"])
    fetched = fetching.fetch(f"http://media.example:{server.port}/a.jpg", LOCAL)
    assert fetched.data == images["reference.jpg"]
    assert lookups == ["media.example"]
    assert server.requests[0][1]["Host"] == f"media.example:{server.port}"


def test_https_checks_the_certificate_against_the_host_name_not_the_address(
    tls_server, certificate, monkeypatch, images
):
    monkeypatch.setattr(fetching, "_resolve", lambda host, port: ["127.0.0.1"])
    tls_server.routes["/a.jpg"] = (200, {}, images["reference.jpg"])
    url = f"https://media.example:{tls_server.port}/a.jpg"
    with pytest.raises(FetchError) as error:  # self-signed: not trusted by the system's CAs
        fetching.fetch(url, LOCAL)
    assert error.value.reason.startswith(fetching.TLS_FAILED.partition(":")[0].format(host="media.example"))

    monkeypatch.setattr(fetching, "_tls_context", lambda: ssl.create_default_context(cafile=certificate[0]))
    assert fetching.fetch(url, LOCAL).data == images["reference.jpg"]
    assert tls_server.requests[-1][1]["Host"] == f"media.example:{tls_server.port}"


@pytest.mark.parametrize(
    "target", ["http://10.0.0.1/x.jpg", "http://169.254.169.254/latest/meta-data/", "http://[::1]/"]
)
def test_a_redirect_to_a_blocked_address_is_refused(server, target):
    server.routes["/go"] = (302, {"Location": target}, b"")
    with pytest.raises(FetchError) as error:
        fetching.fetch(server.url("/go"), LOCAL)
    assert error.value.reason.startswith("The address ") and "fetching it is not allowed" in error.value.reason
    assert [path for path, _ in server.requests] == ["/go"]


def test_redirects_are_followed_to_the_final_url(server, images):
    server.routes["/old"] = (301, {"Location": "/new.jpg"}, b"")
    server.routes["/new.jpg"] = (200, {}, images["reference.jpg"])
    fetched = fetching.fetch(server.url("/old"), LOCAL)
    assert (fetched.requested_url, fetched.final_url) == (server.url("/old"), server.url("/new.jpg"))


def test_a_redirect_loop_stops_at_the_limit(server):
    server.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    with pytest.raises(FetchError) as error:
        fetching.fetch(server.url("/loop"), LOCAL)
    assert error.value.reason == fetching.TOO_MANY_REDIRECTS.format(url=server.url("/loop"), limit=5)
    assert len(server.requests) == 6


@pytest.mark.parametrize("url, scheme", [("file:///etc/passwd", "file"), ("ftp://example.org/a.jpg", "ftp"),
                                         ("gopher://127.0.0.1:6379/_INFO", "gopher")])
def test_a_non_http_scheme_is_refused(url, scheme):
    with pytest.raises(FetchError) as error:
        fetching.fetch(url, LOCAL)
    assert error.value.reason == fetching.UNSUPPORTED_SCHEME.format(url=url, scheme=scheme)


def test_a_url_with_a_user_name_is_refused(server):
    url = f"http://admin:secret@127.0.0.1:{server.port}/"
    with pytest.raises(FetchError) as error:
        fetching.fetch(url, LOCAL)
    assert error.value.reason == fetching.USERINFO_IN_URL.format(url=url)
    assert server.requests == []


# --- Limits ---------------------------------------------------------------------------------------

def test_a_body_over_the_limit_is_refused_while_streaming(server):
    def endless(handler):
        handler.send_response(200)
        handler.end_headers()  # no Content-Length: only counting the bytes can stop it
        for _ in range(100):
            handler.wfile.write(b"\xff\xd8\xff" + b"\x00" * 1021)

    server.routes["/big"] = endless
    with pytest.raises(FetchError) as error:
        fetching.fetch(server.url("/big"), replace(LOCAL, max_bytes=10_000))
    assert error.value.reason == fetching.TOO_LARGE.format(url=server.url("/big"), limit=10_000)


def test_a_declared_length_over_the_limit_is_refused_before_reading(server):
    server.routes["/big"] = (200, {"Content-Length": "999999999"}, b"")
    with pytest.raises(FetchError) as error:
        fetching.fetch(server.url("/big"), replace(LOCAL, max_bytes=10_000))
    assert error.value.reason == fetching.DECLARED_TOO_LARGE.format(
        url=server.url("/big"), size=999_999_999, limit=10_000
    )


def test_a_server_that_does_not_answer_times_out(server):
    server.routes["/slow"] = lambda handler: time.sleep(1.5)
    policy = replace(LOCAL, read_timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(FetchError) as error:
        fetching.fetch(server.url("/slow"), policy)
    assert error.value.reason == fetching.TIMED_OUT.format(url=server.url("/slow"), seconds=0.3)
    assert time.monotonic() - started < 1


def test_a_server_that_drips_bytes_is_cut_off_at_the_deadline(server):
    def drip(handler):
        handler.send_response(200)
        handler.end_headers()
        for _ in range(30):
            handler.wfile.write(b"\xff")
            handler.wfile.flush()
            time.sleep(0.05)

    server.routes["/drip"] = drip
    policy = replace(LOCAL, read_timeout_s=1, deadline_s=0.4)
    started = time.monotonic()
    with pytest.raises(FetchError) as error:
        fetching.fetch(server.url("/drip"), policy)
    assert error.value.reason == fetching.TOO_SLOW.format(url=server.url("/drip"), seconds=0.4)
    assert time.monotonic() - started < 1


def test_an_error_status_is_reported_with_the_status(server):
    with pytest.raises(FetchError) as error:
        fetching.fetch(server.url("/missing.jpg"), LOCAL)
    assert error.value.status == 404
    assert error.value.reason == fetching.HTTP_STATUS.format(url=server.url("/missing.jpg"), status=404)


# --- What the bytes are ---------------------------------------------------------------------------

def test_a_mislabelled_content_type_is_sniffed_from_the_bytes(server, images):
    server.routes["/photo.txt"] = (200, {"Content-Type": "text/plain"}, images["reference.jpg"])
    server.routes["/page.jpg"] = (200, {"Content-Type": "image/jpeg"}, b"\xef\xbb\xbf\n  <!DOCTYPE html><p>hi")
    photo = fetching.fetch(server.url("/photo.txt"), LOCAL)
    assert (photo.content_type, photo.kind, photo.headers["content-type"]) == ("image/jpeg", "image", "text/plain")
    assert fetching.fetch(server.url("/page.jpg"), LOCAL).kind == "html"


@pytest.mark.parametrize("data, expected", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, ("image/png", "image")),
    (b"GIF89a" + b"\x00" * 8, ("image/gif", "image")),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", ("image/webp", "image")),
    (b"II*\x00\x08\x00\x00\x00", ("image/tiff", "image")),
    (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00", ("image/bmp", "image")),
    (MP4, ("video/mp4", "video")),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", ("video/quicktime", "video")),
    (WEBM, ("video/webm", "video")),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x82\x88matroska", ("video/x-matroska", "video")),
    (b"RIFF\x10\x00\x00\x00AVI LIST", ("video/x-msvideo", "video")),
    (b"  <html lang=en>", ("text/html", "html")),
    (b"BMW is a car", ("application/octet-stream", "other")),
    (b"%PDF-1.7", ("application/octet-stream", "other")),
])
def test_the_kind_of_file_is_told_by_its_leading_bytes(data, expected):
    assert fetching.sniff(data) == expected


# --- Media on a page ------------------------------------------------------------------------------

def test_a_page_yields_its_images_videos_and_social_previews_in_page_order():
    html = b"""<!doctype html><html><head>
      <meta property="og:image" content="/og.jpg"><meta name="twitter:image" content="https://cdn.example/t.png">
      </head><body>
      <img src="a.jpg" srcset="a-small.jpg 320w, a-large.jpg 1280w, a-mid.jpg 640w">
      <img src="data:image/png;base64,AAAA"><img src="javascript:alert(1)"><img src="a.jpg#again">
      <video src="clip.mp4"><source src="clip.webm" type="video/webm"></video>
      <audio><source src="song.mp3"></audio>
    </body></html>"""
    assert fetching.discover_media("https://site.example/posts/1", html) == [
        "https://site.example/og.jpg",
        "https://cdn.example/t.png",
        "https://site.example/posts/a.jpg",
        "https://site.example/posts/a-large.jpg",
        "https://site.example/posts/clip.mp4",
        "https://site.example/posts/clip.webm",
    ]


def test_an_image_url_is_ingested_with_evidence_of_capture(server, db, images):
    server.routes["/p/photo.jpg"] = (200, {"Content-Type": "application/octet-stream", "X-Served-By": "test"},
                                     images["reported-astronaut.jpg"])
    [item] = services.media_ingest_url(url=server.url("/p/photo.jpg"), source=MediaItem.Source.REPORT)
    assert item.status == MediaItem.Status.RECEIVED and item.file
    assert item.sha256 == hashes.sha256_hex(images["reported-astronaut.jpg"])
    assert (item.source_url, item.page_url, item.original_name) == (server.url("/p/photo.jpg"), "", "photo.jpg")
    assert (item.http_status, item.content_type) == (200, "image/jpeg")
    assert item.http_headers["x-served-by"] == "test" and item.fetched_at is not None


def test_fetching_the_same_image_again_keeps_the_first_capture(server, db, images):
    server.routes["/a.jpg"] = (200, {}, images["reference.jpg"])
    [first] = services.media_ingest_url(url=server.url("/a.jpg"), source=MediaItem.Source.CRAWL)
    [again] = services.media_ingest_url(url=server.url("/a.jpg"), source=MediaItem.Source.CRAWL)
    assert again.pk == first.pk and again.fetched_at == first.fetched_at


def test_a_page_url_ingests_each_media_with_the_page_as_its_place(server, db, images):
    server.routes["/post"] = page(
        '<meta property="og:image" content="/og.jpg">'
        '<img src="/a.jpg" srcset="/a.jpg 1x, /a-2x.jpg 2x"><video><source src="/clip.mp4"></video>'
    )
    server.routes["/og.jpg"] = (200, {}, images["reported-coffee.jpg"])
    server.routes["/a.jpg"] = (200, {}, images["reference.jpg"])
    server.routes["/a-2x.jpg"] = (200, {}, images["reported-astronaut.jpg"])
    server.routes["/clip.mp4"] = (200, {"Content-Type": "text/plain"}, MP4)
    items = services.media_ingest_url(url=server.url("/post"), source=MediaItem.Source.CRAWL)
    assert [i.source_url for i in items] == [server.url(p) for p in ("/og.jpg", "/a.jpg", "/a-2x.jpg", "/clip.mp4")]
    assert {i.page_url for i in items} == {server.url("/post")}
    assert all(i.status == MediaItem.Status.RECEIVED and i.http_status == 200 for i in items)
    assert items[-1].content_type == "video/mp4"


def test_one_broken_media_on_a_page_fails_alone(server, db, images):
    server.routes["/post"] = page('<img src="/a.jpg"><img src="/gone.jpg"><img src="http://10.9.8.7/x.jpg">'
                                  '<img src="/notes.txt"><img src="/b.jpg">')
    server.routes["/a.jpg"] = (200, {}, images["reference.jpg"])
    server.routes["/notes.txt"] = (200, {}, b"just text")
    server.routes["/b.jpg"] = (200, {}, images["reported-coffee.jpg"])
    items = services.media_ingest_url(url=server.url("/post"), source=MediaItem.Source.CRAWL)
    assert [i.status for i in items] == ["received", "failed", "failed", "failed", "received"]
    gone, private, text = items[1:4]
    assert gone.failure_reason == fetching.HTTP_STATUS.format(url=server.url("/gone.jpg"), status=404)
    assert private.failure_reason == fetching.BLOCKED_ADDRESS.format(host="10.9.8.7", ip="10.9.8.7")
    assert text.failure_reason == services.NOT_MEDIA.format(
        url=server.url("/notes.txt"), content_type="application/octet-stream"
    )
    assert gone.source_url == server.url("/gone.jpg") and gone.page_url == server.url("/post")
    assert gone.sha256 == hashes.sha256_hex(b"") and not gone.file


def test_a_page_yields_no_more_media_than_the_setting_allows(server, db, images, settings):
    settings.FETCH_MAX_MEDIA_PER_PAGE = 2
    server.routes["/post"] = page("".join(f'<img src="/{n}.jpg">' for n in range(5)))
    for n in range(5):
        server.routes[f"/{n}.jpg"] = (200, {}, images["reference.jpg"])
    assert len(services.media_ingest_url(url=server.url("/post"), source=MediaItem.Source.CRAWL)) == 2
    assert [path for path, _ in server.requests] == ["/post", "/0.jpg", "/1.jpg"]


def test_a_top_level_url_that_fails_raises_and_records_nothing(server, db, settings):
    settings.FETCH_ALLOWED_NETWORKS = []
    with pytest.raises(FetchError):
        services.media_ingest_url(url=server.url("/a.jpg"), source=MediaItem.Source.REPORT)
    with pytest.raises(FetchError) as error:
        services.media_ingest_url(url="file:///etc/passwd", source=MediaItem.Source.REPORT)
    assert error.value.reason == fetching.UNSUPPORTED_SCHEME.format(url="file:///etc/passwd", scheme="file")
    assert not MediaItem.objects.exists()


def test_a_top_level_url_that_is_neither_media_nor_a_page_is_refused(server, db):
    server.routes["/doc.pdf"] = (200, {"Content-Type": "image/jpeg"}, b"%PDF-1.7 ...")
    with pytest.raises(FetchError) as error:
        services.media_ingest_url(url=server.url("/doc.pdf"), source=MediaItem.Source.REPORT)
    assert error.value.reason == services.NOT_MEDIA_OR_PAGE.format(
        url=server.url("/doc.pdf"), content_type="application/octet-stream"
    )


# --- Captures are one per organisation ------------------------------------------------------------

def test_the_same_bytes_from_two_organisations_are_two_items_and_from_one_are_one(org, other_org, images):
    data = images["reference.jpg"]
    mine = services.media_ingest(data=data, source=MediaItem.Source.API, organization_id=org.pk)
    again = services.media_ingest(data=data, source=MediaItem.Source.UPLOAD, organization_id=org.pk)
    theirs = services.media_ingest(data=data, source=MediaItem.Source.API, organization_id=other_org.pk)
    nobodys = services.media_ingest(data=data, source=MediaItem.Source.UPLOAD)
    assert again.pk == mine.pk
    assert len({mine.pk, theirs.pk, nobodys.pk}) == 3
    assert (theirs.organization_id, nobodys.organization_id) == (other_org.pk, None)
    assert services.media_ingest(data=data, source=MediaItem.Source.UPLOAD).pk == nobodys.pk


def test_the_database_refuses_a_second_capture_of_the_same_place_without_an_organisation(db):
    from django.db import IntegrityError, transaction

    fields = {"source": MediaItem.Source.CRAWL, "source_url": "https://x.example/a.jpg", "sha256": "ab" * 32,
              "md5": "", "size": 1}
    MediaItem.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        MediaItem.objects.create(**fields)


# --- A URL submitted through the web, fetched by a task -------------------------------------------

@pytest.fixture
def scans_queued(monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr("detection.tasks.scan_media.delay", queued.append)  # the scanner is not under test
    return queued


@pytest.fixture
def fetch(scans_queued, django_capture_on_commit_callbacks):
    """Run the fetch task's service as a worker does: outside the request, its scans queued on commit."""

    def run(item: MediaItem) -> MediaItem:
        with django_capture_on_commit_callbacks(execute=True):
            return services.media_url_fetch(media_item_id=item.pk)

    return run


def submitted(url: str, organization) -> MediaItem:
    return services.media_url_receive(url=url, source=MediaItem.Source.API, organization_id=organization.pk)


def found_ids(item: MediaItem) -> list[int]:
    through = MediaItem.found_media_items.through.objects.filter(from_mediaitem=item)
    return list(through.order_by("pk").values_list("to_mediaitem_id", flat=True))


def test_a_submitted_url_is_recorded_fetching_and_nothing_is_fetched_yet(server, org):
    item = submitted(server.url("/a.jpg"), org)
    assert item.status == MediaItem.Status.FETCHING and item.sha256 == "" and item.organization_id == org.pk
    assert server.requests == []


def test_the_task_turns_a_submitted_image_into_its_capture_queued_for_scanning(server, org, images, scans_queued, fetch):
    server.routes["/a.jpg"] = (200, {"X-Served-By": "test"}, images["reference.jpg"])
    item = submitted(server.url("/a.jpg"), org)
    fetched = fetch(item)
    assert fetched.pk == item.pk and fetched.status == MediaItem.Status.RECEIVED and fetched.file
    assert fetched.sha256 == hashes.sha256_hex(images["reference.jpg"]) and fetched.size == len(images["reference.jpg"])
    assert (fetched.http_status, fetched.content_type, fetched.http_headers["x-served-by"]) == (200, "image/jpeg", "test")
    assert found_ids(fetched) == [item.pk] and scans_queued == [item.pk]


def test_a_submitted_url_that_cannot_be_fetched_fails_the_item_with_the_reason(server, org, scans_queued, fetch):
    item = fetch(submitted(server.url("/gone.jpg"), org))
    assert item.status == MediaItem.Status.FAILED and item.processed_at is not None
    assert item.failure_reason == fetching.HTTP_STATUS.format(url=server.url("/gone.jpg"), status=404)
    assert found_ids(item) == [] and scans_queued == []


def test_a_submitted_page_gives_its_media_as_found_items_of_the_organisation(server, org, images, scans_queued, fetch):
    server.routes["/post"] = page('<img src="/a.jpg"><img src="/gone.jpg"><img src="/b.jpg">')
    server.routes["/a.jpg"] = (200, {}, images["reference.jpg"])
    server.routes["/b.jpg"] = (200, {}, images["reported-coffee.jpg"])
    item = fetch(submitted(server.url("/post"), org))
    assert item.status == MediaItem.Status.FETCHED and item.content_type == "text/html" and item.http_status == 200
    found = [MediaItem.objects.get(pk=pk) for pk in found_ids(item)]
    assert [f.source_url for f in found] == [server.url(p) for p in ("/a.jpg", "/gone.jpg", "/b.jpg")]
    assert [f.status for f in found] == ["received", "failed", "received"]
    assert {f.organization_id for f in found} == {org.pk} and {f.page_url for f in found} == {server.url("/post")}
    assert scans_queued == [found[0].pk, found[2].pk]


def test_bytes_the_organisation_already_has_from_that_address_point_at_the_earlier_capture(
    server, org, other_org, images, scans_queued, fetch
):
    server.routes["/a.jpg"] = (200, {}, images["reference.jpg"])
    first = fetch(submitted(server.url("/a.jpg"), org))
    again = fetch(submitted(server.url("/a.jpg"), org))
    assert again.pk != first.pk and again.status == MediaItem.Status.FETCHED and not again.file
    assert found_ids(again) == [first.pk]
    assert MediaItem.objects.exclude(sha256="").filter(organization=org).count() == 1
    # Another organisation's fetch of the same address is its own capture, never a pointer at this one.
    theirs = fetch(submitted(server.url("/a.jpg"), other_org))
    assert theirs.status == MediaItem.Status.RECEIVED and found_ids(theirs) == [theirs.pk]


def test_fetching_a_submitted_url_twice_changes_nothing(server, org, images, scans_queued, fetch):
    server.routes["/a.jpg"] = (200, {}, images["reference.jpg"])
    item = submitted(server.url("/a.jpg"), org)
    first = fetch(item)
    second = fetch(item)
    assert (second.status, second.fetched_at, found_ids(second)) == (first.status, first.fetched_at, [item.pk])
    assert [path for path, _ in server.requests] == ["/a.jpg"] and scans_queued == [item.pk]


def test_a_pages_media_left_when_the_time_is_spent_fail_with_the_reason(server, org, images, settings, scans_queued, fetch):
    settings.FETCH_DEADLINE_S = 0.5
    server.routes["/post"] = page('<img src="/slow.jpg"><img src="/late.jpg">')
    server.routes["/slow.jpg"] = lambda handler: time.sleep(1)
    server.routes["/late.jpg"] = (200, {}, images["reference.jpg"])
    started = time.monotonic()
    item = fetch(submitted(server.url("/post"), org))
    assert time.monotonic() - started < 1
    slow, late = (MediaItem.objects.get(pk=pk) for pk in found_ids(item))
    # What was left of the page's time, not the whole deadline: the reason names a fraction of a second.
    assert slow.failure_reason.startswith(fetching.TOO_SLOW.split("{seconds")[0].format(url=server.url("/slow.jpg")))
    assert late.failure_reason == services.PAGE_MEDIA_TOO_SLOW.format(seconds=0.5)
    assert item.status == MediaItem.Status.FETCHED and "/late.jpg" not in [path for path, _ in server.requests]


def test_a_lost_url_fetch_is_queued_again_by_the_sweeper_then_failed_with_a_reason(org, monkeypatch, settings,
                                                                                    django_capture_on_commit_callbacks):
    """A fetch message lost with the broker leaves the item "fetching": the sweep queues it again, and
    after SCAN_MAX_ATTEMPTS tries fails it with a reason instead of leaving it waiting for good."""
    fetches = []
    monkeypatch.setattr("detection.tasks.fetch_media_url.delay", fetches.append)
    item = submitted("https://media.example/a.jpg", org)
    assert services.media_scans_requeue_stuck().requeued == []  # just queued: its message may be waiting

    def age():
        stale = max(settings.SCAN_QUEUED_STALE_S, settings.SCAN_STUCK_AFTER_S) + 1
        MediaItem.objects.filter(pk=item.pk).update(scan_queued_at=timezone.now() - timedelta(seconds=stale))

    tries = []
    for _ in range(settings.SCAN_MAX_ATTEMPTS):
        age()
        with django_capture_on_commit_callbacks(execute=True):
            tries.append(services.media_scans_requeue_stuck())
    assert [t.requeued for t in tries] == [[item.pk]] * (settings.SCAN_MAX_ATTEMPTS - 1) + [[]]
    assert fetches == [item.pk] * (settings.SCAN_MAX_ATTEMPTS - 1) and tries[-1].failed == [item.pk]
    item.refresh_from_db()
    assert item.status == MediaItem.Status.FAILED and item.failure_reason == services.FETCH_STOPPED
