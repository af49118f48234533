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
            # Received, or its scan was lost with a worker: the same file sent again queues it again.
            detection.media_scan_enqueue_if_stale(item)  # media_scan is idempotent: a second scan is skipped
    return items


def media_submit_url(*, organization: Organization, url: str, by) -> MediaItem:
    """Record ``url`` (an image, a video, or a page whose media are taken) for a task to fetch, at once.

    The item is "fetching" until the task has fetched the URL; then it fails with the reason, or its
    ``found_media_items`` are the captures, each queued for scanning. The organisation reads them through
    this item's submission (``casework.api.media.media_item_get_for_request``).
    """
    with transaction.atomic():
        item = detection.media_url_receive(url=url, source=MediaItem.Source.API, organization_id=organization.pk)
        _record(organization=organization, items=[item], by=by, via="url")
        detection.media_url_fetch_enqueue(item)
    return item


def media_submit_upload(*, organization: Organization, data: bytes, filename: str, by) -> list[MediaItem]:
    item = detection.media_ingest(
        data=data, source=MediaItem.Source.API, original_name=filename, organization_id=organization.pk
    )
    return _record(organization=organization, items=[item], by=by, via="upload")
