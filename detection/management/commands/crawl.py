"""Crawl sites in the foreground: follow their links from the start URLs, capture the media their pages
show, scan them, and write findings as ``manage.py scan`` does.

    manage.py crawl https://example.org/ [--depth 4] [--max-pages 500] [--organization SLUG]
                    [--pattern 'https://example.org/forum/*'] [--rate 1.0] [--ignore-robots REASON]

The same rules as a watch's run (detection.crawling): robots.txt obeyed, the per-host rate shared with
any worker on the same cache, redirects and sitemaps followed within the scope. Progress goes to stderr;
the last line is the summary: ``N pages, M media, K findings, E errors in T s``.
"""

from __future__ import annotations

import sys
import time

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from detection.crawling import CrawlStartError, crawl_run_counts_refresh, crawl_run_start, crawl_run_work
from detection.models import CrawlPage, MediaItem
from detection.services import media_scan

NO_ORGANIZATION = "No organisation has the slug “{slug}”."


class Command(BaseCommand):
    help = "Crawl sites from start URLs and scan the media found; findings go to the review queue."

    def add_arguments(self, parser):
        parser.add_argument("urls", nargs="+", metavar="URL")
        parser.add_argument("--depth", type=int, default=4, help="Links followed from a start URL (default 4).")
        parser.add_argument("--max-pages", type=int, default=500, help="Pages and sitemaps fetched at most.")
        parser.add_argument("--organization", default="", help="Slug of the organisation the captures belong to.")
        parser.add_argument("--pattern", action="append", default=[],
                            help="Glob of URLs to stay within (repeatable); default: the start URLs' hosts.")
        parser.add_argument("--rate", type=float, default=1.0, help="Requests per second to one host.")
        parser.add_argument("--ignore-robots", default="", metavar="REASON",
                            help="Do not obey robots.txt (legal decision; give the reason).")

    def handle(self, *args, **options):
        if options["depth"] < 0 or options["max_pages"] < 1 or options["rate"] <= 0:
            raise CommandError("--depth must be 0 or more, --max-pages 1 or more and --rate above 0.")
        organization = None
        if options["organization"]:
            # By name, not import: detection never imports casework (tests/test_architecture.py).
            Organization = apps.get_model("casework", "Organization")
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(NO_ORGANIZATION.format(slug=options["organization"]))
        if options["ignore_robots"].strip():
            self.stderr.write(f"robots.txt is not obeyed for this run: {options['ignore_robots'].strip()}")
        started = time.monotonic()
        try:
            run = crawl_run_start(
                organization=organization, start_urls=options["urls"], max_depth=options["depth"],
                max_pages=options["max_pages"], patterns=options["pattern"], per_host_rate=options["rate"],
                respect_robots=not options["ignore_robots"].strip(), enqueue=False,
            )
        except CrawlStartError as exc:
            raise CommandError(exc.reason) from None
        from tqdm import tqdm

        with tqdm(unit="url", file=sys.stderr, disable=None, desc="crawl") as bar:
            def progress(run):
                counts = run.pages.exclude(status__in=[CrawlPage.Status.QUEUED, CrawlPage.Status.FETCHING]).count()
                bar.total = run.pages.count()
                bar.update(counts - bar.n)

            run = crawl_run_work(run_id=run.pk, progress=progress)
        items = list(MediaItem.objects.filter(sightings__run=run, status=MediaItem.Status.RECEIVED).distinct())
        with tqdm(items, unit="media", file=sys.stderr, disable=None, desc="scan") as bar:
            for item in bar:
                media_scan(media_item_id=item.pk)
        run = crawl_run_counts_refresh(run=run)
        for page in run.pages.filter(status=CrawlPage.Status.FAILED).order_by("pk"):
            self.stdout.write(self.style.ERROR(f"{page.url}: {page.reason}"))
        for finding in _findings(run):
            sighting = finding.media_item.sightings.filter(run=run).order_by("pk").first()
            where = sighting.page_url if sighting else finding.media_item.source_url
            self.stdout.write(f"finding {finding.pk}: {finding.subject} ({finding.get_kind_display().lower()}, "
                              f"distance {finding.distance:.3f}) in {finding.media_item.source_url} on {where}")
        self.stderr.write(
            f"{run.pages_fetched} pages, {run.media_found} media, {run.findings} findings, "
            f"{run.errors} errors in {time.monotonic() - started:.1f} s"
        )


def _findings(run):
    Finding = apps.get_model("detection", "Finding")
    return Finding.objects.filter(media_item__sightings__run=run).distinct().select_related("subject", "media_item")
