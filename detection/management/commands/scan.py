"""Scan files, folders and URLs for consented subjects' faces and known images.

Output (``--json``): one JSON object per media item on stdout, in input order:
    {"input": "photos/a.jpg", "media_item": 12, "sha256": "…", "kind": "image", "status": "done",
     "error": null, "faces": [{"top": 10, "right": 90, "bottom": 90, "left": 10,
     "quality": {"score": 0.8, "size": 80, "sharpness": 140.2, "frontal": 0.93}}],
     "findings": [{"id": 3, "kind": "likeness", "subject": 7, "distance": 0.41, "threshold": 0.6,
     "model": "dlib_face_recognition_resnet_model_v1 (…)"}],
     "indicators": [{"name": "metadata_origin", "version": "1", "score": null, "meaning": "…",
     "evidence": {…}}]}
``score`` null means "not applicable".
``status`` is "done" or "failed" (then ``error`` says why). Progress and the summary go to stderr.
The exit status is 1 when any input failed; the others are still scanned.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction

from detection.engine.analysis import Analysis, analyze
from detection.engine.errors import ReadableError
from detection.engine.media import MediaError, MediaLimits
from detection.models import MediaItem
from detection.services import (
    media_ingest,
    media_ingest_url,
    media_limits,
    media_scan,
    media_scan_fail,
    media_scan_record,
)

FILE_UNREADABLE = "The file cannot be read: {reason}."


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _expand(inputs: list[str]) -> Iterator[str]:
    for value in inputs:
        path = Path(value)
        if not _is_url(value) and path.is_dir():
            yield from (str(p) for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith("."))
        else:
            yield value


@dataclass(frozen=True)
class _Analysed:
    path: str
    result: Analysis | None
    error: str | None


def _analyse_file(path: str, limits: MediaLimits, allow_noncommercial_models: bool) -> _Analysed:
    """Runs in a worker process: engine only, no database."""
    try:
        data = Path(path).read_bytes()
        return _Analysed(path, analyze(data, limits=limits, allow_noncommercial_models=allow_noncommercial_models), None)
    except MediaError as exc:
        return _Analysed(path, None, exc.reason)
    except OSError as exc:
        return _Analysed(path, None, FILE_UNREADABLE.format(reason=exc.strerror))


class Command(BaseCommand):
    help = "Scan files, folders or URLs; findings go to the review queue. Exits 1 if anything failed."

    def add_arguments(self, parser):
        parser.add_argument("inputs", nargs="+", metavar="PATH_OR_URL")
        parser.add_argument("--url", default="", help="For files: where they were seen, recorded as the source URL.")
        parser.add_argument("--json", action="store_true", help="One JSON object per media item on stdout.")
        parser.add_argument("--workers", type=int, default=1, help="Processes analysing files in parallel.")

    def handle(self, *args, **options):
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        self.as_json = options["json"]
        self.counts = {"media items": 0, "findings": 0, "failed": 0}
        inputs = list(_expand(options["inputs"]))
        files = [i for i in inputs if not _is_url(i)]
        urls = [i for i in inputs if _is_url(i)]
        from tqdm import tqdm

        with tqdm(total=len(inputs), unit="input", file=sys.stderr, disable=None) as progress:
            self._scan_files(files, options["url"], options["workers"], progress)
            for url in urls:
                self._scan_url(url)
                progress.update()
        summary = (
            f"Scanned {self.counts['media items']} media item(s) from {len(inputs)} input(s): "
            f"{self.counts['findings']} finding(s), {self.counts['failed']} failed."
        )
        self.stderr.write(summary)
        if self.counts["failed"]:
            raise CommandError(f"{self.counts['failed']} input(s) could not be scanned.", returncode=1)

    def _scan_files(self, paths: list[str], source_url: str, workers: int, progress) -> None:
        limits = media_limits()
        noncommercial = settings.INDICATORS_ALLOW_NONCOMMERCIAL_MODELS
        analyses: Iterator[_Analysed]
        if workers == 1:
            analyses = (_analyse_file(p, limits, noncommercial) for p in paths)
            executor = None
        else:
            # Forked workers should not inherit open database sessions (a child closing its copy
            # would end the parent's); one inside a transaction stays, and the engine never uses it.
            for connection in connections.all(initialized_only=True):
                if not connection.in_atomic_block:
                    connection.close()
            executor = ProcessPoolExecutor(max_workers=workers)
            analyses = executor.map(
                _analyse_file, paths, [limits] * len(paths), [noncommercial] * len(paths), chunksize=1
            )
        try:
            for analysed in analyses:
                self._record_file(analysed, source_url)
                progress.update()
        finally:
            if executor is not None:
                executor.shutdown(cancel_futures=True)

    def _record_file(self, analysed: _Analysed, source_url: str) -> None:
        path = Path(analysed.path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            self._report(analysed.path, None, FILE_UNREADABLE.format(reason=exc.strerror))
            return
        with transaction.atomic():
            item = media_ingest(data=data, source=MediaItem.Source.UPLOAD, original_name=path.name, source_url=source_url)
            # Claim the item as media_scan does, so a worker elsewhere does not scan it too.
            claimed = MediaItem.objects.filter(pk=item.pk, status=MediaItem.Status.RECEIVED).update(
                status=MediaItem.Status.PROCESSING
            )
        if claimed:
            if analysed.result is not None:
                item = media_scan_record(item=item, result=analysed.result).item
            else:
                item = media_scan_fail(item=item, reason=analysed.error)
        else:
            item.refresh_from_db()
        self._report(analysed.path, item)

    def _scan_url(self, url: str) -> None:
        try:
            items = media_ingest_url(url=url, source=MediaItem.Source.CRAWL)
        except ReadableError as exc:
            self._report(url, None, exc.reason)
            return
        for item in items:
            if item.status == MediaItem.Status.RECEIVED:
                item = media_scan(media_item_id=item.pk).item
            self._report(url, item)

    def _report(self, source: str, item: MediaItem | None, error: str | None = None) -> None:
        failed = item is None or item.status == MediaItem.Status.FAILED
        error = error or (item.failure_reason if item is not None else None) or None
        findings = list(item.findings.select_related("subject")) if item is not None else []
        self.counts["media items"] += item is not None
        self.counts["findings"] += len(findings)
        self.counts["failed"] += failed
        if self.as_json:
            record = {
                "input": source,
                "media_item": item.pk if item else None,
                "sha256": item.sha256 if item else None,
                "kind": item.kind if item else None,
                "status": "failed" if failed else "done",
                "error": error,
                "faces": item.faces if item else [],
                "findings": [
                    {"id": f.pk, "kind": f.kind, "subject": f.subject_id, "distance": f.distance,
                     "threshold": f.threshold, "model": f.model_version}
                    for f in findings
                ],
                "indicators": [
                    {"name": r.name, "version": r.version, "score": r.score, "meaning": r.meaning,
                     "evidence": r.evidence}
                    for r in (item.indicators.order_by("name") if item else [])
                ],
            }
            self.stdout.write(json.dumps(record))
        elif failed:
            self.stdout.write(self.style.ERROR(f"{source}: failed — {error}"))
        else:
            matches = ", ".join(f"{f.subject} ({f.get_kind_display().lower()}, distance {f.distance:.3f})" for f in findings)
            faces = len(item.faces)
            self.stdout.write(f"{source}: {faces} face(s); " + (f"finding: {matches}" if findings else "no finding"))
