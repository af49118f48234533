"""The browser hasher's own tests (node's test runner) run under ``make test``, and the expected
values they hold are what the engine computes with the installed libraries."""

import json
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
