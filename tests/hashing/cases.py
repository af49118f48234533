"""Synthetic images the browser hasher's node tests share with the engine, and what the engine
computes for them (``hashing_cases.json``, beside this file).

The pixels come from integer arithmetic (xorshift32) that tests/hashing/synthetic.mjs repeats
exactly, so the JSON holds only the recipe and the expected results, not the images. Regenerate
after upgrading opencv, Pillow, pdqhash or ImageHash:

    .venv/bin/python -m tests.hashing.cases
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

CASES_FILE = Path(__file__).with_name("hashing_cases.json")

# (kind, width, height, seed): each exercises one path of the working copy and the resamplers.
RECIPES = [
    ("blocks", 300, 200, 1),  # no working copy (under 512 px); Lanczos shrinks both sides
    ("noise", 1024, 512, 2),  # INTER_AREA, exact 2× (OpenCV's fast path)
    ("blocks", 1536, 1023, 3),  # INTER_AREA, exact 3×
    ("blocks", 640, 480, 4),  # INTER_AREA, fractional ratio
    ("gradient", 700, 1300, 5),  # portrait, fractional ratio
    ("noise", 33, 1000, 6),  # narrow: Pillow shrinks the height first, then widens
    ("blocks", 2001, 1501, 7),  # odd sizes; Python's round() of 384.19…
    ("gradient", 24, 20, 8),  # widened by Lanczos in both directions
    ("noise", 4, 3, 9),  # below PDQ's smallest hashable side (5)
]


def xorshift32(state: int) -> int:
    state ^= (state << 13) & 0xFFFFFFFF
    state ^= state >> 17
    state ^= (state << 5) & 0xFFFFFFFF
    return state


def noise(count: int, seed: int) -> np.ndarray:
    out = np.empty(count, dtype=np.uint8)
    state = 0x9E3779B9 ^ seed
    for i in range(count):
        state = xorshift32(state)
        out[i] = state & 0xFF
    return out


def rgba(kind: str, width: int, height: int, seed: int) -> np.ndarray:
    """H×W×4 uint8, as synthetic.mjs makes it."""
    if kind == "noise":
        rgb = noise(width * height * 3, seed).reshape(height, width, 3)
    elif kind == "blocks":  # 37-pixel blocks of random colour: edges the resamplers must place exactly
        cells = noise(((width + 36) // 37) * ((height + 36) // 37) * 3, seed).reshape((height + 36) // 37, (width + 36) // 37, 3)
        rgb = cells[np.arange(height)[:, None] // 37, np.arange(width)[None, :] // 37]
    else:  # gradient with a diagonal stripe pattern
        x = np.arange(width)[None, :]
        y = np.arange(height)[:, None]
        r = (x * 255) // max(1, width - 1) + 0 * y
        g = (y * 255) // max(1, height - 1) + 0 * x
        b = ((x + 2 * y) // 9 % 2) * 200 + 20
        rgb = np.stack([r, g, b], axis=-1).astype(np.uint8)
    alpha = np.full((height, width, 1), 255, dtype=np.uint8)
    return np.ascontiguousarray(np.concatenate([rgb, alpha], axis=-1))


def expected(kind: str, width: int, height: int, seed: int) -> dict:
    from PIL import Image

    from detection.engine.analysis import _hash_copy, known_image_hashes

    rgb = np.ascontiguousarray(rgba(kind, width, height, seed)[:, :, :3])
    copy = _hash_copy(rgb)
    pdq, phash = known_image_hashes(rgb)
    grey = np.asarray(Image.fromarray(copy).convert("L").resize((32, 32), Image.LANCZOS))
    return {
        "kind": kind, "width": width, "height": height, "seed": seed,
        "copy_width": int(copy.shape[1]), "copy_height": int(copy.shape[0]),
        "copy_sha256": hashlib.sha256(np.ascontiguousarray(copy).tobytes()).hexdigest(),
        "grey32_sha256": hashlib.sha256(grey.tobytes()).hexdigest(),
        "pdq": pdq.hex, "quality": pdq.quality, "phash": phash.hex,
    }


def all_expected() -> list[dict]:
    return [expected(*recipe) for recipe in RECIPES]


if __name__ == "__main__":
    CASES_FILE.write_text(json.dumps(all_expected(), indent=1) + "\n")
    print(f"Wrote {CASES_FILE}")
