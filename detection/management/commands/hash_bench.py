"""How long the browser hasher takes beside the server, for the files the issue names.

    manage.py hash_bench [--repeat N] [--keep FOLDER]

Makes a 12-megapixel JPEG (noise over gradients, PIL) and one minute of 720p video (OpenCV's
VideoWriter: mp4v for the MD5; for the frame hashes, VP8 in WebM, which chromium decodes and mp4v it
does not, of two 30-second shots panning across scikit-image's astronaut and coffee pictures: a
sliding ramp is no test of PDQ, whose bits then sit on noise), then times, on this machine: the browser hashing each one through the very
modules the pages load (headless Debian chromium; the file is chosen in an <input type=file>, as a
person chooses it, so the video's MD5 reads it from disk slice by slice and its frames are decoded by a
<video> element), and the server doing the same work (the engine's decode and hashes; hashlib.md5 over
4 MiB reads; the frames a scan samples, hashed, without the face search). A benchmark, not a test: the
figures go in README, with the medians of --repeat runs.
"""

from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from detection.engine.analysis import known_image_hashes
from detection.engine.media import decode_image
from detection.engine.video.scan import video_frame_hashes
from detection.engine.video.vpdq import FrameHash, match_vpdq
from detection.hasher_browser import CHROMIUM, CHROMIUM_MISSING, hasher_page

PHOTO_SIZE = (4000, 3000)  # 12 MP
VIDEO_SIZE, VIDEO_FPS, VIDEO_SECONDS = (1280, 720), 30, 60
CHUNK = 4 * 1024 * 1024

PAGE = "<!doctype html><title>hash bench</title><input type=file id=file>"
# Runs in the page: decode + hashes as hash_register.js does them, timed from the chosen File on.
BROWSER_IMAGE = """async () => {
  const { decodeImage } = await import("/hashing/decode.js");
  const { imageHashes } = await import("/hashing/image_hashes.js");
  const file = document.getElementById("file").files[0];
  const start = performance.now();
  const hashes = imageHashes(await decodeImage(file));
  return { ms: performance.now() - start, pdq: hashes.pdq };
}"""
BROWSER_MD5 = """async () => {
  const { fileMd5 } = await import("/hashing/md5.js");
  const file = document.getElementById("file").files[0];
  const start = performance.now();
  const hex = await fileMd5(file);
  return { ms: performance.now() - start, md5: hex };
}"""


BROWSER_FRAMES = """async () => {
  const { videoFrameHashes } = await import("/hashing/video_decode.js");
  const file = document.getElementById("file").files[0];
  const start = performance.now();
  const frames = await videoFrameHashes(file);
  return { ms: performance.now() - start, frames };
}"""


def photo_write(path: Path) -> None:
    from PIL import Image

    width, height = PHOTO_SIZE
    generator = np.random.default_rng(12)
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    rgb = np.stack([200 * x + 40 * y, 180 * y + 30 * np.sin(9 * x), 120 * (1 - x) * (1 - y) + 60], axis=2)
    rgb += generator.normal(0, 18, rgb.shape).astype(np.float32)
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=90)


def video_write(path: Path, fourcc: str = "mp4v") -> None:
    import cv2

    width, height = VIDEO_SIZE
    generator = np.random.default_rng(13)
    ramp = np.linspace(0, 200, width, dtype=np.uint8)[None, :, None].repeat(height, 0).repeat(3, 2)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), VIDEO_FPS, VIDEO_SIZE)
    if not writer.isOpened():
        raise CommandError(f"This OpenCV build cannot write {fourcc} video.")
    try:
        for number in range(VIDEO_FPS * VIDEO_SECONDS):
            frame = np.roll(ramp, number * 4, axis=1) + generator.integers(0, 6, (height, width, 3), dtype=np.uint8)
            writer.write(frame)
    finally:
        writer.release()


def server_image_ms(path: Path) -> float:
    start = time.perf_counter()
    known_image_hashes(decode_image(path.read_bytes()).rgb)
    return (time.perf_counter() - start) * 1000


def server_md5_ms(path: Path) -> float:
    start = time.perf_counter()
    md5 = hashlib.md5()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            md5.update(chunk)
    md5.hexdigest()
    return (time.perf_counter() - start) * 1000


def shots_write(path: Path) -> None:
    """Two 30-second shots panning slowly across two pictures, as VP8 in WebM."""
    import cv2
    from skimage import data

    width, height = VIDEO_SIZE
    half = VIDEO_FPS * VIDEO_SECONDS // 2
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), VIDEO_FPS, VIDEO_SIZE)
    if not writer.isOpened():
        raise CommandError("This OpenCV build cannot write VP8 video.")
    try:
        for picture in (data.astronaut(), data.coffee()):
            big = cv2.resize(cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), (width + half // 3, height + half // 3),
                             interpolation=cv2.INTER_CUBIC)
            for number in range(half):
                step = number // 3  # a pixel every third frame, right and down
                writer.write(np.ascontiguousarray(big[step:step + height, step:step + width]))
    finally:
        writer.release()


def server_frames_ms(path: Path) -> tuple[float, list[FrameHash]]:
    start = time.perf_counter()
    frames = video_frame_hashes(path)
    return (time.perf_counter() - start) * 1000, frames


def browser_ms(folder: Path, jobs: list[tuple[Path, str]], repeat: int) -> list[list[dict]]:
    with hasher_page(folder) as page:
        page.set_content(PAGE)
        results = []
        for path, script in jobs:
            page.set_input_files("#file", str(path))
            results.append([page.evaluate(script) for _ in range(repeat)])
        return results


class Command(BaseCommand):
    help = "Time the browser hasher (12 MP JPEG; 1 minute of 720p video: MD5 and frame hashes) beside the server."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--keep", type=Path, help="write the generated files here instead of a temporary folder")

    def handle(self, *args, repeat: int, keep: Path | None, **options):
        if not CHROMIUM.exists():
            raise CommandError(CHROMIUM_MISSING)
        with tempfile.TemporaryDirectory() as scratch:
            folder = (keep or Path(scratch)).resolve()
            folder.mkdir(parents=True, exist_ok=True)
            photo, video = folder / "photo-12mp.jpg", folder / "video-720p-60s.mp4"
            webm = folder / "video-720p-60s.webm"
            if not photo.exists():
                photo_write(photo)
            if not video.exists():
                video_write(video)
            if not webm.exists():
                shots_write(webm)
            image_runs, md5_runs, frame_runs = browser_ms(
                folder, [(photo, BROWSER_IMAGE), (video, BROWSER_MD5), (webm, BROWSER_FRAMES)], repeat)
            if md5_runs[0]["md5"] != hashlib.md5(video.read_bytes()).hexdigest():
                raise CommandError("The browser's MD5 of the video is not hashlib's.")
            server_frames = [server_frames_ms(webm) for _ in range(repeat)]
            engine_frames = server_frames[0][1]
            browser_frames = [FrameHash(f["t"], f["pdq"], f["quality"]) for f in frame_runs[0]["frames"]]
            shares = match_vpdq(browser_frames, engine_frames)
            server_image = statistics.median(server_image_ms(photo) for _ in range(repeat))
            server_md5 = statistics.median(server_md5_ms(video) for _ in range(repeat))
            browser_image = statistics.median(run["ms"] for run in image_runs)
            browser_md5 = statistics.median(run["ms"] for run in md5_runs)
            self.stdout.write(
                f"12 MP JPEG ({photo.stat().st_size / 1e6:.1f} MB, {PHOTO_SIZE[0]}×{PHOTO_SIZE[1]}): decode + PDQ + pHash "
                f"browser {browser_image:.0f} ms, server {server_image:.0f} ms ({browser_image / server_image:.1f}× the server)")
            self.stdout.write(
                f"1 min 720p video ({video.stat().st_size / 1e6:.1f} MB, mp4v {VIDEO_FPS} fps): MD5 "
                f"browser {browser_md5:.0f} ms, server {server_md5:.0f} ms ({browser_md5 / server_md5:.1f}× the server)")
            browser_video = statistics.median(run["ms"] for run in frame_runs)
            server_video = statistics.median(ms for ms, _ in server_frames)
            self.stdout.write(
                f"1 min 720p video ({webm.stat().st_size / 1e6:.1f} MB, VP8 WebM {VIDEO_FPS} fps): frame hashes "
                f"(browser {len(browser_frames)} frames, server {len(engine_frames)}; vPDQ shares "
                f"{shares.query:.2f} and {shares.known:.2f}) browser {browser_video:.0f} ms, server {server_video:.0f} ms "
                f"({browser_video / server_video:.1f}× the server)")
            self.stdout.write(f"medians of {repeat} runs each")
