"""The browser's MD5 (casework/static/casework/hashing/md5.js) gives Python's hashlib.md5 digest of
random files, read in slices as the pages read a video."""

import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.hashing.test_node import NODE_MISSING, ROOT

MODULE = ROOT / "casework/static/casework/hashing/md5.js"
SCRIPT = """
import { readFileSync } from "node:fs";
import { fileMd5 } from "%s";
const out = {};
for (const path of process.argv.slice(1)) out[path] = await fileMd5(new Blob([readFileSync(path)]), { chunkBytes: 4096 });
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason=NODE_MISSING)
def test_the_browser_md5_of_random_files_and_the_empty_file_is_hashlibs(tmp_path: Path):
    generator = random.Random(13)
    sizes = [0, 1, 55, 56, 63, 64, 65, 4095, 4096, 4097, 100_000, generator.randrange(200_000, 300_000)]
    files = {}
    for number, size in enumerate(sizes):
        path = tmp_path / f"file{number}.bin"
        path.write_bytes(generator.randbytes(size))
        files[str(path)] = hashlib.md5(path.read_bytes()).hexdigest()
    run = subprocess.run(["node", "--input-type=module", "-e", SCRIPT % MODULE.as_uri(), *files], check=False,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout) == files
