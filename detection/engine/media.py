"""Open untrusted media safely: byte and pixel limits, one typed error with a readable reason."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from detection.engine.errors import ReadableError, gettext_noop

ORIENTATION = 0x0112  # EXIF tag
IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "MPO"}

EMPTY_FILE = gettext_noop("The file is empty.")
TOO_MANY_BYTES = "The file is {size:,} bytes; the limit is {limit:,} bytes."
TOO_MANY_PIXELS = "The image is {width}×{height} pixels; the limit is {limit:,} pixels (decompression-bomb guard)."
# Pillow refuses an image over twice its own limit before we learn the size; its message holds the count.
TOO_MANY_PIXELS_COUNT = "The image has {pixels:,} pixels; the limit is {limit:,} pixels (decompression-bomb guard)."
TOO_MANY_PIXELS_UNCOUNTED = (
    "The image has more than {pixels:,} pixels; the limit is {limit:,} pixels (decompression-bomb guard)."
)
NOT_AN_IMAGE = gettext_noop("The file is not an image this system can read.")
# For a file that may have been meant as either (a scan, a report): its name says nothing reliable.
NOT_MEDIA = gettext_noop("The file is not an image or a video this system can read.")
UNSUPPORTED_FORMAT = "The image format {format} is not supported; use JPEG, PNG, WebP, GIF or TIFF."
DAMAGED_IMAGE = gettext_noop("The image is damaged or truncated and cannot be decoded.")


class MediaError(ReadableError):
    """Media that cannot be processed."""


@dataclass(frozen=True)
class MediaLimits:
    max_bytes: int = 200 * 1024 * 1024
    max_pixels: int = 60_000_000  # one image
    max_video_pixels: int = 3840 * 2160  # one video frame: 4K
    max_duration_s: float = 3600.0


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray  # H×W×3 uint8, EXIF orientation applied
    format: str

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def check_size(size: int, limits: MediaLimits) -> None:
    if size == 0:
        raise MediaError(EMPTY_FILE)
    if size > limits.max_bytes:
        raise MediaError(TOO_MANY_BYTES.format(size=size, limit=limits.max_bytes))


def decode_image(data: bytes, limits: MediaLimits = MediaLimits()) -> DecodedImage:
    """Decode an image to RGB. Only the header is read before the pixel limit is checked."""
    check_size(len(data), limits)
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own fixed limit; ours (below) is the configured one.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise MediaError(_bomb_reason(exc, limits)) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise MediaError(NOT_AN_IMAGE) from None
    if image.format not in IMAGE_FORMATS:
        raise MediaError(UNSUPPORTED_FORMAT.format(format=image.format))
    width, height = image.size
    if width * height > limits.max_pixels:
        raise MediaError(TOO_MANY_PIXELS.format(width=width, height=height, limit=limits.max_pixels))
    # face_recognition and WeasyPrint switch this process-wide flag on when imported, which would let
    # a truncated upload decode as a grey-padded image; a damaged file must be reported instead.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        image.load()  # GIF and multi-page TIFF: the first frame
        if image.getexif().get(ORIENTATION, 1) != 1:  # exif_transpose copies even when nothing turns
            image = ImageOps.exif_transpose(image)
        rgb = np.asarray(image.convert("RGB"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise MediaError(DAMAGED_IMAGE) from None
    return DecodedImage(rgb=np.ascontiguousarray(rgb), format=image.format or "")


def _bomb_reason(exc: Image.DecompressionBombError, limits: MediaLimits) -> str:
    """Pillow's "Image size (N pixels) exceeds limit…" as our reason, with N; width and height are
    not in it, and opening the file again without Pillow's guard is the risk the guard exists for."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    if found is None:  # a Pillow that words it differently: say what is certain
        return TOO_MANY_PIXELS_UNCOUNTED.format(pixels=2 * (Image.MAX_IMAGE_PIXELS or 0), limit=limits.max_pixels)
    return TOO_MANY_PIXELS_COUNT.format(pixels=int(found.group(1)), limit=limits.max_pixels)
