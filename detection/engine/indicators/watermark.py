"""The invisible watermark Stable Diffusion's reference scripts embed, decoded without torch.

The scripts call the ``invisible-watermark`` library's "dwtDct" method. That library imports torch
at module level (for another method), so its decoder is re-implemented here with PyWavelets and
OpenCV, step for step as its ``EmbedMaxDct.decode`` (imwatermark/maxDct.py, v0.2.0):

1. convert the picture to YUV (OpenCV, 8-bit) and crop it to a multiple of 4 pixels;
2. take the single-level Haar DWT of the U channel only: the library's default scales are
   [0, 36, 36] and its loop visits channels 0 and 1, so Y is skipped and V never reached;
3. cut the approximation band into 4×4 blocks, row by row; block k carries bit k mod n;
4. in each block take the largest-magnitude coefficient other than the first, and read a 1 when
   its magnitude modulo the scale (36) is above half the scale (the embedder quantised it to
   ¼ or ¾ of a step). Despite the method's name no DCT is applied: the DCT belongs to the
   library's commented-out SVD variant;
5. a bit is 1 when more than half of its blocks read 1 (the library's ``mean * 255 > 127``).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from detection.engine.indicators.base import IMAGE, Indicator, MediaContext, register

SCALE = 36  # the library's default quantisation step for the U channel
BLOCK = 4
MIN_PIXELS = 256 * 256  # the library refuses smaller pictures


@dataclass(frozen=True)
class KnownMark:
    name: str
    bits: tuple[int, ...]
    source: str


def _bytes_bits(message: bytes) -> tuple[int, ...]:
    return tuple(int(bit) for bit in np.unpackbits(np.frombuffer(message, dtype=np.uint8)))


# The messages the reference scripts embed (the web UIs built on them usually do not).
KNOWN_MARKS = [
    KnownMark("Stable Diffusion 1.x", _bytes_bits(b"StableDiffusionV1"),
              'CompVis/stable-diffusion scripts/txt2img.py: bytes "StableDiffusionV1"'),
    KnownMark("Stable Diffusion 2.x", _bytes_bits(b"SDV2"), 'Stability-AI/stablediffusion scripts/txt2img.py: bytes "SDV2"'),
    KnownMark("Stable Diffusion XL", tuple(int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:]),
              "Stability-AI/generative-models sgm watermark: 48 fixed bits"),
]

# A bit read from a picture without the mark is close to a coin flip, so the chance of matching
# k of n bits by luck is the binomial tail. Stability's own detector (scripts/demo/detect.py)
# calls 36 of 48 SDXL bits "very likely" (chance 4e-4); these thresholds are stricter so that the
# shorter SD 2 message (32 bits) needs as much agreement. Checked on the shared test photos: see
# tests/engine/test_indicators.py.
VERY_LIKELY_CHANCE, LIKELY_CHANCE = 1e-6, 1e-3
VERY_LIKELY_SCORE, LIKELY_SCORE = 0.9, 0.6

TOO_SMALL = "The picture is smaller than 256×256 pixels, too small for this watermark."
FOUND = ("The invisible watermark that {name} embeds was found ({matched} of {total} bits match): "
         "the image very likely came from {name}.")
PARTLY_FOUND = ("Part of the invisible watermark that {name} embeds was found ({matched} of {total} bits "
                "match): the image may have come from {name} and been altered since.")
NOT_FOUND = ("No Stable Diffusion watermark was found. Most generators do not embed this one and re-saving "
             "erases it, so this says nothing about whether the image is genuine.")
WEAKNESSES = (
    "Only the dwtDct watermark of Stable Diffusion's reference scripts is read; many front ends switch "
    "it off and other generators use other marks or none. JPEG re-compression, resizing, cropping by a "
    "number of pixels that is not a multiple of 8, screenshots and filters erase it, so its absence is "
    "not evidence that an image is genuine. The chance figures assume unmarked pictures give coin-flip "
    "bits, which is only roughly true."
)


def block_readings(rgb: np.ndarray) -> np.ndarray:
    """One 0/1 reading per 4×4 block of the U channel's approximation band, in the embedder's order."""
    import cv2
    import pywt

    rows, cols = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    yuv = cv2.cvtColor(np.ascontiguousarray(rgb[:rows, :cols]), cv2.COLOR_RGB2YUV)
    approximation, _ = pywt.dwt2(yuv[:, :, 1], "haar")
    blocks_down, blocks_across = approximation.shape[0] // BLOCK, approximation.shape[1] // BLOCK
    blocks = (approximation[: blocks_down * BLOCK, : blocks_across * BLOCK]
              .reshape(blocks_down, BLOCK, blocks_across, BLOCK).transpose(0, 2, 1, 3)
              .reshape(-1, BLOCK * BLOCK))
    magnitude = np.abs(blocks[:, 1:])  # the first (top-left) coefficient is never used
    strongest = magnitude[np.arange(len(magnitude)), magnitude.argmax(axis=1)]
    return ((strongest % SCALE) > 0.5 * SCALE).astype(np.uint8)


def decode_bits(readings: np.ndarray, length: int) -> np.ndarray:
    """The message of ``length`` bits: a majority vote over the blocks that carry each bit."""
    position = np.arange(len(readings)) % length
    ones = np.bincount(position, weights=readings, minlength=length)
    counts = np.bincount(position, minlength=length)
    return ((ones / np.maximum(counts, 1)) * 255 > 127).astype(np.uint8)


def chance_of_match(matched: int, total: int) -> float:
    """Probability that ``total`` coin flips agree with a message in at least ``matched`` places."""
    return sum(comb(total, k) for k in range(matched, total + 1)) / 2**total


@register
class StableDiffusionWatermark(Indicator):
    name = "sd_invisible_watermark"
    version = "1"
    applies_to = frozenset({IMAGE})
    meaning = NOT_FOUND
    weaknesses = WEAKNESSES

    def measure(self, context: MediaContext):
        rgb = context.image()
        if rgb.shape[0] * rgb.shape[1] < MIN_PIXELS:
            return self.not_applicable(TOO_SMALL)
        readings = block_readings(rgb)
        marks = []
        for mark in KNOWN_MARKS:
            decoded = decode_bits(readings, len(mark.bits))
            matched = int((decoded == np.array(mark.bits)).sum())
            marks.append({"name": mark.name, "source": mark.source, "matched": matched, "total": len(mark.bits),
                          "chance": chance_of_match(matched, len(mark.bits))})
        best = min(marks, key=lambda mark: mark["chance"])
        if best["chance"] <= VERY_LIKELY_CHANCE:
            score, meaning = VERY_LIKELY_SCORE, FOUND.format(**best)
        elif best["chance"] <= LIKELY_CHANCE:
            score, meaning = LIKELY_SCORE, PARTLY_FOUND.format(**best)
        else:
            score, meaning = 0.0, NOT_FOUND
        evidence = {"method": "invisible-watermark dwtDct", "channel": "U of YUV, Haar approximation band",
                    "blocks": len(readings), "scale": SCALE,
                    "region": f"whole picture, cropped to {rgb.shape[1] // 4 * 4}×{rgb.shape[0] // 4 * 4}"}
        return self.result(value={"marks": marks, "best": best["name"]}, score=score, evidence=evidence,
                           meaning=meaning)
