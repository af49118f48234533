import hashlib

import numpy as np

from detection.engine import hashes


def test_sha256_and_md5_of_bytes():
    assert hashes.sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert hashes.md5_hex(b"abc") == "900150983cd24fb0d6963f7d28e17f72"


def test_pdq_has_256_bits_and_quality(images):
    from detection.engine.media import decode_image

    pdq = hashes.pdq(decode_image(images["reported-astronaut.jpg"]).rgb)
    assert len(pdq.hex) == 64 and pdq.quality >= 50


def test_dihedral_variants_match_a_flipped_copy():
    from skimage import data

    astronaut = data.astronaut()
    known = hashes.pdq(astronaut).hex
    flipped_variants, _ = hashes.pdq_dihedral(np.ascontiguousarray(astronaut[:, ::-1]))
    rotated_variants, _ = hashes.pdq_dihedral(np.ascontiguousarray(np.rot90(astronaut)))
    assert hashes.hamming(known, hashes.pdq(np.ascontiguousarray(astronaut[:, ::-1])).hex) > 31
    assert min(hashes.hamming(known, v) for v in flipped_variants) <= 31
    assert min(hashes.hamming(known, v) for v in rotated_variants) <= 31


def test_different_images_are_far_apart():
    from skimage import data

    assert hashes.hamming(hashes.pdq(data.astronaut()).hex, hashes.pdq(data.coffee()).hex) > 64


def test_phash_is_16_hex_digits():
    from skimage import data

    assert len(hashes.phash(data.coffee()).hex) == 16
