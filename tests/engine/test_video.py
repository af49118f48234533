import re
from pathlib import Path

import numpy as np
import pytest

from detection.engine import faces
from detection.engine.faces import Box
from detection.engine.media import EMPTY_FILE, TOO_MANY_BYTES, MediaError, decode_image
from detection.engine.video import detecting, opening, sampling, tracking, vpdq
from detection.engine.video.opening import (
    DAMAGED_VIDEO,
    NO_FRAMES,
    NOT_A_VIDEO,
    TOO_LONG,
    TOO_MANY_PIXELS,
    VideoLimits,
)
from detection.engine.video.scan import scan_video
from detection.engine.video.vpdq import FrameHash, VpdqShares

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
    with opening.open_video(written.read_bytes()) as opened:
        times = list(opened.timestamps())
    assert opened.info.container == container
    assert (opened.info.width, opened.info.height) == (64, 48)
    assert len(times) == 20
    assert times[:3] == pytest.approx([0.0, 0.1, 0.2])


def test_a_video_opens_from_a_path(small_mp4):
    with opening.open_video(small_mp4) as opened:
        assert opened.info.frame_count == 30 and opened.info.fps == pytest.approx(10.0)


def test_an_empty_file_is_refused():
    with raises_reason(EMPTY_FILE):
        scan_video(b"")


def test_random_bytes_are_not_a_video():
    with raises_reason(NOT_A_VIDEO):
        scan_video(np.random.default_rng(1).bytes(5000))


def test_an_image_is_not_a_video(images):
    with raises_reason(NOT_A_VIDEO):
        scan_video(images["reference.jpg"])


def test_a_truncated_mp4_is_damaged(small_mp4):
    data = small_mp4.read_bytes()
    with raises_reason(DAMAGED_VIDEO):
        scan_video(data[: len(data) // 2])


def test_a_truncated_avi_that_stops_decoding_midway_is_damaged(tmp_path):
    data = write_video(tmp_path / "clip.avi", noise_frames(30), fourcc="MJPG").read_bytes()
    with raises_reason(DAMAGED_VIDEO):
        scan_video(data[: len(data) // 2])


def test_a_video_with_corrupted_frames_is_damaged(small_mp4):
    data = bytearray(small_mp4.read_bytes())
    middle = slice(len(data) // 4, 3 * len(data) // 4)
    data[middle] = bytes((b * 7 + 13) % 256 for b in data[middle])
    with raises_reason(DAMAGED_VIDEO):
        scan_video(bytes(data))


def test_a_video_without_frames_is_refused(tmp_path):
    import cv2

    path = tmp_path / "empty.avi"
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48)).release()
    with raises_reason(NO_FRAMES):
        scan_video(path.read_bytes())


def test_a_video_over_the_byte_limit_is_refused(small_mp4):
    size = small_mp4.stat().st_size
    with raises_reason(TOO_MANY_BYTES.format(size=size, limit=100)):
        scan_video(small_mp4, limits=VideoLimits(max_bytes=100))


def test_frames_over_the_pixel_limit_are_refused(small_mp4):
    limit = 64 * 48 - 1
    with raises_reason(TOO_MANY_PIXELS.format(width=64, height=48, limit=limit)):
        scan_video(small_mp4, limits=VideoLimits(max_pixels=limit))


def test_a_video_over_the_duration_limit_is_refused(small_mp4):
    with raises_reason(TOO_LONG.format(duration=3, limit=1)):
        scan_video(small_mp4, limits=VideoLimits(max_duration_s=1))


def test_the_default_limits_are_200_mb_4k_and_an_hour():
    assert VideoLimits() == VideoLimits(max_bytes=200 * 1024 * 1024, max_pixels=3840 * 2160, max_duration_s=3600)


# Sampling ---------------------------------------------------------------------------------------------


def test_a_steady_shot_is_sampled_at_the_set_rate(tmp_path):
    from skimage import data

    path = write_video(tmp_path / "still.mp4", still_frames(data.coffee()[::4, ::4], 30))
    with opening.open_video(path) as opened:
        times = [frame.t for frame in sampling.sample_frames(opened, sample_fps=2)]
    assert times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])


def test_the_frame_right_after_a_scene_cut_is_sampled(tmp_path):
    from skimage import data

    fps, cut_frame = 30.0, 23  # the cut at 0.767 s falls between the regular samples at 0.5 and 1.0 s
    before, after = data.astronaut()[::4, ::4], data.coffee()[:384:3, :384:3]  # both 128×128
    path = write_video(tmp_path / "cut.mp4", still_frames(before, cut_frame) + still_frames(after, 37), fps=fps)
    with opening.open_video(path) as opened:
        sampled = list(sampling.sample_frames(opened, sample_fps=2))
    cut_t = cut_frame / fps - 1e-6  # the stream's timestamps are rounded
    after_cut = [frame for frame in sampled if cut_t <= frame.t <= cut_t + 1 / sampling.CHANGE_CHECK_FPS + 1 / fps]
    assert len(after_cut) == 1 and after_cut[0].scene_cut
    assert [frame.scene_cut for frame in sampled].count(True) == 1


# Following faces --------------------------------------------------------------------------------------


def test_boxes_that_moved_too_far_to_overlap_still_pair_by_distance():
    before = [Box(top=100, right=200, bottom=200, left=100), Box(top=0, right=50, bottom=50, left=0)]
    moved = Box(top=100, right=290, bottom=200, left=190)  # no overlap, 90 px to the right
    far = Box(top=300, right=600, bottom=400, left=500)
    assert tracking.associate(before, [far, moved]) == [(0, 1)]


def test_a_face_of_a_very_different_size_is_not_the_same_track():
    assert tracking.associate([Box(100, 200, 200, 100)], [Box(120, 160, 160, 120)]) == []


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
    scan = scan_video(path, max_embeds_per_track=2)

    (track,) = scan.tracks
    assert len(track.boxes) == scan.frames_sampled > 2
    assert len(track.best) == len(embedded_boxes) == 2
    assert track.best[0].quality >= track.best[1].quality
    assert track.boxes[-1][1].left - track.boxes[0][1].left > 150
    assert min(np.linalg.norm(e - astronaut_embedding) for e in track.embeddings) < 0.6


def wide_shot_rgb(face_px: int = 70):
    """Two astronaut heads, each face about ``face_px`` wide, in a 640×360 picture of coffee: no face
    dominates, so the fine detection pass runs."""
    import cv2
    from skimage import data

    head = data.astronaut()[20:236, 120:336]  # the face is about 87 px of these 216
    size = round(216 * face_px / 87)
    head = cv2.resize(head, (size, size), interpolation=cv2.INTER_AREA)
    frame = cv2.resize(data.coffee(), (640, 360), interpolation=cv2.INTER_AREA)
    frame[40 : 40 + size, 60 : 60 + size] = head
    frame[160 : 160 + size, 420 : 420 + size] = head
    return frame


def follow(samples, *, second_opinion=None):
    """Run a FaceTracker over (strong boxes, weak boxes) per sample; the face tracks at the end."""
    tracker = tracking.FaceTracker(second_opinion=second_opinion)
    frame = np.zeros((360, 640, 3), dtype=np.uint8)
    for k, (strong, weak) in enumerate(samples):
        tracker.update(k * 0.5, frame, strong, weak)
    tracker.end_all()
    return tracker.pop_ended()


FACE_BOX = Box(top=100, right=200, bottom=160, left=140)
ELSEWHERE = Box(top=200, right=460, bottom=260, left=400)


def test_a_near_miss_over_a_followed_face_continues_its_track():
    nudged = Box(top=104, right=204, bottom=164, left=144)
    (track,) = follow([([FACE_BOX], []), ([], [nudged]), ([], [ELSEWHERE])])
    assert [box for _, box in track.boxes] == [FACE_BOX, nudged]


def test_a_near_miss_seen_twice_becomes_a_face_only_if_the_second_opinion_agrees():
    asked = []

    def second_opinion(rgb, box):
        asked.append(box)
        return box == FACE_BOX

    (track,) = follow([([], [FACE_BOX, ELSEWHERE])] * 3, second_opinion=second_opinion)
    assert [box for _, box in track.boxes] == [FACE_BOX] * 3 and track.track_id == 1
    assert sorted(asked, key=lambda box: box.top) == [FACE_BOX, ELSEWHERE]  # each asked once, at the second sighting


def test_a_near_miss_seen_once_is_not_asked_about_and_not_a_face():
    asked = []
    assert follow([([], [FACE_BOX]), ([], [])], second_opinion=lambda rgb, box: asked.append(box) or True) == []
    assert asked == []


def test_the_search_with_near_misses_finds_exactly_what_faces_detect_finds():
    rgb = wide_shot_rgb()
    found = detecting.detect_with_near_misses(rgb)
    assert len(found.faces) == 2
    assert found.faces == faces.detect(rgb)
    assert not set(found.weak) & set(found.faces)


def test_the_second_opinion_confirms_a_face_and_turns_down_a_texture():
    rgb = wide_shot_rgb()
    face, _ = faces.detect(rgb)
    assert detecting.second_opinion(rgb, face)
    assert not detecting.second_opinion(rgb, Box(top=250, right=300, bottom=310, left=240))


def test_a_small_face_hog_misses_in_every_sampled_frame_is_still_followed(testdata, tmp_path):
    """Alex Lacamoire at the piano in the first shot of the Hamilton clip, at 720p: about 52 px,
    found by HOG in 2 of the shot's 20 frames and in none of the sampled ones (0.0 and 0.5 s)."""
    import cv2

    capture = cv2.VideoCapture(str(testdata / "video/short_hamilton_clip.mp4"))
    frames = []
    while len(frames) < 18:  # the shot lasts about 0.65 s
        ok, bgr = capture.read()
        frames.append(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (1280, 720), interpolation=cv2.INTER_CUBIC))
    capture.release()
    path = write_video(tmp_path / "piano.mp4", frames, fps=29.97)
    examples = testdata / "faces/face_recognition/examples"
    references = {
        name: faces.find_faces(decode_image((examples / f"{name}.png").read_bytes()).rgb)[0]
        for name in ("alex-lacamoire", "lin-manuel-miranda")
    }

    scan = scan_video(path)

    at_piano = [track for track in scan.tracks if track.boxes[0][1].right < 400]
    assert len(at_piano) == 1 and len(at_piano[0].boxes) == 2
    distance = {
        name: min(np.linalg.norm(e - reference.embedding) for e in at_piano[0].embeddings)
        for name, reference in references.items()
    }
    assert distance["alex-lacamoire"] < distance["lin-manuel-miranda"]


@pytest.fixture(scope="module")
def hamilton_scan(testdata):
    return scan_video(testdata / "video/short_hamilton_clip.mp4")


def test_lin_manuel_miranda_is_found_in_the_hamilton_clip(testdata, hamilton_scan):
    photo = (testdata / "faces/face_recognition/examples/lin-manuel-miranda.png").read_bytes()
    (reference,) = faces.find_faces(decode_image(photo).rgb)
    distances = [np.linalg.norm(e - reference.embedding) for track in hamilton_scan.tracks for e in track.embeddings]
    assert min(distances) < 0.6
    assert hamilton_scan.duration_s == pytest.approx(275 / 29.97, abs=0.05)
    assert all(len(track.best) <= tracking.DEFAULT_EMBEDS_PER_TRACK for track in hamilton_scan.tracks)


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
        name: scan_video(path).frame_hashes
        for name, path in {
            "original": original,
            "copy": reencoded(original, folder / "copy.avi"),
            "other": other,
        }.items()
    }


def test_a_reencoded_copy_matches_by_vpdq(vpdq_videos):
    shares = vpdq.match_vpdq(vpdq_videos["copy"], vpdq_videos["original"])
    assert shares.query >= 0.8 and shares.known >= 0.8
    assert vpdq.vpdq_same_video(shares)


def test_a_different_video_does_not_match_by_vpdq(vpdq_videos):
    shares = vpdq.match_vpdq(vpdq_videos["other"], vpdq_videos["original"])
    assert not vpdq.vpdq_same_video(shares)
    assert shares.query < 0.5 and shares.known < 0.5


def test_vpdq_counts_each_distinct_frame_once_and_skips_featureless_frames():
    a, b, c = "0" * 64, "f" * 64, "0f" * 32
    query = [FrameHash(0.0, a, 100), FrameHash(0.5, a, 100), FrameHash(1.0, a, 100), FrameHash(1.5, b, 100)]
    known = [FrameHash(0.0, a, 90), FrameHash(0.5, c, 10)]
    assert vpdq.match_vpdq(query, known) == VpdqShares(query=0.5, known=1.0)
    assert vpdq.match_vpdq(query, [FrameHash(0.0, a, 49)]) == VpdqShares(0.0, 0.0)


def test_a_vpdq_line_reads_back_as_the_frames_it_was_written_from():
    frames = [FrameHash(0.0, "ab" * 32, 100), FrameHash(0.5005, "cd" * 32, 7), FrameHash(61.25, "0f" * 32, 0)]
    line = vpdq.vpdq_line(frames, "holiday\nclip.mp4")
    assert line.startswith("vpdq:0.000,") and line.endswith("  # holiday clip.mp4") and line.count("\n") == 0
    body = line[len(vpdq.VPDQ_PREFIX):].split("#")[0]
    assert vpdq.vpdq_parse(body) == [FrameHash(0.0, "ab" * 32, 100), FrameHash(0.5, "cd" * 32, 7),
                                     FrameHash(61.25, "0f" * 32, 0)]
    assert vpdq.vpdq_parse(body.upper()) == vpdq.vpdq_parse(body)


FRAME = f"0.5,{'ab' * 32},90"


@pytest.mark.parametrize("body", [
    "", "0.5," + "ab" * 32, FRAME.replace(",90", ",101"), f"0.5,{'ab' * 31},90", "x" + FRAME[3:],
    f"{FRAME};;{FRAME}", ";".join([FRAME] * (vpdq.VPDQ_MAX_FRAMES + 1)),
])
def test_a_vpdq_body_that_is_not_frame_hashes_is_refused(body):
    with pytest.raises(ValueError):
        vpdq.vpdq_parse(body)


def test_the_frame_hashes_of_a_known_video_are_those_a_scan_computes(tmp_path):
    from skimage import data

    from detection.engine.video.scan import video_frame_hashes

    path = write_video(tmp_path / "two.mp4", two_shot_frames(data.astronaut(), data.coffee()))
    assert video_frame_hashes(path) == scan_video(path).frame_hashes
    with raises_reason(NOT_A_VIDEO):
        video_frame_hashes(b"\x00" * 64)
