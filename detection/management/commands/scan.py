"""Scan image files for consented subjects' faces and known images."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detection.models import MediaItem
from detection.services import media_ingest, media_scan


def _files(paths: list[Path]):
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


class Command(BaseCommand):
    help = "Scan files or folders of images; findings go to the review queue. Exits 1 if any file failed."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--url", default="", help="Where the media was seen, recorded as its source URL.")
        parser.add_argument("--json", action="store_true", help="One JSON object per media item on stdout.")

    def handle(self, *args, **options):
        failed = findings = scanned = 0
        for path in _files(options["paths"]):
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror}") from None
            item = media_ingest(data=data, source=MediaItem.Source.UPLOAD, original_name=path.name, source_url=options["url"])
            if item.status == MediaItem.Status.RECEIVED:
                item = media_scan(media_item_id=item.pk).item
            scanned += 1
            found = list(item.findings.select_related("subject"))
            findings += len(found)
            if item.status == MediaItem.Status.FAILED:
                failed += 1
            self._report(path, item, found, options["json"])
        summary = f"Scanned {scanned} file(s): {findings} finding(s), {failed} failed."
        self.stderr.write(summary) if options["json"] else self.stdout.write(summary)
        if failed:
            raise CommandError(f"{failed} file(s) could not be scanned.", returncode=1)

    def _report(self, path, item, found, as_json):
        if as_json:
            record = {
                "path": str(path),
                "media_item": item.pk,
                "sha256": item.sha256,
                "status": item.status,
                "error": item.failure_reason or None,
                "faces": item.faces,
                "findings": [
                    {"id": f.pk, "kind": f.kind, "subject": f.subject_id, "distance": f.distance, "threshold": f.threshold}
                    for f in found
                ],
            }
            self.stdout.write(json.dumps(record))
        elif item.status == MediaItem.Status.FAILED:
            self.stdout.write(self.style.ERROR(f"{path}: failed — {item.failure_reason}"))
        else:
            matches = ", ".join(f"{f.subject} ({f.get_kind_display().lower()}, distance {f.distance:.3f})" for f in found)
            self.stdout.write(f"{path}: {len(item.faces)} face(s); " + (f"finding: {matches}" if found else "no finding"))
