"""Print the hashes of image and video files, so known images and videos can be registered without
sending them.

Runs where the files are, with no server and no Django:

    python -m detection.engine.hash_files FILE...

Each line is one hash in the form the portal and the desk accept, then ``# file name``, which they
ignore. An image gives ``pdq:HEX QUALITY`` and ``phash:HEX``. A video gives ``md5:HEX`` (the whole
file, StopNCII's VideoMD5: the very same bytes) and, when its frames can be read, ``vpdq:`` with the
hash of each frame a scan samples (a re-encoded copy is recognised by them). Paste the lines, never
the files.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from detection.engine.analysis import known_image_hashes
from detection.engine.media import MediaError, decode_image
from detection.engine.video.opening import container_of
from detection.engine.video.scan import video_frame_hashes
from detection.engine.video.vpdq import vpdq_line

CHUNK = 4 * 1024 * 1024  # a video is read in slices: it never sits in memory whole


def hash_lines(data: bytes, name: str) -> list[str]:
    """An image's lines. Raises ``MediaError`` for a file that is not a readable image."""
    found = known_image_hashes(decode_image(data).rgb)
    return [f"{h.algorithm}:{h.hex}{'' if h.quality is None else f' {h.quality}'}  # {name}" for h in found]


def video_hash_lines(path: Path, name: str) -> tuple[list[str], str | None]:
    """A video's lines: its MD5, and its frame hashes unless they cannot be read (then the reason)."""
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            md5.update(chunk)
    lines = [f"md5:{md5.hexdigest()}  # {name}"]
    try:
        lines.append(vpdq_line(video_frame_hashes(path), name))
    except MediaError as exc:
        return lines, exc.reason
    return lines, None


def is_video(path: Path) -> bool:
    with path.open("rb") as file:
        return container_of(file.read(12)) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m detection.engine.hash_files", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    failed = 0
    for path in parser.parse_args(argv).files:
        try:
            if is_video(path):
                lines, reason = video_hash_lines(path, path.name)
                if reason:  # the MD5 still finds the very same file
                    print(f"{path}: frames not hashed: {reason}", file=sys.stderr)
            else:
                lines = hash_lines(path.read_bytes(), path.name)
            print("\n".join(lines))
        except (OSError, MediaError) as exc:
            failed += 1
            print(f"{path}: {getattr(exc, 'reason', None) or exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
