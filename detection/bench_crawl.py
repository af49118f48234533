"""``manage.py bench --crawl``: the crawler's own speed, with one worker process and with two.

A generated site (pages with text and links, photos without faces, or the photos of a folder) is served on
127.0.0.1 by this process; each worker is a subprocess calling ``crawl_run_work`` on the same run, as two
``manage.py crawl`` processes or two Celery workers share a frontier (claims keep each row to one). The
per-host rate is set far above what the crawler reaches, so the figures are the crawler's, not the
limiter's: a real watch at 1 request a second is bound by its rate. The scan is measured apart (items
of the first run, ``media_scan`` in this process), so the fetch's cost can be read beside it.

Every run writes its rows and captures like a crawl does: use a throwaway database (PostgreSQL for two
workers: SQLite locks the whole file on each write).
"""

from __future__ import annotations

import io
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RATE = 1000.0  # requests a second per host: never reached here, so the limiter does not bind
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


# --- The generated site -----------------------------------------------------------------------------

def photos_generate(count: int, seed: int) -> list[bytes]:
    """``count`` JPEG photos, 800×600, without faces: smooth colour fields with shapes and grain, about
    the size of a web photo. Distinct bytes per seed, so no run reuses another's captures."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    photos = []
    for _ in range(count):
        field = rng.random((6, 8, 3)) * 255
        image = Image.fromarray(field.astype("uint8")).resize((800, 600), Image.BICUBIC)
        draw = ImageDraw.Draw(image)
        for _ in range(12):
            x, y = rng.integers(0, 800), rng.integers(0, 600)
            w, h = rng.integers(20, 300), rng.integers(20, 300)
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x, y, x + w, y + h], fill=colour)
        grain = rng.normal(0, 6, (600, 800, 3))
        pixels = np.clip(np.asarray(image, dtype=float) + grain, 0, 255).astype("uint8")
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=85)
        photos.append(buffer.getvalue())
    return photos


def photos_from_folder(folder: Path, count: int, seed: int) -> list[bytes]:
    """``count`` photos from ``folder`` (cycled), each with a distinct JPEG comment per seed."""
    from PIL import Image

    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"{folder} has no images ({', '.join(sorted(IMAGE_SUFFIXES))}).")
    photos = []
    for n in range(count):
        with Image.open(paths[n % len(paths)]) as image:
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="JPEG", quality=90, comment=f"{seed}-{n}".encode())
            photos.append(buffer.getvalue())
    return photos


def site_routes(pages: int, photos: list[bytes], seed: int) -> dict[str, tuple[str, bytes]]:
    """Path -> (content type, body). Page i links to its five children (5i+1 … 5i+5: every page within
    four links of the home page for 200), back home and to the next page, and shows the photos dealt to
    it; the first photo is on every tenth page too (seen again, not fetched again)."""
    rng = random.Random(seed)
    words = ["forum", "thread", "reply", "posted", "member", "gallery", "album", "upload", "photo", "comment"]
    routes = {"/robots.txt": ("text/plain", b"User-agent: *\nAllow: /\n")}

    def page_path(i: int) -> str:
        return "/" if i == 0 else f"/t/{i}"

    shown: dict[int, list[int]] = {}
    for j in range(len(photos)):
        shown.setdefault(j * pages // len(photos), []).append(j)
    for i in range(pages):
        links = [page_path(c) for c in range(5 * i + 1, 5 * i + 6) if c < pages] + ["/", page_path((i + 1) % pages)]
        images = [f"/media/{j}.jpg" for j in shown.get(i, [])] + (["/media/0.jpg"] if i % 10 == 5 else [])
        text = " ".join(rng.choice(words) for _ in range(800))  # ~5 KB of text, as a thread page has
        body = ("<!doctype html><html><head><title>t</title></head><body><nav>"
                + "".join(f'<a href="{u}">{u}</a> ' for u in links) + f"</nav><p>{text}</p>"
                + "".join(f'<img src="{u}" alt="">' for u in images) + "</body></html>")
        routes[page_path(i)] = ("text/html; charset=utf-8", body.encode())
    for j, data in enumerate(photos):
        routes[f"/media/{j}.jpg"] = ("image/jpeg", data)
    return routes


class SiteServer:
    """Serves ``routes`` on 127.0.0.1 (404 for anything else), each answer ``latency_s`` late; threads, as a
    web server answers."""

    def __init__(self, routes: dict[str, tuple[str, bytes]], latency_s: float = 0.0):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                time.sleep(latency_s)  # a remote server's round trip and think time; loopback has none
                content_type, body = routes.get(self.path, ("text/plain", b"not here"))
                self.send_response(200 if self.path in routes else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- Runs ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CrawlMeasure:
    workers: int
    seconds: float
    pages: int
    media: int
    page_row_ms: float  # median claim-to-done of a page row (fetch, parse, frontier writes)
    media_row_ms: float  # median claim-to-done of a media row (fetch, SHA-256, encrypt and store)
    cpu_seconds: float  # the workers' own CPU time while crawling (PostgreSQL's and the site's apart)
    item_ids: list[int]

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds

    @property
    def media_per_s(self) -> float:
        return self.media / self.seconds


def _worker_env() -> dict[str, str]:
    # Loopback is refused by the fetcher's SSRF guard unless allowed; only these subprocesses allow it.
    return {**os.environ, "FETCH_ALLOWED_NETWORKS": "127.0.0.1/32", "OPENBLAS_NUM_THREADS": "1"}


def crawl_measure(*, pages: int, photos: list[bytes], workers: int, seed: int, latency_s: float = 0.0) -> CrawlMeasure:
    """Serve a fresh site, start a run, and time ``workers`` subprocesses working it from a common start."""
    from django.conf import settings

    from detection import crawling
    from detection.models import CrawlPage

    site = SiteServer(site_routes(pages, photos, seed), latency_s)
    try:
        run = crawling.crawl_run_start(organization=None, start_urls=[site.url("/")], max_depth=50,
                                       max_pages=pages + 10, per_host_rate=RATE, enqueue=False)
        children = [subprocess.Popen([sys.executable, "-m", "detection.bench_crawl", str(run.pk)],
                                     cwd=settings.BASE_DIR, env=_worker_env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True) for _ in range(workers)]
        for child in children:  # Django set up in each: start-up is not the crawler's speed
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("a bench crawl worker did not start")
        started = time.perf_counter()
        for child in children:
            child.stdin.write("go\n")
            child.stdin.close()
        cpu_seconds = 0.0
        for child in children:
            cpu_seconds += float(child.stdout.readline() or 0)
            if child.wait() != 0:
                raise RuntimeError(f"a bench crawl worker failed (exit {child.returncode})")
        seconds = time.perf_counter() - started
    finally:
        site.close()
    run.refresh_from_db()
    rows = list(run.pages.filter(status=CrawlPage.Status.DONE).values_list("kind", "claimed_at", "fetched_at",
                                                                          "media_item_id"))

    def median_ms(kind: str) -> float:
        spans = [(done - claimed).total_seconds() * 1000 for k, claimed, done, _ in rows if k == kind]
        return statistics.median(spans) if spans else 0.0

    return CrawlMeasure(
        workers=workers, seconds=seconds,
        pages=sum(1 for k, *_ in rows if k == CrawlPage.Kind.PAGE),
        media=sum(1 for k, *_ in rows if k == CrawlPage.Kind.MEDIA),
        page_row_ms=median_ms(CrawlPage.Kind.PAGE), media_row_ms=median_ms(CrawlPage.Kind.MEDIA),
        cpu_seconds=cpu_seconds,
        item_ids=[item for k, _, _, item in rows if k == CrawlPage.Kind.MEDIA and item],
    )


def scan_measure(item_ids: list[int]) -> tuple[int, float]:
    """Scan the items here, one after another; the median seconds per item (after a first, untimed scan
    that loads the models)."""
    from detection.services import media_scan

    if not item_ids:
        return 0, 0.0
    media_scan(media_item_id=item_ids[0])
    spans = []
    for pk in item_ids[1:]:
        started = time.perf_counter()
        media_scan(media_item_id=pk)
        spans.append(time.perf_counter() - started)
    return len(spans), statistics.median(spans) if spans else 0.0


def _work(run_id: int) -> None:
    """A bench worker: set Django up, say ready, wait for go, work the run's frontier."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from detection.crawling import crawl_run_work

    print("ready", flush=True)
    sys.stdin.readline()
    started = time.process_time()
    crawl_run_work(run_id=run_id)
    print(time.process_time() - started, flush=True)


if __name__ == "__main__":
    _work(int(sys.argv[1]))
