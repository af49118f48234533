"""Speed against named baselines, with accuracy alongside (never a timed test).

Faces: the engine and face_recognition's own CLI (``face_recognition --cpus 1 KNOWN UNKNOWN``)
each run in a subprocess over the same labelled folder (references enrolled, the rest probed); CPU
time is the subprocess's user+system time, so start-up and model loading count for both.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from detection.engine import evaluation, svgplot

BASELINE = "face_recognition --cpus 1 KNOWN_DIR UNKNOWN_DIR (face_recognition 1.3.0 CLI, tolerance 0.6)"


def dlib_description() -> str:
    """Which dlib ran: the prebuilt dlib-bin (no BLAS) or a local build, and its BLAS setting."""
    from importlib.metadata import PackageNotFoundError, distribution

    import dlib

    try:
        package = "dlib-bin" if distribution("dlib-bin") else "dlib"
    except PackageNotFoundError:
        package = "dlib (built locally)"
    blas = "with BLAS" if getattr(dlib, "DLIB_USE_BLAS", False) else "without BLAS"
    avx = "AVX" if getattr(dlib, "USE_AVX_INSTRUCTIONS", False) else "no AVX"
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    return (
        f"{package} {dlib.__version__}, {blas}, {avx}; OPENBLAS_NUM_THREADS=1 in the image and index "
        f"subprocesses, {threads} in this process (video)"
    )


def machine_description() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


@contextmanager
def child_cpu():
    """CPU seconds (user + system) used by subprocesses that ended inside the block."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    box = {}
    yield box
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    box["seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@dataclass(frozen=True)
class Result:
    name: str
    cpu_seconds: float
    probes: int
    counts: evaluation.Counts

    @property
    def images_per_cpu_second(self) -> float:
        return self.probes / self.cpu_seconds


def _single_threaded_env() -> dict[str, str]:
    # One core per process for both sides; OpenBLAS threads would otherwise burn CPU in a BLAS dlib.
    return {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_baseline(references, probes) -> tuple[float, dict[str, set[str]]]:
    executable = shutil.which("face_recognition", path=str(Path(sys.executable).parent)) or shutil.which(
        "face_recognition"
    )
    if executable is None:
        raise CommandError("face_recognition's CLI is not installed in this environment.")
    with tempfile.TemporaryDirectory() as tmp:
        known, unknown = Path(tmp, "known"), Path(tmp, "unknown")
        known.mkdir()
        unknown.mkdir()
        for identity, paths in references.items():
            for n, path in enumerate(paths):
                (known / f"{identity}__{n}{path.suffix}").symlink_to(path.resolve())
        originals = {}
        for n, probe in enumerate(probes):
            link = unknown / f"{n:04d}{probe.path.suffix}"
            link.symlink_to(probe.path.resolve())
            originals[str(link)] = str(probe.path)
        with child_cpu() as cpu:
            output = subprocess.run(
                [executable, "--cpus", "1", str(known), str(unknown)],
                capture_output=True, text=True, env=_single_threaded_env(), check=True,
            ).stdout
    matched: dict[str, set[str]] = {}
    for line in output.splitlines():
        path, _, name = line.rpartition(",")
        if path in originals and name not in {"unknown_person", "no_persons_found"}:
            matched.setdefault(originals[path], set()).add(name.split("__")[0])
    return cpu["seconds"], matched


def run_engine_subprocess(folder: Path, references: int, exhaustive: bool) -> tuple[float, evaluation.EngineRun]:
    command = [sys.executable, "-m", "detection.engine.evaluation", str(folder), "--references", str(references)]
    if exhaustive:
        command.append("--exhaustive")
    with child_cpu() as cpu:
        output = subprocess.run(
            command, capture_output=True, text=True, env=_single_threaded_env(), check=True, cwd=settings.BASE_DIR
        ).stdout
    data = json.loads(output)
    return cpu["seconds"], evaluation.EngineRun(distances=data["distances"], faces=data["faces"], errors=data["errors"])


class Command(BaseCommand):
    help = "Benchmark the engine against named baselines; prints ratios and accuracy."

    def add_arguments(self, parser):
        parser.add_argument("--faces", type=Path, help="Labelled folder (labels.csv) for the image benchmark.")
        parser.add_argument("--references", type=int, default=1)
        parser.add_argument("--exhaustive", action="store_true", help="Engine: always run the fine detection pass.")
        parser.add_argument("--plot", type=Path, help="Write the image benchmark as an SVG bar chart here.")
        parser.add_argument("--video", type=Path, help="A video: scanned at 720p against the per-frame baseline.")
        parser.add_argument(
            "--video-reference", type=Path, action="append", default=[],
            help="Reference photo of someone in the video (repeatable), named by its file name.",
        )
        parser.add_argument("--index", action="store_true", help="Match index on synthetic templates and hashes.")
        parser.add_argument("--learned", type=Path, metavar="DIR",
                            help="The learned fake indicator (CLIP probe) on the images in DIR: CPU and wall ms per "
                                 "image with one encoder thread and with onnxruntime's default.")
        parser.add_argument("--index-faces", type=int, default=1_000_000)
        parser.add_argument("--index-pdq", type=int, default=10_000_000)
        parser.add_argument("--crawl", action="store_true",
                            help="The crawler on a generated site on 127.0.0.1, with 1 and 2 worker processes "
                                 "(writes runs and captures: use a throwaway PostgreSQL database).")
        parser.add_argument("--crawl-pages", type=int, default=200)
        parser.add_argument("--crawl-media", type=int, default=100)
        parser.add_argument("--crawl-images", type=Path,
                            help="Serve these photos (cycled) instead of generated ones without faces.")
        parser.add_argument("--crawl-scans", type=int, default=30, help="Captures scanned to time the scan.")
        parser.add_argument("--crawl-latency-ms", type=float, default=0.0,
                            help="Delay each answer of the site by this much, as a remote server's round trip does.")

    def handle(self, *args, **options):
        self.stdout.write(f"Machine: {machine_description()}")
        self.stdout.write(f"dlib: {dlib_description()}")
        if options["faces"]:
            results = self.bench_faces(options["faces"], options["references"], options["exhaustive"])
            if options["plot"]:
                options["plot"].write_text(svgplot.bar_chart(
                    {r.name: r.images_per_cpu_second for r in results},
                    title=f"Images per CPU-second ({dlib_description().split(',')[0]})", y_label="images / CPU-s",
                ))
                self.stdout.write(f"Chart written to {options['plot']}")
        if options["video"]:
            self.bench_video(options["video"], options["video_reference"])
        if options["index"]:
            self.bench_index(options["index_faces"], options["index_pdq"])
        if options["learned"]:
            self.bench_learned(options["learned"])
        if options["crawl"]:
            self.bench_crawl(options["crawl_pages"], options["crawl_media"], options["crawl_images"],
                             options["crawl_scans"], options["crawl_latency_ms"] / 1000)

    def bench_learned(self, folder: Path) -> None:
        from detection.engine.indicators import clip_probe, evaluation, probe_training
        from detection.engine.media import decode_image

        try:
            clip_probe.encoder_path()
        except clip_probe.EncoderUnavailable as error:
            raise CommandError(error.reason) from None
        images = [decode_image(path.read_bytes()).rgb for path in evaluation.images_in(folder)[:40]]
        if not images:
            raise CommandError(f"{folder} holds no images.")
        self.stdout.write(f"Learned indicator ({clip_probe.ENCODER_NAME}; target 200 CPU-ms per image): "
                          f"{len(images)} images from {folder}, {os.cpu_count()} CPUs seen by this process")
        for threads in (1, 0):
            result = probe_training.bench_probe(images, threads=threads)
            self.stdout.write(
                f"  threads {result['threads']}: CPU {result['cpu_ms_median']} ms per image (median; max "
                f"{result['cpu_ms_max']}), wall {result['wall_ms_median']} ms (max {result['wall_ms_max']}); "
                f"first run, loading the encoder: {result['first_run_s']} s")

    def bench_crawl(self, pages: int, media: int, folder: Path | None, scans: int, latency_s: float) -> None:
        from django.db import connection

        from detection import bench_crawl

        if pages < 1 or media < 1:
            raise CommandError("--crawl-pages and --crawl-media must be at least 1.")
        seed = int(time.time())  # fresh bytes and a fresh port each time: no capture of an earlier run is reused
        counts = [1] if connection.vendor == "sqlite" else [1, 2]
        measures = []
        for n, workers in enumerate(counts):
            try:
                photos = (bench_crawl.photos_from_folder(folder, media, seed + n) if folder
                          else bench_crawl.photos_generate(media, seed + n))
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            measures.append(bench_crawl.crawl_measure(pages=pages, photos=photos, workers=workers, seed=seed + n,
                                                      latency_s=latency_s))
        size = sum(len(p) for p in photos) / len(photos) / 1024
        self.stdout.write(
            f"Crawl: {pages} pages, {media} photos ({'from ' + str(folder) if folder else 'generated, no faces'}, "
            f"{size:.0f} KB each) on 127.0.0.1, answers {latency_s * 1000:g} ms late; rate limit {bench_crawl.RATE:g}/s (not reached); "
            f"database {connection.vendor}; rate slots in {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}; "
            f"workers are processes calling crawl_run_work"
        )
        self.stdout.write(f"{'workers':>8}{'seconds':>9}{'pages':>7}{'media':>7}{'pages/s':>9}{'media/s':>9}"
                          f"{'pages/s/worker':>16}{'media/s/worker':>16}{'CPU ms/row':>12}")
        for m in measures:
            self.stdout.write(
                f"{m.workers:>8}{m.seconds:>9.2f}{m.pages:>7}{m.media:>7}{m.pages_per_s:>9.1f}{m.media_per_s:>9.1f}"
                f"{m.pages_per_s / m.workers:>16.1f}{m.media_per_s / m.workers:>16.1f}"
                f"{m.cpu_seconds * 1000 / (m.pages + m.media):>12.1f}"
            )
        if len(measures) == 2:
            self.stdout.write(f"2 workers / 1: {measures[1].seconds and measures[0].seconds / measures[1].seconds:.2f}×")
        else:
            self.stdout.write("2 workers: not measured on SQLite (it locks the whole file per write); use PostgreSQL.")
        one = measures[0]
        scanned, scan_s = bench_crawl.scan_measure(one.item_ids[: scans + 1])
        self.stdout.write(
            f"Per row, claim to done (median, 1 worker): page {one.page_row_ms:.1f} ms (fetch, parse, frontier), "
            f"media {one.media_row_ms:.1f} ms (fetch, SHA-256, encrypt, store)"
        )
        if scanned:
            self.stdout.write(
                f"Scan (media_scan here, median of {scanned}): {scan_s * 1000:.0f} ms per media item, "
                f"{scan_s * 1000 / one.media_row_ms if one.media_row_ms else 0:.1f}× its fetch"
            )

    def bench_video(self, path: Path, reference_paths: list[Path]) -> None:
        """In-process: both sides run here, one after the other, timed by CPU time of this process."""
        from detection.engine import faces as face_engine
        from detection.engine.media import decode_image
        from detection.engine.video.bench import bench_video

        references = {}
        for reference in reference_paths:
            found = face_engine.find_faces(decode_image(reference.read_bytes()).rgb)
            if len(found) != 1:
                raise CommandError(f"{reference} must show exactly one face; it shows {len(found)}.")
            references[reference.stem] = found[0].embedding
        result = bench_video(path, references=references, with_baseline=True)
        self.stdout.write("Video baseline: face_recognition on every frame (face_locations + face_encodings), no tracking")
        self.stdout.write(
            f"Video {path.name} at {result['size']}, {result['duration_s']:.2f} s: engine "
            f"{result['scan_video_s_per_cpu_s']:.2f} video-s per CPU-s ({result['frames_sampled']} frames sampled, "
            f"{result['embeddings']} embeddings), baseline {result['baseline_video_s_per_cpu_s']:.2f} "
            f"({result['baseline_frames']} frames, {result['baseline_embeddings']} embeddings); "
            f"ratio {result['speedup']:.1f}×"
        )
        self.stdout.write(f"Identities found: engine {result['scan_identities']}, baseline {result['baseline_identities']}")

    def bench_index(self, faces: int, pdq: int) -> None:
        # Its own process: it needs OPENBLAS_NUM_THREADS set before numpy loads, and several GB.
        self.stdout.flush()
        subprocess.run(
            [sys.executable, "-m", "detection.engine.bench_index", "--faces", str(faces), "--pdq", str(pdq)],
            env=_single_threaded_env(), cwd=settings.BASE_DIR, check=True,
        )

    def bench_faces(self, folder: Path, references: int, exhaustive: bool) -> list[Result]:
        if not (folder / "labels.csv").is_file():
            raise CommandError(f"{folder} has no labels.csv.")
        refs, probes = evaluation.split(evaluation.load_labels(folder), references)
        known = set(refs)
        threshold = settings.FACE_MATCH_THRESHOLD
        self.stdout.write(f"Faces: {folder}, {len(known)} identities enrolled, {len(probes)} probe images.")

        engine_cpu, run = run_engine_subprocess(folder, references, exhaustive)
        engine = Result("engine", engine_cpu, len(probes),
                        evaluation.score(evaluation.matched_at(run, threshold), probes, known))
        baseline_cpu, baseline_matched = run_baseline(refs, probes)
        baseline = Result("baseline", baseline_cpu, len(probes), evaluation.score(baseline_matched, probes, known))

        self.stdout.write(f"Baseline: {BASELINE}")
        self.stdout.write(f"{'':10}{'CPU s':>8}{'img/CPU-s':>11}{'recall':>8}{'true':>6}{'missed':>8}{'false':>7}")
        for result in (engine, baseline):
            c = result.counts
            self.stdout.write(
                f"{result.name:10}{result.cpu_seconds:>8.1f}{result.images_per_cpu_second:>11.2f}"
                f"{c.recall:>8.3f}{c.true_matches:>6}{c.missed_matches:>8}{c.false_matches:>7}"
            )
        ratio = engine.images_per_cpu_second / baseline.images_per_cpu_second
        self.stdout.write(f"Speed ratio (engine / baseline images per CPU-second): {ratio:.2f}×")
        return [engine, baseline]
