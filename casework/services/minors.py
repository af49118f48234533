"""Imagery of a person who is or was under 18 in it: Reclaim stores none of it.

Holding such imagery is a crime almost everywhere, whatever the purpose, and specialised bodies
exist to get it removed: NCMEC's Take It Down (hashes made on the person's own device, shared with
participating platforms) and the Internet Watch Foundation. A case marked as depicting a minor
keeps the hashes of its media (SHA-256, PDQ), enough to request removal and to recognise copies,
and loses the files; nothing can be uploaded to it again.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from casework.models import Case
from casework.services.audit import audit_record
from casework.services.hash_feed import minor_case_hashes_unshare
from detection.engine.errors import ReadableError
from detection.models import MediaItem

TAKE_IT_DOWN_URL = "https://takeitdown.ncmec.org"
IWF_URL = "https://www.iwf.org.uk"
MINOR_NO_IMAGERY = _(
    "The person depicted is or was under 18 in this imagery, so Reclaim stores no imagery for this case. "
    "Use the hash-only path: NCMEC's Take It Down (takeitdown.ncmec.org) or the IWF (www.iwf.org.uk)."
)


class MinorImageryRefused(ReadableError):
    pass


def case_media_items(case: Case):
    """Every media item of a case: uploaded to it, or found through its findings.

    One id subquery, a UNION of the case's two link tables: joining both relations (with DISTINCT) made
    the database join every media item with its cases and findings (~110 ms per case page at 100,000
    media items), and two subqueries joined by OR test every media item against both (~20 ms); the
    union reads only this case's rows (under 1 ms)."""
    uploaded = Case.media_items.through.objects.filter(case_id=case.pk).values("mediaitem_id")
    found = Case.findings.through.objects.filter(case_id=case.pk).values("finding__media_item_id")
    return MediaItem.objects.filter(pk__in=uploaded.union(found, all=True))


def case_minor_record(*, case: Case, by) -> Case:
    """Record that the case depicts a minor, and delete its media files (their hashes stay)."""
    with transaction.atomic():
        # The lock orders this against case_media_add: an upload either lands before (and is deleted
        # here) or waits and is refused.
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.depicts_minor:
            return locked  # nothing changes, so nothing to audit
        items = list(case_media_items(locked))
        names = sorted({item.file.name for item in items if item.file})
        # Files are content-addressed (detection stores the same bytes once), so clearing every item
        # that names one of these files removes all copies of this imagery, not only this case's.
        # Detection has no service for this yet; the field update is all it takes.
        MediaItem.objects.filter(file__in=names).update(file="")
        locked.depicts_minor = True
        locked.save(update_fields=["depicts_minor"])
        # Hashes shared from its findings (hash_feed.finding_hash_share) leave the platforms' feed as Deleted
        # in this transaction, under their subject's lock: they go to Take It Down, never to the feed.
        unshared = minor_case_hashes_unshare(case=locked)
        audit_record(
            action="case.minor_recorded", actor=by, organization=locked.organization, target=locked,
            data={"media_items": [i.pk for i in items], "files_deleted": len(names),
                  "kept_hashes": [{"sha256": i.sha256, "pdq": i.pdq} for i in items],
                  "known_hashes_removed": unshared.removed, "unshared": unshared.left},
        )

        def delete_files() -> None:
            # After commit: a rolled-back transaction must not lose files still referenced.
            for name in names:
                default_storage.delete(name)

        transaction.on_commit(delete_files)
    return locked
