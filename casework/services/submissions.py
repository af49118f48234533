"""Media submitted for scanning by an organisation (a partner through the API, or its staff)."""

from __future__ import annotations

from django.db import transaction

from casework.models import MediaSubmission, Organization
from casework.services.audit import audit_record
from detection import services as detection
from detection.models import MediaItem


def _record(*, organization: Organization, items: list[MediaItem], by, via: str) -> list[MediaItem]:
    with transaction.atomic():
        for item in items:
            # The same capture submitted twice is one submission and one event.
            _submission, created = MediaSubmission.objects.get_or_create(
                organization=organization, media_item=item, defaults={"submitted_by": by}
            )
            if created:
                audit_record(action="media_item.submitted", actor=by, organization=organization, target=item,
                             data={"via": via, "source_url": item.source_url, "sha256": item.sha256})
            if item.status == MediaItem.Status.RECEIVED:
                detection.media_scan_enqueue(item)  # media_scan is idempotent: a second scan is skipped
    return items


def media_submit_url(*, organization: Organization, url: str, by) -> list[MediaItem]:
    """Fetch ``url`` (an image, a video, or a page whose media are taken) and queue what it gave for scanning.

    Raises ``detection.fetching.FetchError`` when the URL itself cannot be fetched.
    """
    items = detection.media_ingest_url(url=url, source=MediaItem.Source.API)
    return _record(organization=organization, items=items, by=by, via="url")


def media_submit_upload(*, organization: Organization, data: bytes, filename: str, by) -> list[MediaItem]:
    item = detection.media_ingest(data=data, source=MediaItem.Source.API, original_name=filename)
    return _record(organization=organization, items=[item], by=by, via="upload")
