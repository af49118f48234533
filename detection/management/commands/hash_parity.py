"""How closely the browser hasher (the very module the pages load) agrees with the engine.

    manage.py hash_parity FOLDER
    manage.py hash_parity --videos FOLDER

Every file under FOLDER is hashed twice: in headless Debian chromium by
casework/static/casework/hashing/ (decoded by decode.js as the pages decode it), and by the engine as
a scan and ``hash_files`` hash it. One line a file, then as the last line
``N images: PDQ distance median M, p95 P, max X bits``. Nothing is downloaded: chromium is
/usr/bin/chromium, and the module and the files are served from 127.0.0.1.

With ``--videos``, every video under FOLDER instead: its frames sampled and hashed by video_decode.js
(a <video> element, as the pages do it) and by the engine's scan, compared frame by frame where both
sampled the same time, and as the bags of hashes vPDQ compares. The last line is
``N videos: F of E frames at the engine's times, PDQ distance median M, max X bits; vPDQ shares min S``.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.core.management.base import BaseCommand, CommandError

from detection.engine.analysis import known_image_hashes
from detection.engine.hash_files import is_video
from detection.engine.hashes import hamming
from detection.engine.media import MediaError, decode_image
from detection.engine.video.scan import video_frame_hashes
from detection.engine.video.vpdq import FrameHash, match_vpdq
from detection.hasher_browser import CHROMIUM, CHROMIUM_MISSING, hasher_page

NO_FOLDER = "{folder} is not a folder."
NO_IMAGES = "No file under {folder} is an image the engine can read."
NO_VIDEOS = "No file under {folder} is a video the engine can read."

# Runs in the page: the same decode and hash calls the pages make, one file at a time.
BROWSER_HASHES = """async (names) => {
  const { decodeImage } = await import("/hashing/decode.js");
  const { imageHashes } = await import("/hashing/image_hashes.js");
  const results = [];
  for (const name of names) {
    try {
      const blob = await (await fetch("/files/" + name)).blob();
      results.push(imageHashes(await decodeImage(blob)));
    } catch (error) {
      results.push({ error: String(error && error.message || error) });
    }
  }
  return results;
}"""


# Runs in the page: the frames of one video, sampled and hashed as the pages do it.
BROWSER_FRAMES = """async (name) => {
  const { videoFrameHashes } = await import("/hashing/video_decode.js");
  try {
    const blob = await (await fetch("/files/" + name)).blob();
    return await videoFrameHashes(blob);
  } catch (error) {
    return { error: String(error && error.message || error) };
  }
}"""


@dataclass(frozen=True)
class Parity:
    name: str
    pdq_bits: int
    browser_quality: int
    engine_quality: int
    phash_bits: int


def parity_summary(distances: list[int]) -> str:
    ordered = sorted(distances)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
    median = statistics.median(ordered)  # x.5 for an even count with two middle values
    return f"{len(ordered)} images: PDQ distance median {median:g}, p95 {p95}, max {ordered[-1]} bits"


def browser_hashes(folder: Path, names: list[str]) -> list[dict]:
    with hasher_page(folder) as page:
        results = []
        for start in range(0, len(names), 20):  # batches keep each evaluate call short
            batch = [quote(name) for name in names[start:start + 20]]
            results += page.evaluate(BROWSER_HASHES, batch)
        return results


@dataclass(frozen=True)
class VideoParity:
    name: str
    engine_frames: int
    browser_frames: int
    same_times: int  # frames both sampled at the same time (to the millisecond)
    pdq_bits: list[int]  # at those times
    shares: tuple[float, float]  # vPDQ, the browser's frames against the engine's


def video_parity(name: str, engine: list[FrameHash], browser: list[FrameHash]) -> VideoParity:
    at = {round(frame.t, 3): frame for frame in engine}
    pairs = [(at[round(frame.t, 3)], frame) for frame in browser if round(frame.t, 3) in at]
    shares = match_vpdq(browser, engine)
    return VideoParity(name, len(engine), len(browser), len(pairs), [hamming(e.pdq_hex, b.pdq_hex) for e, b in pairs],
                       (shares.query, shares.known))


def video_parity_summary(found: list[VideoParity]) -> str:
    bits = sorted(bit for parity in found for bit in parity.pdq_bits)
    same, engine = sum(p.same_times for p in found), sum(p.engine_frames for p in found)
    worst = min(min(p.shares) for p in found)
    spread = f"median {statistics.median(bits):g}, max {bits[-1]} bits" if bits else "none compared"
    videos = f"{len(found)} video{'' if len(found) == 1 else 's'}"
    return (f"{videos}: {same} of {engine} frames at the engine's times, PDQ distance {spread}; "
            f"vPDQ shares min {worst:.2f}")


class Command(BaseCommand):
    help = "Compare the browser hasher's PDQ and pHash with the engine's over every image in FOLDER."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--videos", action="store_true", help="compare the frame hashes of videos instead")

    def handle(self, *args, folder: Path, videos: bool = False, **options):
        folder = folder.resolve()
        if not folder.is_dir():
            raise CommandError(NO_FOLDER.format(folder=folder))
        if not CHROMIUM.exists():
            raise CommandError(CHROMIUM_MISSING)
        if videos:
            self.handle_videos(folder)
            return
        engine = {}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            try:
                engine[name] = known_image_hashes(decode_image(path.read_bytes()).rgb)
            except MediaError:
                continue  # not an image (a CSV, a video): not part of the comparison
        if not engine:
            raise CommandError(NO_IMAGES.format(folder=folder))
        names = list(engine)
        found = []
        for name, browser in zip(names, browser_hashes(folder, names), strict=True):
            pdq, phash = engine[name]
            if "error" in browser:
                self.stdout.write(f"{name}: the browser could not hash it ({browser['error']}); the engine could")
                continue
            parity = Parity(name, hamming(pdq.hex, browser["pdq"]), browser["quality"], pdq.quality,
                            hamming(phash.hex, browser["phash"]))
            found.append(parity)
            self.stdout.write(
                f"{name}: PDQ distance {parity.pdq_bits} bits, quality browser {parity.browser_quality} "
                f"engine {parity.engine_quality}, pHash distance {parity.phash_bits} bits"
            )
        failed = len(names) - len(found)
        if failed:
            self.stdout.write(f"{failed} of {len(names)} images the engine read were not hashed by the browser.")
        if not found:
            raise CommandError("The browser hashed none of the images.")
        self.stdout.write(parity_summary([p.pdq_bits for p in found]))

    def handle_videos(self, folder: Path) -> None:
        found = []
        paths = [path for path in sorted(folder.rglob("*")) if path.is_file() and is_video(path)]
        with hasher_page(folder) as page:
            for path in paths:
                name = path.relative_to(folder).as_posix()
                started = time.perf_counter()
                try:
                    engine = video_frame_hashes(path)
                except MediaError as exc:
                    self.stdout.write(f"{name}: the engine could not read it ({exc.reason})")
                    continue
                engine_s, started = time.perf_counter() - started, time.perf_counter()
                browser = page.evaluate(BROWSER_FRAMES, quote(name))
                browser_s = time.perf_counter() - started
                if "error" in browser:
                    self.stdout.write(
                        f"{name}: the browser could not hash its frames ({browser['error']}); the engine could")
                    continue
                parity = video_parity(name, engine, [FrameHash(f["t"], f["pdq"], f["quality"]) for f in browser])
                found.append(parity)
                bits = sorted(parity.pdq_bits) or [0]
                self.stdout.write(
                    f"{name}: frames engine {parity.engine_frames}, browser {parity.browser_frames}, "
                    f"{parity.same_times} at the same times, PDQ distance there median {statistics.median(bits):g}, "
                    f"max {bits[-1]} bits; vPDQ shares {parity.shares[0]:.2f} and {parity.shares[1]:.2f}; "
                    f"{browser_s:.1f} s in the browser, {engine_s:.1f} s in the engine"
                )
        if not found:
            raise CommandError(NO_VIDEOS.format(folder=folder))
        self.stdout.write(video_parity_summary(found))
