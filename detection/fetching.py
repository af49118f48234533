"""Fetch a URL from the open internet without letting it reach inside our own network.

Plain Python, no Django: the caller passes a ``FetchPolicy``. Every hop (the URL and each redirect)
is resolved once, refused if any address is not public, and then connected to by that vetted
address, so a second DNS answer (DNS rebinding) cannot send the request somewhere else. Sizes,
timeouts and a wall-clock deadline are enforced while reading; the content type is sniffed from the
bytes, because a hostile or careless server's ``Content-Type`` says nothing reliable.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit

from detection.engine import crawl
from detection.engine.crawl import MAX_URL_LENGTH
from detection.engine.errors import ReadableError
from detection.engine.sniffing import HTML, IMAGE, OTHER, VIDEO, sniff  # noqa: F401 - re-exported

NOT_A_URL = "{url} is not a web address that can be fetched."
UNSUPPORTED_SCHEME = "Only http and https addresses can be fetched; {url} uses “{scheme}”."
USERINFO_IN_URL = "{url} contains a user name or password; such addresses are not fetched."
URL_TOO_LONG = "The address is {length:,} characters long; the limit is {limit:,}."
HOST_NOT_FOUND = "The host {host} could not be found."
BLOCKED_ADDRESS = (
    "The address {host} resolves to a private, loopback or link-local network ({ip}); fetching it is not allowed."
)
CONNECTION_FAILED = "{url} could not be reached: {error}."
TLS_FAILED = "The secure connection to {host} could not be verified: {error}."
TIMED_OUT = "{url} did not answer within {seconds:g} seconds."
TOO_SLOW = "Fetching {url} took longer than the limit of {seconds:g} seconds."
TOO_MANY_REDIRECTS = "{url} redirected more than {limit} times."
HTTP_STATUS = "{url} answered with HTTP status {status}."
DECLARED_TOO_LARGE = "{url} announces {size:,} bytes; the limit is {limit:,} bytes."
TOO_LARGE = "{url} sent more than the limit of {limit:,} bytes."
TRUNCATED = "{url} closed the connection before the whole file arrived."

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(ReadableError):
    """A URL that could not be fetched; ``status`` is the HTTP status when the server answered."""

    def __init__(self, reason: str, status: int | None = None, location: str | None = None):
        super().__init__(reason)
        self.status = status
        # Where a redirect pointed, when it was not followed (max_redirects reached): a crawler with
        # max_redirects=0 checks the target against its scope and robots.txt before fetching it.
        self.location = location


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int = 200 * 1024 * 1024
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 15.0
    deadline_s: float = 300.0  # the whole fetch, redirects included
    max_redirects: int = 5
    # Networks reachable although not public (a test server on 127.0.0.1, a partner's intranet host).
    allowed_networks: tuple[str, ...] = ()
    user_agent: str = "Reclaim/0.1 (evidence capture for takedown requests)"
    max_media_per_page: int = 50
    _networks: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        networks = tuple(ipaddress.ip_network(n, strict=False) for n in self.allowed_networks)
        object.__setattr__(self, "_networks", networks)


@dataclass(frozen=True)
class Fetched:
    requested_url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content_type: str  # sniffed from the bytes
    kind: str  # IMAGE, VIDEO, HTML or OTHER
    data: bytes
    fetched_at: datetime


# --- Which addresses may be fetched ---------------------------------------------------------------

def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # These IPv6 forms deliver to an IPv4 address, so that address is the one to judge.
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # is_global alone misses multicast and (in Python 3.11) IPv6 site-local, hence the explicit list.
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified or getattr(address, "is_site_local", False)
    )


def address_allowed(ip: str, policy: FetchPolicy) -> bool:
    """Whether one resolved address may be connected to under ``policy``."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    embedded = _embedded_ipv4(address) if address.version == 6 else None
    judged = embedded or address
    if any(a in network for a in {address, judged} for network in policy._networks if a.version == network.version):
        return True
    return _is_public(judged)


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def vet_host(host: str, port: int, policy: FetchPolicy) -> list[str]:
    """Resolve ``host`` once and return its addresses, refusing it if any of them is not allowed.

    One bad address refuses the host: connecting to "the good one" would let a DNS answer that mixes
    public and private addresses pick our target for us.
    """
    try:
        addresses = _resolve(host, port)
    except (socket.gaierror, UnicodeError):
        raise FetchError(HOST_NOT_FOUND.format(host=host)) from None
    for ip in addresses:
        if not address_allowed(ip, policy):
            raise FetchError(BLOCKED_ADDRESS.format(host=host, ip=ip))
    if not addresses:
        raise FetchError(HOST_NOT_FOUND.format(host=host))
    return addresses


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # ASCII (IDNA), no brackets
    port: int
    request_target: str


def _parse(url: str) -> _Target:
    url = urldefrag(url.strip())[0]
    if len(url) > MAX_URL_LENGTH:
        raise FetchError(URL_TOO_LONG.format(length=len(url), limit=MAX_URL_LENGTH))
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise FetchError(NOT_A_URL.format(url=url)) from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(UNSUPPORTED_SCHEME.format(url=url, scheme=parts.scheme or "none"))
    if parts.username is not None or parts.password is not None:
        raise FetchError(USERINFO_IN_URL.format(url=url))
    if not host:
        raise FetchError(NOT_A_URL.format(url=url))
    # Pages link to paths with spaces and non-ASCII letters; the request line must be ASCII.
    target = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        target += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    default = 443 if parts.scheme == "https" else 80
    return _Target(url=url, scheme=parts.scheme, host=host, port=port or default, request_target=target)


# --- One request to a vetted address --------------------------------------------------------------

class _PinnedConnection(http.client.HTTPConnection):
    """Connects to an address chosen beforehand; Host header and TLS name stay the URL's host."""

    def __init__(self, target: _Target, address: str, timeout: float, tls: ssl.SSLContext | None):
        super().__init__(target.host, target.port, timeout=timeout)
        self.default_port = 443 if tls else 80  # so the Host header leaves out a default port
        self._address, self._tls = address, tls

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        if self._tls:
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


class _Deadline:
    """Cuts the connection when the wall-clock limit passes: per-read timeouts alone would let a
    server that drips one byte at a time hold a worker for ever."""

    def __init__(self, seconds: float):
        self.seconds, self.ends = seconds, time.monotonic() + seconds
        self.expired = False
        self._timer: threading.Timer | None = None

    def remaining(self, url: str) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            raise FetchError(TOO_SLOW.format(url=url, seconds=self.seconds))
        return left

    def watch(self, sock: socket.socket, url: str) -> None:
        def cut():
            self.expired = True
            try:  # the plain-socket method, so a TLS socket's state is left to its reading thread
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

        self._timer = threading.Timer(self.remaining(url), cut)
        self._timer.daemon = True
        self._timer.start()

    def release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # the system's trusted CAs, hostname checked


def _connect(target: _Target, addresses: list[str], policy: FetchPolicy, deadline: _Deadline) -> _PinnedConnection:
    tls = _tls_context() if target.scheme == "https" else None
    error: Exception | None = None
    for address in addresses:
        timeout = min(policy.connect_timeout_s, deadline.remaining(target.url))
        connection = _PinnedConnection(target, address, timeout, tls)
        try:
            connection.connect()
            return connection
        except ssl.SSLCertVerificationError as exc:
            raise FetchError(TLS_FAILED.format(host=target.host, error=exc.verify_message or exc)) from None
        except TimeoutError:
            error = FetchError(TIMED_OUT.format(url=target.url, seconds=timeout))
        except OSError as exc:
            error = FetchError(CONNECTION_FAILED.format(url=target.url, error=exc.strerror or exc))
        connection.close()
    raise error or FetchError(HOST_NOT_FOUND.format(host=target.host))


def _exchange(target: _Target, addresses: list[str], policy: FetchPolicy, deadline: _Deadline,
              extra_headers: dict[str, str] | None = None):
    """GET once; return status, headers and (for a 2xx answer only) the body."""
    connection = _connect(target, addresses, policy, deadline)
    response = None
    try:
        deadline.watch(connection.sock, target.url)
        connection.sock.settimeout(policy.read_timeout_s)
        # identity: the size limit counts what we store, and a compressed bomb cannot slip past it.
        connection.request("GET", target.request_target, headers={
            **(extra_headers or {}),
            "User-Agent": policy.user_agent, "Accept": "*/*", "Accept-Encoding": "identity",
        })
        response = connection.getresponse()
        headers: dict[str, str] = {}
        for name, value in response.getheaders():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if not 200 <= response.status < 300:
            return response.status, headers, b""
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > policy.max_bytes:
            raise FetchError(DECLARED_TOO_LARGE.format(url=target.url, size=int(declared), limit=policy.max_bytes))
        chunks, total = [], 0
        while chunk := response.read1(min(64 * 1024, policy.max_bytes + 1 - total)):
            total += len(chunk)
            if total > policy.max_bytes:
                raise FetchError(TOO_LARGE.format(url=target.url, limit=policy.max_bytes))
            chunks.append(chunk)
        if deadline.expired:  # the cut reads as an end of file: what arrived is not the whole file
            raise FetchError(TOO_SLOW.format(url=target.url, seconds=deadline.seconds))
        return response.status, headers, b"".join(chunks)
    except FetchError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if deadline.expired:
            raise FetchError(TOO_SLOW.format(url=target.url, seconds=deadline.seconds)) from None
        if isinstance(exc, TimeoutError):
            raise FetchError(TIMED_OUT.format(url=target.url, seconds=policy.read_timeout_s)) from None
        if isinstance(exc, http.client.IncompleteRead):
            raise FetchError(TRUNCATED.format(url=target.url)) from None
        error = getattr(exc, "strerror", None) or exc
        raise FetchError(CONNECTION_FAILED.format(url=target.url, error=error)) from None
    finally:
        deadline.release()
        if response is not None:  # a close-delimited response is not closed with its connection
            response.close()
        connection.close()


def fetch(url: str, policy: FetchPolicy = FetchPolicy(), headers: dict[str, str] | None = None) -> Fetched:
    """Fetch ``url`` under ``policy``, following redirects; raise ``FetchError`` with a readable reason.

    ``headers`` are sent with each request (a crawler's If-None-Match / If-Modified-Since: a 304 answer
    raises FetchError with status 304). A redirect past ``max_redirects`` raises with its ``location``.
    """
    deadline = _Deadline(policy.deadline_s)
    current = url
    request_headers = headers
    for _ in range(policy.max_redirects + 1):
        target = _parse(current)
        addresses = vet_host(target.host, target.port, policy)
        status, headers, data = _exchange(target, addresses, policy, deadline, request_headers)
        if status in REDIRECT_STATUSES and headers.get("location"):
            current = urljoin(target.url, headers["location"].strip())
            continue
        if not 200 <= status < 300:
            raise FetchError(HTTP_STATUS.format(url=target.url, status=status), status=status)
        content_type, kind = sniff(data)
        return Fetched(
            requested_url=url, final_url=target.url, status=status, headers=headers,
            content_type=content_type, kind=kind, data=data, fetched_at=datetime.now(UTC),
        )
    raise FetchError(TOO_MANY_REDIRECTS.format(url=url, limit=policy.max_redirects), status=status, location=current)


# --- Media linked from a page ---------------------------------------------------------------------

def discover_media(page_url: str, html_bytes: bytes) -> list[str]:
    """Absolute http(s) URLs of the images and videos a page shows, de-duplicated, in page order: one
    file per picture (a srcset's largest candidate). The crawler's ``links_extract`` reads the page."""
    return crawl.links_extract(page_url, html_bytes).shown


def url_filename(url: str) -> str:
    """The last path segment of ``url``, decoded: a readable original name for a fetched file."""
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])[:255]
