import io

import numpy as np
import pytest
from PIL import Image

from detection.engine import media
from detection.engine.media import MediaError, MediaLimits, decode_image


def encode(pixels: np.ndarray, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **params)
    return buffer.getvalue()


@pytest.fixture
def tall() -> np.ndarray:
    pixels = np.zeros((40, 20, 3), dtype=np.uint8)
    pixels[:10] = 255  # white top rows, so orientation is visible
    return pixels


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "TIFF"])
def test_common_formats_decode_to_rgb(tall, fmt):
    image = decode_image(encode(tall, fmt))
    assert (image.width, image.height) == (20, 40)
    assert image.rgb.dtype == np.uint8 and image.rgb.shape == (40, 20, 3)


def test_exif_orientation_is_applied(tall):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    image = decode_image(encode(tall, "JPEG", exif=exif))
    assert (image.width, image.height) == (40, 20)
    assert image.rgb[:, -10:].mean() > 200  # the white band moved to the right edge


def test_rgba_png_is_flattened_to_rgb():
    rgba = np.full((8, 8, 4), 128, dtype=np.uint8)
    assert decode_image(encode(rgba, "PNG")).rgb.shape == (8, 8, 3)


def test_empty_file_is_refused():
    with pytest.raises(MediaError) as error:
        decode_image(b"")
    assert error.value.reason == media.EMPTY_FILE


def test_random_bytes_are_not_an_image():
    with pytest.raises(MediaError) as error:
        decode_image(np.random.default_rng(1).bytes(4096))
    assert error.value.reason == media.NOT_AN_IMAGE


def test_truncated_jpeg_is_reported_damaged(tall):
    data = encode(np.random.default_rng(2).integers(0, 255, (200, 200, 3), dtype=np.uint8), "JPEG")
    with pytest.raises(MediaError) as error:
        decode_image(data[: len(data) // 2])
    assert error.value.reason == media.DAMAGED_IMAGE


def test_pixel_limit_refuses_a_decompression_bomb_from_its_header():
    # 10000×10000 of one colour compresses to a few KB but would need 300 MB to decode.
    data = encode(np.zeros((10000, 10000, 3), dtype=np.uint8), "PNG")
    assert len(data) < 1_000_000
    with pytest.raises(MediaError) as error:
        decode_image(data, MediaLimits(max_pixels=1_000_000))
    assert "10000×10000" in error.value.reason


def test_byte_limit(tall):
    with pytest.raises(MediaError) as error:
        decode_image(encode(tall, "PNG"), MediaLimits(max_bytes=10))
    assert "the limit is 10 bytes" in error.value.reason


def png_header(width: int, height: int) -> bytes:
    """A PNG that is only its header: what a decompression bomb shows before any pixel data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


def test_a_bomb_past_pillows_own_guard_is_refused_with_its_real_pixel_count():
    # 30000×20000 is past twice Pillow's limit, so Pillow refuses it inside Image.open, before we see the size.
    with pytest.raises(MediaError) as error:
        decode_image(png_header(30_000, 20_000), MediaLimits(max_pixels=60_000_000))
    assert error.value.reason == media.TOO_MANY_PIXELS_COUNT.format(pixels=600_000_000, limit=60_000_000)
    assert "?" not in error.value.reason


def test_random_bytes_named_as_a_video_are_not_an_image_or_a_video():
    from detection.engine.analysis import analyze

    with pytest.raises(MediaError) as error:
        analyze(np.random.default_rng(4).bytes(8192), limits=MediaLimits())  # what "clip.mp4" held
    assert error.value.reason == media.NOT_MEDIA


def test_a_file_that_starts_like_an_image_keeps_the_images_own_reason():
    from detection.engine.analysis import analyze

    data = encode(np.random.default_rng(2).integers(0, 255, (200, 200, 3), dtype=np.uint8), "JPEG")
    with pytest.raises(MediaError) as error:
        analyze(data[: len(data) // 2], limits=MediaLimits())
    assert error.value.reason == media.DAMAGED_IMAGE
    with pytest.raises(MediaError) as error:
        analyze(b"\xff\xd8\xff" + b"\x00" * 64, limits=MediaLimits())  # a JPEG's first bytes, then nothing
    assert error.value.reason == media.NOT_AN_IMAGE
