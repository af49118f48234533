"""Revisit a URL to see what it serves now: its HTTP status and the fingerprints of its content.

This app fetches (with the SSRF guard and limits of ``fetch_policy``) and fingerprints; casework
compares the fingerprints with a case's confirmed media and decides what the answer means.
Nothing fetched here is stored: a recheck keeps hashes, not another copy of the imagery.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from detection import fetching
from detection.engine import hashes
from detection.engine.media import MediaError, decode_image
from detection.services import fetch_policy, media_limits

# A page shows many images (avatars, thumbnails); the content a request targets is among the first few
# in practice, and each fetch can take up to FETCH_DEADLINE_S.
MAX_MEDIA_PER_REVISIT = 8


@dataclass(frozen=True)
class ContentPrint:
    url: str
    sha256: str
    kind: str  # fetching.IMAGE, VIDEO, HTML or OTHER
    pdq_variants: tuple[str, ...] = ()  # the 8 dihedral PDQ hashes; empty unless an image of usable quality


@dataclass(frozen=True)
class Revisit:
    url: str
    status: int | None  # None: no HTTP answer (unreachable, refused by the guard, timed out)
    final_url: str = ""
    error: str = ""  # readable reason when the URL itself could not be fetched
    page: ContentPrint | None = None  # what the URL itself served
    media: list[ContentPrint] = field(default_factory=list)  # for a page: the media it shows

    @property
    def contents(self) -> list[ContentPrint]:
        return [p for p in [self.page, *self.media] if p is not None]


def content_print(url: str, fetched: fetching.Fetched) -> ContentPrint:
    variants: tuple[str, ...] = ()
    if fetched.kind == fetching.IMAGE:
        try:
            image = decode_image(fetched.data, media_limits())
        except MediaError:
            pass
        else:
            found, quality = hashes.pdq_dihedral(image.rgb)
            # Below this quality PDQ hashes of unrelated flat images collide; the scan ignores them too.
            if quality >= settings.PDQ_MIN_QUALITY:
                variants = tuple(found)
    return ContentPrint(url=url, sha256=hashes.sha256_hex(fetched.data), kind=fetched.kind, pdq_variants=variants)


def url_revisit(*, url: str, max_media: int = MAX_MEDIA_PER_REVISIT) -> Revisit:
    """Fetch ``url`` now. A failure is an answer (status and reason), never an exception: a 404 is news."""
    policy = fetch_policy()
    try:
        fetched = fetching.fetch(url, policy)
    except fetching.FetchError as exc:
        return Revisit(url=url, status=exc.status, error=exc.reason)
    page = content_print(fetched.final_url, fetched)
    media = []
    if fetched.kind == fetching.HTML:
        for media_url in fetching.discover_media(fetched.final_url, fetched.data)[:max_media]:
            try:
                found = fetching.fetch(media_url, policy)
            except fetching.FetchError:
                continue  # one broken thumbnail says nothing about the content
            if found.kind in (fetching.IMAGE, fetching.VIDEO):
                media.append(content_print(found.final_url, found))
    return Revisit(url=url, status=fetched.status, final_url=fetched.final_url, page=page, media=media)
