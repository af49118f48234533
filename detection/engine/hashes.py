"""Cryptographic and perceptual hashes of media.

SHA-256 identifies exact bytes (evidence, de-duplication); PDQ and pHash find the same picture after
re-encoding, resizing or mild edits. PDQ probes are hashed in all 8 dihedral variants so a flipped or
rotated re-upload still matches a known image.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class PerceptualHash:
    algorithm: str  # "pdq" or "phash"
    hex: str
    quality: int | None = None


def _bits_to_hex(bits: np.ndarray) -> str:
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def hex_to_bits(value: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(value), dtype=np.uint8))


def pdq(rgb: np.ndarray) -> PerceptualHash:
    import pdqhash

    bits, quality = pdqhash.compute(rgb)
    return PerceptualHash("pdq", _bits_to_hex(bits), int(quality))


def pdq_dihedral(rgb: np.ndarray) -> tuple[list[str], int]:
    """The PDQ hashes of the image's 8 rotations and flips, and the image's quality."""
    import pdqhash

    variants, quality = pdqhash.compute_dihedral(rgb)
    return [_bits_to_hex(v) for v in variants], int(quality)


def phash(rgb: np.ndarray) -> PerceptualHash:
    import imagehash
    from PIL import Image

    return PerceptualHash("phash", str(imagehash.phash(Image.fromarray(rgb))))


def hamming(a_hex: str, b_hex: str) -> int:
    return int.bit_count(int(a_hex, 16) ^ int(b_hex, 16))
