"""What a crawler needs to know about the web, without fetching anything: plain Python, no Django.

- ``url_normalize``: one spelling per address, so a frontier holds each page once. Two links that
  differ only in case, a default port, a fragment, dot-segments, escaping, the order of query
  parameters or a session id are the same page; without this, session ids alone make a site endless.
- ``links_extract``: the pages and the media a page links to (``<a>``, ``srcset``, ``<source>``,
  ``og:image``, meta refresh...), resolved against ``<base href>``.
- ``Scope``: which pages a watch may visit.
- ``RobotsRules``: robots.txt (RFC 9309) for our user agent, parsed by Protego.
- ``sitemap_parse``: sitemaps and sitemap indexes, gzip too, bounded, refusing entity tricks.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit, urlunsplit
from xml.parsers import expat

from protego import Protego

from detection.engine.errors import ReadableError

# Matches MediaItem.source_url: an address longer than the evidence row can hold is refused, not cut.
MAX_URL_LENGTH = 2000

# --- URL normalisation ----------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SESSION_PARAMS = {"jsessionid", "phpsessid", "sid", "sessionid", "session_id", "aspsessionid", "cfid", "cftoken"}
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.IGNORECASE)
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Browsers drop ASCII tab and newline anywhere in a URL (WHATWG URL); pages wrap long hrefs.
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))  # stripped from both ends, as browsers do
# Characters kept as they are in a path and in a query; everything else is percent-encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/%:@!$'()*+,;=-._~?"


def _escapes_normalise(text: str, safe: str) -> str:
    # RFC 3986 6.2.2: escapes in upper case, unreserved characters never escaped, and anything not
    # allowed (a space, a non-ASCII letter, a stray "%") escaped, so each character has one spelling.
    text = _LONE_PERCENT.sub("%25", text)
    text = quote(text, safe=safe)

    def unescape(match: re.Match) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _ESCAPE.sub(unescape, text)


def _dot_segments_remove(path: str) -> str:
    # RFC 3986 5.2.4, on whole segments.
    output: list[str] = []
    segments = path.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    return result if result.startswith("/") else "/" + result


def _query_normalise(query: str) -> str:
    kept = []
    for part in query.split("&"):
        if not part:
            continue
        name = part.split("=", 1)[0].lower()
        if name in _SESSION_PARAMS or name.startswith("utm_"):
            continue
        kept.append(_escapes_normalise(part, _QUERY_SAFE))
    # Sorted by name only (stable): repeated parameters keep their order, which some servers read.
    kept.sort(key=lambda p: p.split("=", 1)[0])
    return "&".join(kept)


def url_normalize(url: str, base: str | None = None) -> str | None:
    """``url`` (resolved against ``base``) in one canonical spelling, or None if it is not an http(s)
    address we would fetch (mailto:, javascript:, data:, credentials in it, a bad port, too long)."""
    url = (url or "").translate(_TAB_NEWLINE).strip(_C0_AND_SPACE)
    if not url:
        return None
    try:
        if base:
            url = urljoin(base, url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        if parts.username is not None or parts.password is not None:
            return None  # the fetcher refuses credentials in a URL; a link carrying them is not followed
        port = parts.port
        host = (parts.hostname or "").rstrip(".")
        if not host:
            return None
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        else:
            host = host.encode("idna").decode("ascii").lower()
    except (ValueError, UnicodeError):
        return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _PATH_SESSION.sub("", parts.path)
    path = _dot_segments_remove(_escapes_normalise(path or "/", _PATH_SAFE))
    query = _query_normalise(parts.query)
    normalised = urlunsplit((scheme, netloc, path, query, ""))
    return normalised if len(normalised) <= MAX_URL_LENGTH else None


def url_host(url: str) -> str:
    """The host[:port] of a normalised URL: the key for a per-host request rate."""
    return urlsplit(url).netloc


def _origin(url: str) -> str:
    parts = urlsplit(url_normalize(url) or url)
    return f"{parts.scheme}://{parts.netloc}"


def robots_url(url: str) -> str:
    """The robots.txt that governs ``url`` (RFC 9309: one per scheme, host and port)."""
    return _origin(url) + "/robots.txt"


def sitemap_url(url: str) -> str:
    """Where a site's sitemap is by convention when robots.txt names none."""
    return _origin(url) + "/sitemap.xml"


# --- Links in a page ------------------------------------------------------------------------------

_META_MEDIA = {
    "og:image", "og:image:url", "og:image:secure_url", "og:video", "og:video:url", "og:video:secure_url",
    "twitter:image", "twitter:image:src",
}
# A link to one of these is the file itself, typically the full size behind a thumbnail: it is media
# to scan, not a page to crawl. A link without one of them is a page until its bytes say otherwise.
_MEDIA_EXTENSIONS = (
    ".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".avif", ".heic", ".heif", ".bmp", ".tif", ".tiff",
    ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi",
)
_PAGE_RELS = {"next", "prev", "previous"}
_DESCRIPTOR = re.compile(r"(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?[wx]", re.IGNORECASE)


def srcset_parse(srcset: str) -> list[tuple[str, str]]:
    """The (URL, descriptor) candidates of a ``srcset``, following the HTML standard's algorithm: a URL
    is a run of non-space characters (so it may hold commas, as CDN paths like ``w_320,h_200`` do);
    a comma ends a candidate only after its URL, outside parentheses. The descriptor is the first
    width or density ("640w", "2x"), "" when there is none."""
    candidates, position, length = [], 0, len(srcset)
    while True:
        while position < length and (srcset[position].isspace() or srcset[position] == ","):
            position += 1
        if position >= length:
            return candidates
        start = position
        while position < length and not srcset[position].isspace():
            position += 1
        url = srcset[start:position]
        if url.endswith(","):
            candidates.append((url.rstrip(","), ""))
            continue
        start, depth = position, 0
        while position < length:
            char = srcset[position]
            if char == "(":
                depth += 1
            elif char == ")" and depth:
                depth -= 1
            elif char == "," and not depth:
                break
            position += 1
        # A width ("640w") or a density ("2x"); anything else (a future "(...)" descriptor) is skipped.
        descriptors = [w.lower() for w in srcset[start:position].split() if _DESCRIPTOR.fullmatch(w)]
        candidates.append((url, descriptors[0] if descriptors else ""))
        position += 1


def _largest_candidate(srcset: str) -> str | None:
    best, best_key = None, None
    for url, descriptor in srcset_parse(srcset):
        descriptor = descriptor or "1x"
        try:
            # Widths (w) beat densities (x): a width names the actual file size, a density only a ratio.
            key = (descriptor.endswith("w"), float(descriptor[:-1]))
        except ValueError:
            continue
        if best_key is None or key > best_key:
            best, best_key = url, key
    return best


def meta_refresh_target(content: str) -> str | None:
    """The URL in a ``<meta http-equiv=refresh content="5; url=/next">``, as the HTML standard reads it
    (``url=`` and quotes optional), or None when it only reloads the page."""
    match = re.match(r"\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?(.*)", content, re.IGNORECASE | re.DOTALL)
    target = match.group(1).strip() if match else ""
    if target[:1] in ("'", '"'):
        quote_char, target = target[0], target[1:]
        target = target.split(quote_char, 1)[0]
    return target.strip() or None


@dataclass(frozen=True)
class Links:
    pages: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)
    # The media a page shows, one file per picture (a srcset's largest candidate, no <a> targets):
    # what a one-page scan fetches, where fetching every size of every picture would be waste.
    shown: list[str] = field(default_factory=list)


class _LinkParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.base = page_url
        self._base_seen = self._in_video = self._in_picture = False
        # (kind, raw URL) in document order; kind is "page", "media" (every candidate) or "shown".
        self.found: list[tuple[str, str | None]] = []

    def _media(self, url: str | None, shown: bool = True) -> None:
        self.found.append(("media", url))
        if shown:
            self.found.append(("shown", url))

    def _srcset(self, srcset: str) -> None:
        for url, _ in srcset_parse(srcset):
            self.found.append(("media", url))
        self.found.append(("shown", _largest_candidate(srcset)))

    def handle_starttag(self, tag, attrs):
        attributes = {name: (value or "") for name, value in attrs}
        if tag == "base" and attributes.get("href") and not self._base_seen:
            # The first <base href> applies to every URL in the page, even those above it.
            self._base_seen = True
            self.base = urljoin(self.base, attributes["href"].strip())
        elif tag in ("a", "area"):
            href = attributes.get("href")
            if href and urlsplit(href.strip()).path.lower().endswith(_MEDIA_EXTENSIONS):
                self._media(href, shown=False)
            else:
                self.found.append(("page", href))
        elif tag in ("iframe", "frame"):
            self.found.append(("page", attributes.get("src")))
        elif tag == "link" and _PAGE_RELS & set(attributes.get("rel", "").lower().split()):
            self.found.append(("page", attributes.get("href")))
        elif tag == "img":
            self._media(attributes.get("src"))
            self._srcset(attributes.get("srcset", ""))
        elif tag == "video":
            self._in_video = True
            self._media(attributes.get("src"))
            self._media(attributes.get("poster"), shown=False)
        elif tag == "picture":
            self._in_picture = True
        elif tag == "source" and (self._in_video or self._in_picture):
            self._media(attributes.get("src"))
            if self._in_picture:
                self._srcset(attributes.get("srcset", ""))
        elif tag == "meta":
            key = (attributes.get("property") or attributes.get("name") or "").strip().lower()
            if key in _META_MEDIA:
                self._media(attributes.get("content"))
            elif attributes.get("http-equiv", "").strip().lower() == "refresh":
                self.found.append(("page", meta_refresh_target(attributes.get("content", ""))))

    def handle_endtag(self, tag):
        if tag == "video":
            self._in_video = False
        elif tag == "picture":
            self._in_picture = False


def links_extract(page_url: str, html: bytes) -> Links:
    """The pages and media ``html`` (fetched from ``page_url``) links to: normalised, absolute http(s)
    URLs, de-duplicated, in document order."""
    parser = _LinkParser(page_url)
    # URLs are ASCII or percent-encoded in nearly every page; a stray byte must not stop discovery.
    parser.feed(html.decode("utf-8", errors="replace"))
    parser.close()
    lists: dict[str, dict[str, None]] = {"page": {}, "media": {}, "shown": {}}
    normalised: dict[str, str | None] = {}  # a picture's URL comes twice (every candidate, and shown)
    for kind, raw in parser.found:
        if not raw:
            continue
        if raw not in normalised:
            normalised[raw] = url_normalize(raw, parser.base)
        if url := normalised[raw]:
            lists[kind].setdefault(url, None)
    return Links(pages=list(lists["page"]), media=list(lists["media"]), shown=list(lists["shown"]))


# --- Scope ----------------------------------------------------------------------------------------

def _pattern_compile(pattern: str) -> re.Pattern:
    pattern = pattern.strip()
    scheme, separator, rest = pattern.partition("://")
    if separator:  # scheme and host are case-insensitive; the path is not
        host, slash, path = rest.partition("/")
        pattern = f"{scheme.lower()}://{host.lower()}{slash}{path}"
    # Only "*" is special: "?" and "[" are ordinary characters of URLs, not wildcards.
    return re.compile(".*".join(re.escape(piece) for piece in pattern.split("*")), re.DOTALL)


class Scope:
    """Which pages a watch may visit. A start URL always; with patterns, a URL matching one of them
    (``https://example.org/forum/*``: patterns narrow a watch to a section, or name other hosts);
    without, any page on the host (and port) of a start URL. Depth is the caller's to check against
    ``max_depth``. Media linked from an in-scope page are fetched wherever they are hosted."""

    def __init__(self, start_urls: list[str], patterns: list[str], max_depth: int):
        self.start_urls = [u for u in (url_normalize(url) for url in start_urls) if u]
        self.patterns = [p for p in patterns if p and p.strip()]
        self.max_depth = max_depth
        self._hosts = {url_host(url) for url in self.start_urls}
        self._compiled = [_pattern_compile(p) for p in self.patterns]

    def allows(self, url: str) -> bool:
        url = url_normalize(url)
        if url is None:
            return False
        if url in self.start_urls:
            return True
        if self._compiled:
            return any(pattern.fullmatch(url) for pattern in self._compiled)
        return url_host(url) in self._hosts


# --- robots.txt -----------------------------------------------------------------------------------

# RFC 9309 2.5: a crawler must read at least the first 500 KiB; what follows may be ignored.
MAX_ROBOTS_BYTES = 512 * 1024


class RobotsRules:
    """robots.txt for one user agent. Build with ``parse`` (the file's text) or ``from_response``
    (what fetching it gave, RFC 9309's rules for a missing or unreachable file applied)."""

    def __init__(self, parser: Protego | None, user_agent: str, *, allow: bool = True):
        self._parser, self.user_agent, self._default = parser, user_agent, allow

    @classmethod
    def parse(cls, text: str, user_agent: str) -> RobotsRules:
        return cls(Protego.parse(text.removeprefix("\ufeff")), user_agent)

    @classmethod
    def allow_all(cls, user_agent: str = "") -> RobotsRules:
        return cls(None, user_agent, allow=True)

    @classmethod
    def disallow_all(cls, user_agent: str = "") -> RobotsRules:
        return cls(None, user_agent, allow=False)

    @classmethod
    def from_response(cls, status: int | None, data: bytes, user_agent: str) -> RobotsRules:
        """RFC 9309 2.3.1: a 2xx file is obeyed; 4xx ("unavailable": no file) allows everything; a 5xx
        or no answer at all ("unreachable") disallows everything, since the site may have rules we
        cannot see. 429 Too Many Requests counts as unreachable: the site asked us to back off."""
        if status is not None and 200 <= status < 300:
            text = data[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
            return cls.parse(text, user_agent)
        if status is not None and 400 <= status < 500 and status != 429:
            return cls.allow_all(user_agent)
        return cls.disallow_all(user_agent)

    def allowed(self, url: str) -> bool:
        if urlsplit(url).path == "/robots.txt":
            return True  # RFC 9309 2.2.2: robots.txt itself is always allowed
        if self._parser is None:
            return self._default
        return self._parser.can_fetch(url, self.user_agent)

    @property
    def sitemaps(self) -> list[str]:
        if self._parser is None:
            return []
        return [u for u in dict.fromkeys(url_normalize(s) for s in self._parser.sitemaps) if u]

    @property
    def crawl_delay(self) -> float | None:
        return None if self._parser is None else self._parser.crawl_delay(self.user_agent)


# --- Sitemaps -------------------------------------------------------------------------------------

# sitemaps.org: at most 50,000 URLs and 50 MiB (uncompressed) per file.
MAX_SITEMAP_URLS = 50_000
MAX_SITEMAP_BYTES = 50 * 1024 * 1024

SITEMAP_DOCTYPE = "The sitemap declares a DOCTYPE or entities; such sitemaps are not read."
SITEMAP_TOO_LARGE = "The sitemap is larger than the limit of {limit:,} bytes."
SITEMAP_NOT_XML = "The sitemap is not well-formed XML: {error}."


class SitemapError(ReadableError):
    """A sitemap that was refused or could not be read; ``reason`` says why."""


@dataclass(frozen=True)
class Sitemap:
    urls: list[str] = field(default_factory=list)  # pages, from <urlset>
    sitemaps: list[str] = field(default_factory=list)  # more sitemaps, from <sitemapindex>
    truncated: bool = False  # more than MAX_SITEMAP_URLS entries; the first ones were kept


class _Refused(Exception):
    pass


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    # Decompressed in bounded steps: a few kilobytes of gzip can unpack to gigabytes.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise SitemapError(SITEMAP_NOT_XML.format(error=exc)) from None
    if len(out) > max_bytes:
        raise SitemapError(SITEMAP_TOO_LARGE.format(limit=max_bytes))
    return out


def sitemap_parse(data: bytes, *, max_bytes: int = MAX_SITEMAP_BYTES) -> Sitemap:
    """The page URLs of a ``<urlset>`` and the sitemap URLs of a ``<sitemapindex>`` (gzip-compressed or
    not; a plain-text sitemap, one URL a line, too). Refuses a DOCTYPE or entity declaration outright
    (entity expansion is how a small file becomes a billion laughs) and anything over ``max_bytes``."""
    if len(data) > max_bytes:
        raise SitemapError(SITEMAP_TOO_LARGE.format(limit=max_bytes))
    if data[:2] == b"\x1f\x8b":  # gzip's magic number: servers label .xml.gz every which way
        data = _gunzip(data, max_bytes)
    if data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] not in (b"<", b"\xff", b"\xfe", b"\x00"):
        return _text_sitemap(data)

    urls: dict[str, None] = {}
    sitemaps: dict[str, None] = {}
    stack: list[str] = []
    text: list[str] = []
    truncated = False

    def refuse(*_args):
        raise _Refused

    def start(name, _attrs):
        stack.append(name.rsplit(" ", 1)[-1])
        text.clear()

    def end(_name):
        nonlocal truncated
        local = stack.pop()
        if local == "loc" and stack:
            target = urls if stack[-1] == "url" else sitemaps if stack[-1] == "sitemap" else None
            url = url_normalize("".join(text).strip())
            if target is not None and url:
                if len(urls) + len(sitemaps) >= MAX_SITEMAP_URLS:
                    truncated = True
                else:
                    target.setdefault(url, None)
        text.clear()

    parser = expat.ParserCreate(namespace_separator=" ")
    # Expat handles the DOCTYPE itself, whatever the encoding, so this guard cannot be dodged by
    # spelling the file in UTF-16 the way a byte search could.
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(data, True)
    except _Refused:
        raise SitemapError(SITEMAP_DOCTYPE) from None
    except expat.ExpatError as exc:
        raise SitemapError(SITEMAP_NOT_XML.format(error=expat.ErrorString(exc.code))) from None
    return Sitemap(urls=list(urls), sitemaps=list(sitemaps), truncated=truncated)


def _text_sitemap(data: bytes) -> Sitemap:
    urls: dict[str, None] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        url = url_normalize(line.strip())
        if url:
            if len(urls) >= MAX_SITEMAP_URLS:
                return Sitemap(urls=list(urls), truncated=True)
            urls.setdefault(url, None)
    return Sitemap(urls=list(urls))
