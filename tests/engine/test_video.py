import re
from pathlib import Path

import numpy as np
import pytest

from detection.engine import faces, video
from detection.engine.faces import Box
from detection.engine.media import EMPTY_FILE, TOO_MANY_BYTES, MediaError, decode_image
from detection.engine.video import FrameHash, VideoLimits, VpdqShares

# Container → (file extension, fourcc) that this OpenCV build can write.
FORMATS = {"MP4": ("mp4", "mp4v"), "WebM": ("webm", "VP80"), "MOV": ("mov", "mp4v"), "AVI": ("avi", "MJPG")}


def write_video(path: Path, frames, *, fps: float = 10.0, fourcc: str = "mp4v") -> Path:
    """Write RGB frames; skips the test where this OpenCV build cannot write the codec."""
    import cv2

    frames = list(frames)
    height, width = frames[0].shape[:2]
    assert all(frame.shape == frames[0].shape for frame in frames), "OpenCV drops frames of another size"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        pytest.skip(f"this OpenCV build cannot write {fourcc} into .{path.suffix.lstrip('.')} files")
    for rgb in frames:
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def noise_frames(count: int, size=(48, 64)):
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(count)]


def still_frames(image: np.ndarray, count: int):
    return [image] * count


def panning_frames(image: np.ndarray, *, count: int, size=(240, 320), step: int = 4):
    """A camera panning right across ``image``."""
    import cv2

    height, width = size
    big = cv2.resize(image, (width + step * count, height + step * count // 2), interpolation=cv2.INTER_AREA)
    return [np.ascontiguousarray(big[0:height, i * step : i * step + width]) for i in range(count)]


def moving_head_frames(*, count: int, fps: float, speed_px_s: float):
    """The astronaut's head (a face about 87 px wide) sliding right across a picture of coffee."""
    import cv2
    from skimage import data

    head = data.astronaut()[0:256, 96:352]
    background = cv2.resize(data.coffee(), (480, 320), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(count):
        frame = background.copy()
        x = int(i * speed_px_s / fps)
        frame[32:288, x : x + 256] = head
        frames.append(frame)
    return frames


@pytest.fixture
def small_mp4(tmp_path) -> Path:
    return write_video(tmp_path / "noise.mp4", noise_frames(30))


@pytest.fixture(scope="module")
def astronaut_embedding():
    from skimage import data

    (face,) = faces.find_faces(data.astronaut())
    return face.embedding


def raises_reason(reason: str):
    return pytest.raises(MediaError, match=f"^{re.escape(reason)}$")


# Opening and validating ------------------------------------------------------------------------------


@pytest.mark.parametrize("container", FORMATS)
def test_each_supported_format_opens_from_bytes(container, tmp_path):
    extension, fourcc = FORMATS[container]
    written = write_video(tmp_path / f"clip.{extension}", noise_frames(20), fourcc=fourcc)
    with video.open_video(written.read_bytes()) as opened:
        times = list(opened.timestamps())
    assert opened.info.container == container
    assert (opened.info.width, opened.info.height) == (64, 48)
    assert len(times) == 20
    assert times[:3] == pytest.approx([0.0, 0.1, 0.2])


def test_a_video_opens_from_a_path(small_mp4):
    with video.open_video(small_mp4) as opened:
        assert opened.info.frame_count == 30 and opened.info.fps == pytest.approx(10.0)


def test_an_empty_file_is_refused():
    with raises_reason(EMPTY_FILE):
        video.scan_video(b"")


def test_random_bytes_are_not_a_video():
    with raises_reason(video.NOT_A_VIDEO):
        video.scan_video(np.random.default_rng(1).bytes(5000))


def test_an_image_is_not_a_video(images):
    with raises_reason(video.NOT_A_VIDEO):
        video.scan_video(images["reference.jpg"])


def test_a_truncated_mp4_is_damaged(small_mp4):
    data = small_mp4.read_bytes()
    with raises_reason(video.DAMAGED_VIDEO):
        video.scan_video(data[: len(data) // 2])


def test_a_truncated_avi_that_stops_decoding_midway_is_damaged(tmp_path):
    data = write_video(tmp_path / "clip.avi", noise_frames(30), fourcc="MJPG").read_bytes()
    with raises_reason(video.DAMAGED_VIDEO):
        video.scan_video(data[: len(data) // 2])


def test_a_video_with_corrupted_frames_is_damaged(small_mp4):
    data = bytearray(small_mp4.read_bytes())
    middle = slice(len(data) // 4, 3 * len(data) // 4)
    data[middle] = bytes((b * 7 + 13) % 256 for b in data[middle])
    with raises_reason(video.DAMAGED_VIDEO):
        video.scan_video(bytes(data))


def test_a_video_without_frames_is_refused(tmp_path):
    import cv2

    path = tmp_path / "empty.avi"
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48)).release()
    with raises_reason(video.NO_FRAMES):
        video.scan_video(path.read_bytes())


def test_a_video_over_the_byte_limit_is_refused(small_mp4):
    size = small_mp4.stat().st_size
    with raises_reason(TOO_MANY_BYTES.format(size=size, limit=100)):
        video.scan_video(small_mp4, limits=VideoLimits(max_bytes=100))


def test_frames_over_the_pixel_limit_are_refused(small_mp4):
    limit = 64 * 48 - 1
    with raises_reason(video.TOO_MANY_PIXELS.format(width=64, height=48, limit=limit)):
        video.scan_video(small_mp4, limits=VideoLimits(max_pixels=limit))


def test_a_video_over_the_duration_limit_is_refused(small_mp4):
    with raises_reason(video.TOO_LONG.format(duration=3, limit=1)):
        video.scan_video(small_mp4, limits=VideoLimits(max_duration_s=1))


def test_the_default_limits_are_200_mb_4k_and_an_hour():
    assert VideoLimits() == VideoLimits(max_bytes=200 * 1024 * 1024, max_pixels=3840 * 2160, max_duration_s=3600)


# Sampling ---------------------------------------------------------------------------------------------


def test_a_steady_shot_is_sampled_at_the_set_rate(tmp_path):
    from skimage import data

    path = write_video(tmp_path / "still.mp4", still_frames(data.coffee()[::4, ::4], 30))
    with video.open_video(path) as opened:
        times = [frame.t for frame in video.sample_frames(opened, sample_fps=2)]
    assert times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])


def test_the_frame_right_after_a_scene_cut_is_sampled(tmp_path):
    from skimage import data

    fps, cut_frame = 30.0, 23  # the cut at 0.767 s falls between the regular samples at 0.5 and 1.0 s
    before, after = data.astronaut()[::4, ::4], data.coffee()[:384:3, :384:3]  # both 128×128
    path = write_video(tmp_path / "cut.mp4", still_frames(before, cut_frame) + still_frames(after, 37), fps=fps)
    with video.open_video(path) as opened:
        sampled = list(video.sample_frames(opened, sample_fps=2))
    cut_t = cut_frame / fps - 1e-6  # the stream's timestamps are rounded
    after_cut = [frame for frame in sampled if cut_t <= frame.t <= cut_t + 1 / video.CHANGE_CHECK_FPS + 1 / fps]
    assert len(after_cut) == 1 and after_cut[0].scene_cut
    assert [frame.scene_cut for frame in sampled].count(True) == 1


# Following faces --------------------------------------------------------------------------------------


def test_boxes_that_moved_too_far_to_overlap_still_pair_by_distance():
    before = [Box(top=100, right=200, bottom=200, left=100), Box(top=0, right=50, bottom=50, left=0)]
    moved = Box(top=100, right=290, bottom=200, left=190)  # no overlap, 90 px to the right
    far = Box(top=300, right=600, bottom=400, left=500)
    assert video.associate(before, [far, moved]) == [(0, 1)]


def test_a_face_of_a_very_different_size_is_not_the_same_track():
    assert video.associate([Box(100, 200, 200, 100)], [Box(120, 160, 160, 120)]) == []


def test_one_moving_face_is_one_track_embedded_only_at_its_best_frames(tmp_path, monkeypatch, astronaut_embedding):
    fps = 15.0
    # 100 px/s: 50 px between samples, so boxes of the 87 px face overlap too little (IoU 0.27) and
    # pair by distance.
    path = write_video(tmp_path / "pan.mp4", moving_head_frames(count=30, fps=fps, speed_px_s=100), fps=fps)
    embedded_boxes = []
    real_embed = faces.embed

    def counting_embed(rgb, boxes):
        embedded_boxes.extend(boxes)
        return real_embed(rgb, boxes)

    monkeypatch.setattr(faces, "embed", counting_embed)
    scan = video.scan_video(path, max_embeds_per_track=2)

    (track,) = scan.tracks
    assert len(track.boxes) == scan.frames_sampled > 2
    assert len(track.best) == len(embedded_boxes) == 2
    assert track.best[0].quality >= track.best[1].quality
    assert track.boxes[-1][1].left - track.boxes[0][1].left > 150
    assert min(np.linalg.norm(e - astronaut_embedding) for e in track.embeddings) < 0.6


@pytest.fixture(scope="module")
def hamilton_scan(testdata):
    return video.scan_video(testdata / "video/short_hamilton_clip.mp4")


def test_lin_manuel_miranda_is_found_in_the_hamilton_clip(testdata, hamilton_scan):
    photo = (testdata / "faces/face_recognition/examples/lin-manuel-miranda.png").read_bytes()
    (reference,) = faces.find_faces(decode_image(photo).rgb)
    distances = [np.linalg.norm(e - reference.embedding) for track in hamilton_scan.tracks for e in track.embeddings]
    assert min(distances) < 0.6
    assert hamilton_scan.duration_s == pytest.approx(275 / 29.97, abs=0.05)
    assert all(len(track.best) <= video.DEFAULT_EMBEDS_PER_TRACK for track in hamilton_scan.tracks)


# vPDQ -------------------------------------------------------------------------------------------------


def two_shot_frames(first: np.ndarray, second: np.ndarray):
    return panning_frames(first, count=30) + panning_frames(second, count=30)


def reencoded(path: Path, target: Path) -> Path:
    """The same video, smaller, in another codec and container."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (240, 180), interpolation=cv2.INTER_AREA))
    return write_video(target, frames, fourcc="MJPG")


@pytest.fixture(scope="module")
def vpdq_videos(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("vpdq")
    original = write_video(folder / "original.mp4", two_shot_frames(data.astronaut(), data.coffee()))
    other = write_video(folder / "other.mp4", two_shot_frames(data.chelsea(), data.rocket()))
    return {
        name: video.scan_video(path).frame_hashes
        for name, path in {
            "original": original,
            "copy": reencoded(original, folder / "copy.avi"),
            "other": other,
        }.items()
    }


def test_a_reencoded_copy_matches_by_vpdq(vpdq_videos):
    shares = video.match_vpdq(vpdq_videos["copy"], vpdq_videos["original"])
    assert shares.query >= 0.8 and shares.known >= 0.8
    assert video.vpdq_same_video(shares)


def test_a_different_video_does_not_match_by_vpdq(vpdq_videos):
    shares = video.match_vpdq(vpdq_videos["other"], vpdq_videos["original"])
    assert not video.vpdq_same_video(shares)
    assert shares.query < 0.5 and shares.known < 0.5


def test_vpdq_counts_each_distinct_frame_once_and_skips_featureless_frames():
    a, b, c = "0" * 64, "f" * 64, "0f" * 32
    query = [FrameHash(0.0, a, 100), FrameHash(0.5, a, 100), FrameHash(1.0, a, 100), FrameHash(1.5, b, 100)]
    known = [FrameHash(0.0, a, 90), FrameHash(0.5, c, 10)]
    assert video.match_vpdq(query, known) == VpdqShares(query=0.5, known=1.0)
    assert video.match_vpdq(query, [FrameHash(0.0, a, 49)]) == VpdqShares(0.0, 0.0)
