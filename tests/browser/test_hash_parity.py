"""hash_parity runs the browser hasher (the module the pages load) in chromium and compares it with
the engine, file by file."""

import io

import numpy as np
from django.core.management import call_command
from PIL import Image


def write_images(folder):
    rng = np.random.default_rng(13)
    photo = Image.fromarray(np.kron(rng.integers(0, 256, (36, 48, 3), dtype=np.uint8), np.ones((25, 25, 1), np.uint8)))
    photo.save(folder / "large.jpg", quality=88)  # 1200×900: the working copy is shrunk to 512
    turned = Image.Exif()
    turned[0x0112] = 6  # shown rotated 90°: both sides must apply it
    photo.resize((640, 480)).save(folder / "rotated.jpg", quality=80, exif=turned)
    photo.resize((300, 200)).save(folder / "small.png")
    photo.convert("L").resize((700, 333)).save(folder / "grey.webp", quality=90)
    (folder / "notes.csv").write_text("not,an,image\n")


def test_the_browser_hasher_agrees_with_the_engine_on_every_image(tmp_path):
    write_images(tmp_path)
    out = io.StringIO()

    call_command("hash_parity", str(tmp_path), stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == ["grey.webp", "large.jpg", "rotated.jpg", "small.png"]
    # Measured: every file of ../shared/testdata (149 images) hashes bit for bit as the engine does.
    assert lines[-1] == "4 images: PDQ distance median 0, p95 0, max 0 bits"
    for line in lines[:-1]:
        assert line.endswith(", pHash distance 0 bits")
        browser, engine = line.split("quality browser ")[1].split(",")[0].split(" engine ")
        assert browser == engine


def test_the_browser_samples_and_hashes_a_videos_frames_as_the_engine_does(tmp_path):
    from skimage import data

    from tests.engine.test_video import two_shot_frames, write_video

    write_video(tmp_path / "shots.webm", two_shot_frames(data.astronaut(), data.coffee()), fourcc="VP80")
    write_video(tmp_path / "mpeg4.mp4", two_shot_frames(data.chelsea(), data.rocket()))  # mp4v: chromium cannot
    (tmp_path / "notes.csv").write_text("not,a,video\n")
    out = io.StringIO()

    call_command("hash_parity", str(tmp_path), "--videos", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("mpeg4.mp4: the browser could not hash its frames (video-undecodable)")
    frames = int(lines[1].split("frames engine ")[1].split(",")[0])
    assert lines[1].startswith(f"shots.webm: frames engine {frames}, browser {frames}, {frames} at the same times")
    assert "vPDQ shares 1.00 and 1.00" in lines[1]
    assert lines[-1].startswith(f"1 video: {frames} of {frames} frames at the engine's times, PDQ distance median")
    assert int(lines[-1].split(", max ")[1].split(" bits")[0]) <= 16
