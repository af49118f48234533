"""Print the hashes of image files, so known images can be registered without sending them.

Runs where the images are, with no server and no Django:

    python -m detection.engine.hash_files IMAGE...

Each line is one hash in the form the portal and the desk accept (``pdq:HEX QUALITY`` or
``phash:HEX``, then ``# file name``, which they ignore). Paste the lines, never the images.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.engine.analysis import known_image_hashes
from detection.engine.media import MediaError, decode_image


def hash_lines(data: bytes, name: str) -> list[str]:
    """Raises ``MediaError`` for a file that is not a readable image."""
    found = known_image_hashes(decode_image(data).rgb)
    return [f"{h.algorithm}:{h.hex}{'' if h.quality is None else f' {h.quality}'}  # {name}" for h in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m detection.engine.hash_files", description=__doc__.split("\n")[0])
    parser.add_argument("images", nargs="+", type=Path)
    failed = 0
    for path in parser.parse_args(argv).images:
        try:
            print("\n".join(hash_lines(path.read_bytes(), path.name)))
        except (OSError, MediaError) as exc:
            failed += 1
            print(f"{path}: {getattr(exc, 'reason', None) or exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
