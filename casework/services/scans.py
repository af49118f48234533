"""Staff asking for a media item to be scanned again: one that failed, or whose scan was lost with its
worker. Detection decides what may be queued again (detection.services.media_scan_again); this records
who asked, for which organisation, and what the item's state was."""

from __future__ import annotations

from django.db import transaction

from casework.models import Organization
from casework.services.audit import audit_record
from detection import services as detection
from detection.models import MediaItem


def media_item_scan_again(*, item: MediaItem, organization_id: int, by) -> MediaItem:
    """Queue the item's scan again and audit it. Raises detection.services.ScanAgainRefused."""
    before = {"status": item.status, "failure_reason": item.failure_reason, "scan_attempts": item.scan_attempts}
    with transaction.atomic():
        item = detection.media_scan_again(item=item)
        audit_record(
            action="media_item.scan_again", actor=by, organization=Organization.objects.get(pk=organization_id),
            target=item, data={"sha256": item.sha256, "was": before},
        )
    return item
