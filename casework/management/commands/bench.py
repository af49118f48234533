"""``manage.py bench``: detection's engine benchmarks, plus ``--pages``: staff pages at volume (issue 17).

Detection never imports casework, so the pages benchmark extends detection's command here; casework
comes first in INSTALLED_APPS, so this ``bench`` is the one manage.py runs, with every option of
detection's still working.
"""

from __future__ import annotations

import time

from django.core.management.base import CommandError
from django.db import connection

from casework import bench_feed, bench_pages, bench_volume
from casework.models import Organization
from detection.management.commands.bench import Command as DetectionBenchCommand

SMALL_SCALE = 0.001  # a demo-sized organisation: 100 media items, 19 cases, 30 requests


class Command(DetectionBenchCommand):
    help = DetectionBenchCommand.help + " --pages: every staff page and API list at issue 17's volume."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--pages", action="store_true",
                            help="Build issue 17's volume (once per database and scale) and time every staff page.")
        parser.add_argument("--scale", type=float, default=1.0, help="Of issue 17's volume (1.0: 100,000 findings).")
        parser.add_argument("--small-scale", type=float, default=SMALL_SCALE,
                            help="The small organisation measured beside the large one.")
        parser.add_argument("--runs", type=int, default=7, help="Timed requests per page and organisation.")
        parser.add_argument("--explain", action="store_true",
                            help="Print EXPLAIN (ANALYZE) of each page's slowest query at the large organisation.")
        parser.add_argument("--feed", action="store_true",
                            help="Build a hash feed of --feed-records (once per database) and page through it as a "
                                 "platform does (issue 14).")
        parser.add_argument("--feed-records", type=int, default=1_000_000, help="Records in the measured feed.")
        parser.add_argument("--feed-page-size", type=int, default=800,
                            help="pageSize of each FetchHashes (python-threatexchange's default: 800).")

    def handle(self, *args, **options):
        engine = any(options[name] for name in ("faces", "video", "index", "crawl"))
        if engine or not (options["pages"] or options["feed"]):
            super().handle(*args, **options)
        if options["pages"]:
            self.bench_pages(options["scale"], options["small_scale"], options["runs"], options["explain"])
        if options["feed"]:
            self.bench_feed(options["feed_records"], options["feed_page_size"], options["explain"])

    def bench_feed(self, records: int, page_size: int, with_explain: bool) -> None:
        if records < 1 or page_size < 1:
            raise CommandError("--feed-records and --feed-page-size must be at least 1.")
        self.stdout.write(f"Database: {connection.vendor} {connection.settings_dict.get('NAME')}")
        slug = bench_feed.bench_slug(records)
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            started = time.monotonic()
            organization = bench_feed.feed_build(slug=slug, name=f"Feed benchmark ({records:,})", records=records,
                                                 seed=1, stdout=self.stdout)
            other = max(1, int(records * bench_feed.OTHER_SHARE))
            bench_feed.feed_build(slug=slug + "-other", name="Another organisation's feed", records=other, seed=2)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
            self.stdout.write(f"Built {records:,} feed records (and {other:,} of another organisation) in "
                              f"{time.monotonic() - started:.1f} s.")
        else:
            self.stdout.write(f"Reusing {slug}: built earlier in this database (drop the database to rebuild).")
        result = bench_feed.feed_bench(organization, page_size=page_size)
        self.stdout.write(
            f"FetchHashes, pageSize {page_size}: {result.records:,} records in {result.pages:,} pages, "
            f"{result.seconds:.1f} s ({result.records / result.seconds:,.0f} records/s); page ms p50 "
            f"{result.p(50):.1f}, p95 {result.p(95):.1f}, p99 {result.p(99):.1f}, max {max(result.page_ms):.1f}; "
            f"median of the first 10 pages {result.first_pages_ms:.1f}, of the last 10 {result.last_pages_ms:.1f}; "
            f"{result.queries_per_page} queries a page")
        cursor_ms, offset_ms = bench_feed.last_page_against_offset(organization, page_size=page_size)
        self.stdout.write(f"The last page's records query, median of 5: {cursor_ms:.1f} ms from the token's cursor; "
                          f"baseline OFFSET {offset_ms:.1f} ms ({offset_ms / cursor_ms:.0f}x)")
        if with_explain:
            self.stdout.write(bench_feed.page_query_explain(organization, page_size=page_size))

    def organization(self, slug: str, build) -> Organization:
        found = Organization.objects.filter(slug=slug).first()
        if found is not None:
            self.stdout.write(f"Reusing {slug}: built earlier in this database (drop the database to rebuild).")
            return found
        volumes = build()
        for volume in volumes:
            counts = ", ".join(f"{name} {n:,}" for name, n in volume.counts.items())
            self.stdout.write(f"Built {volume.organization.slug} in {volume.seconds:.1f} s: {counts}")
        return volumes[0].organization

    def bench_pages(self, scale: float, small_scale: float, runs: int, with_explain: bool) -> None:
        if scale <= 0 or small_scale <= 0 or runs < 1:
            raise CommandError("--scale and --small-scale must be above 0, --runs at least 1.")
        self.stdout.write(f"Database: {connection.vendor} {connection.settings_dict.get('NAME')}")
        started = time.monotonic()
        large = self.organization(bench_volume.scale_slug(scale), lambda: bench_volume.volume_build(scale=scale))
        small = self.organization(
            bench_volume.scale_slug(small_scale) + "-small",
            lambda: [bench_volume.organization_volume_build(
                scale=small_scale, slug=bench_volume.scale_slug(small_scale) + "-small",
                name=f"Small organisation (scale {small_scale:g})", seed=71)])
        if connection.vendor == "postgresql":
            # Fresh bulk inserts have no planner statistics yet; a live database's autovacuum keeps them.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(f"Volume ready (and analysed) in {time.monotonic() - started:.1f} s.")
        organizations = [small, large]
        started = time.monotonic()
        results = bench_pages.pages_measure(organizations, runs=runs)
        self.stdout.write(
            f"Pages: {runs} timed runs each after one warm-up, ms wall time in this process; flagged: p95 over "
            f"{bench_pages.FLAG_P95_MS} ms, over {bench_pages.FLAG_BYTES // 1000} kB, or a query count that grows."
        )
        for line in bench_pages.results_table(results, organizations):
            self.stdout.write(line)
        self.stdout.write(f"Measured in {time.monotonic() - started:.1f} s.")
        for name, why in bench_pages.routes_not_measured():
            self.stdout.write(f"not measured: {name}: {why}")
        if with_explain:
            for result in results:
                m = result.by_organization[large.slug]
                if m.slowest_sql:
                    self.stdout.write(f"\n== {result.page.label}: slowest query {m.slowest_ms:.1f} ms\n{m.slowest_sql}")
                    self.stdout.write(bench_pages.explain(m.slowest_sql))
