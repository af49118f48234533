"""How closely the browser hasher (the very module the pages load) agrees with the engine.

    manage.py hash_parity FOLDER

Every file under FOLDER is hashed twice: in headless Debian chromium by
casework/static/casework/hashing/ (decoded by decode.js as the pages decode it), and by the engine as
a scan and ``hash_files`` hash it. One line a file, then as the last line
``N images: PDQ distance median M, p95 P, max X bits``. Nothing is downloaded: chromium is
/usr/bin/chromium, and the module and the files are served from 127.0.0.1.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.core.management.base import BaseCommand, CommandError

from detection.engine.analysis import known_image_hashes
from detection.engine.hashes import hamming
from detection.engine.media import MediaError, decode_image
from detection.hasher_browser import CHROMIUM, CHROMIUM_MISSING, hasher_page

NO_FOLDER = "{folder} is not a folder."
NO_IMAGES = "No file under {folder} is an image the engine can read."

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


class Command(BaseCommand):
    help = "Compare the browser hasher's PDQ and pHash with the engine's over every image in FOLDER."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)

    def handle(self, *args, folder: Path, **options):
        folder = folder.resolve()
        if not folder.is_dir():
            raise CommandError(NO_FOLDER.format(folder=folder))
        if not CHROMIUM.exists():
            raise CommandError(CHROMIUM_MISSING)
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
