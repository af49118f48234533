"""A folder of bad files: each becomes a failed media item with a reason; the rest still scan."""

import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from PIL import Image

from detection.engine import media
from detection.models import MediaItem


@pytest.fixture
def folder(tmp_path, images):
    jpeg = images["reported-astronaut.jpg"]
    png = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 200, dtype=np.uint8)).save(png, format="PNG")
    files = {
        "good.jpg": jpeg,
        "png-named.jpg": png.getvalue(),  # mislabelled but fine: the bytes decide
        "zero.jpg": b"",
        "truncated.jpg": jpeg[: len(jpeg) // 3],
        "text-named.png": b"hello, this is not an image\n" * 10,
        "random.webp": np.random.default_rng(3).bytes(5000),
        "oversized.jpg": jpeg + b"\0" * 200_000,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


@override_settings(MEDIA_MAX_BYTES=150_000)
def test_every_bad_file_fails_with_a_reason_and_the_rest_finish(db, folder, capsys):
    with pytest.raises(CommandError) as error:
        call_command("scan", str(folder), "--json", "--workers", "2")
    assert error.value.returncode == 1
    records = {r["input"].rsplit("/", 1)[-1]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {name for name, r in records.items() if r["status"] == "done"} == {"good.jpg", "png-named.jpg"}
    assert records["zero.jpg"]["error"] == media.EMPTY_FILE
    assert records["truncated.jpg"]["error"] == media.DAMAGED_IMAGE
    assert records["text-named.png"]["error"] == media.NOT_MEDIA
    assert records["random.webp"]["error"] == media.NOT_MEDIA
    assert "the limit is 150,000 bytes" in records["oversized.jpg"]["error"]
    assert MediaItem.objects.filter(status=MediaItem.Status.FAILED).count() == 5
    assert all(item.failure_reason for item in MediaItem.objects.filter(status=MediaItem.Status.FAILED))
