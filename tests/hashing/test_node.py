"""The browser hasher's own tests (node's test runner) run under ``make test``, and the expected
values they hold are what the engine computes with the installed libraries."""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.hashing.cases import CASES_FILE, all_expected

ROOT = Path(__file__).resolve().parents[2]
NODE_MISSING = "node is not installed (the browser hasher's tests need Node 20's test runner: apt-get install nodejs)"


def test_the_expected_hashes_are_what_the_engine_computes_today():
    assert json.loads(CASES_FILE.read_text()) == all_expected(), (
        "The engine's hashes changed (a library upgrade?): run .venv/bin/python -m tests.hashing.cases, "
        "then make the browser hasher match again."
    )


@pytest.mark.skipif(shutil.which("node") is None, reason=NODE_MISSING)
def test_the_browser_hasher_passes_its_node_tests():
    run = subprocess.run(["node", "--test", "tests/hashing/"], check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout


REFERENCE = Path(__file__).with_name("pdq_reference.json")
VENDORED = Path(__file__).with_name("pdq_reference")


def reference_images() -> list[tuple[dict, Path]]:
    """The reference images to hash: the four kept here, and every one of them in the ThreatExchange
    checkout that ``THREATEXCHANGE_DIR`` names, if any."""
    checkout = os.environ.get("THREATEXCHANGE_DIR")
    found = []
    for image in json.loads(REFERENCE.read_text())["images"]:
        path = VENDORED / image["vendored"] if image["vendored"] else None
        if checkout:
            path = Path(checkout) / image["path"]
        if path is not None and path.exists():
            found.append((image, path))
    return found


@pytest.mark.skipif(shutil.which("node") is None, reason=NODE_MISSING)
def test_the_browser_pdq_gives_the_hashes_threatexchange_publishes(tmp_path):
    from PIL import Image

    from detection.engine.media import decode_image

    manifest = []
    for number, (image, path) in enumerate(reference_images()):
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == image["sha256"], f"{path} is not the file the hashes are of"
        rgb = decode_image(data).rgb  # as a scan and hash_files decode it
        pixels = f"{number}.rgba"
        (tmp_path / pixels).write_bytes(Image.fromarray(rgb).convert("RGBA").tobytes())
        manifest.append({"path": image["path"], "width": rgb.shape[1], "height": rgb.shape[0], "pixels": pixels,
                         "references": image["references"]})
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    run = subprocess.run(["node", "--test", "tests/hashing/pdq_reference.test.mjs"], check=False, cwd=ROOT,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PDQ_REFERENCE_PIXELS": str(tmp_path)})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert f"# pass {len(manifest) + 1}" in run.stdout and "# skipped 0" in run.stdout


def test_the_expected_video_hashes_are_what_the_engine_computes_today():
    from tests.hashing import video_cases

    assert json.loads(video_cases.CASES_FILE.read_text()) == json.loads(json.dumps(video_cases.all_expected())), (
        "The engine's video sampling or frame hashes changed: run .venv/bin/python -m tests.hashing.video_cases, "
        "then make the browser's video hasher match again."
    )
