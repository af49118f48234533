import io
import json

import numpy as np
import pytest
from PIL import Image

from detection.engine.indicators import (
    IndicatorOptions,
    MediaContext,
    base,
    blink_rate,
    combined,
    evaluation,
    face_flicker,
    head_pose,
    identity_flicker,
    measure_media,
    run_indicators,
)
from detection.engine.indicators.blink_rate import BlinkRate
from detection.engine.indicators.combined import Calibration, CombinedLikelihood
from detection.engine.indicators.face_flicker import FaceTemporalFlicker
from detection.engine.indicators.face_views import FaceTrackViews, VideoFaceViews, observe_video
from detection.engine.indicators.identity_flicker import IdentityFlicker
from detection.engine.indicators.spectrum import SpectrumHighFrequency

ALLOWED = IndicatorOptions(allow_noncommercial_models=True)
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42"  # enough for the context to know a video; its faces are handed over
FRAME_SIZE = (480, 360)
FPS = 10


def _synthetic_video(path, kind: str, *, seconds: int = 4, seed: int = 0) -> bytes:
    """The astronaut's face pasted on a still background, drifting a pixel every other frame under
    camera noise. ``kind``: "steady"; "tone" (the face's brightness jumps by up to ±20% every frame,
    as a swap blended frame by frame); "texture" (every other frame the eyes are blurred: the face's
    texture, and so its identity, changes from frame to frame); "no face"."""
    import cv2
    from skimage import data

    from detection.engine import faces

    rng = np.random.default_rng(seed)
    face = cv2.resize(np.ascontiguousarray(data.astronaut()[20:260, 130:350]), None, fx=1.2, fy=1.2)
    box = faces.detect(face)[0]
    mask = np.zeros(face.shape[:2], np.float32)
    mask[box.top : box.bottom, box.left : box.right] = 1
    mask = cv2.GaussianBlur(mask, (0, 0), 4)[:, :, None]
    eyes = slice(box.top + box.height // 5, box.top + box.height // 2), slice(box.left, box.right)
    blurred_eyes = face.copy()
    blurred_eyes[eyes] = cv2.GaussianBlur(face[eyes], (0, 0), 4)
    background = cv2.resize(data.coffee(), FRAME_SIZE)
    height, width = face.shape[:2]
    top, left = (FRAME_SIZE[1] - height) // 2, (FRAME_SIZE[0] - width) // 2 - 10
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, FRAME_SIZE)
    for number in range(seconds * FPS):
        frame = background.astype(np.float32)
        pasted = face.astype(np.float32)
        if kind == "tone":
            pasted = pasted * (1 - mask) + pasted * mask * rng.uniform(0.8, 1.2)
        elif kind == "texture" and number % 2:
            pasted = blurred_eyes.astype(np.float32)
        if kind != "no face":
            shift = left + number // 2
            frame[top : top + height, shift : shift + width] = pasted
        frame += rng.normal(0, 2, frame.shape)
        writer.write(cv2.cvtColor(np.clip(frame, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    writer.release()
    return path.read_bytes()


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("videos")
    return {kind: _synthetic_video(folder / f"{kind.replace(' ', '_')}.mp4", kind)
            for kind in ("steady", "tone", "texture", "no face")}


def _measure(data: bytes, *indicators, options=base.DEFAULT_OPTIONS):
    context = MediaContext(data=data, options=options)
    return context, {result.name: result for result in run_indicators(context, list(indicators))}


# Face-region temporal flicker and identity flicker, on synthetic videos


def test_a_face_whose_tone_flickers_every_frame_fires_face_flicker(videos):
    _, results = _measure(videos["tone"], FaceTemporalFlicker())
    result = results["face_temporal_flicker"]
    assert result.score > 0.8
    assert result.evidence["tracks"][0]["windows"] >= face_flicker.MIN_WINDOWS
    assert result.evidence["tracks"][0]["frames_s"]  # which moments were compared


def test_a_face_whose_texture_changes_every_frame_fires_identity_flicker(videos):
    _, results = _measure(videos["texture"], IdentityFlicker(), FaceTemporalFlicker())
    assert results["identity_flicker"].score > 0.9
    assert results["identity_flicker"].value["per_track_median_jump"][0] > identity_flicker.REENCODE_FLOOR_HIGH
    # Blurring the eyes changes texture, not tone: the tone flicker stays silent.
    assert results["face_temporal_flicker"].score < 0.2


def test_a_steady_face_leaves_both_flicker_indicators_silent(videos):
    context, results = _measure(videos["steady"], IdentityFlicker(), FaceTemporalFlicker())
    assert results["identity_flicker"].score < 0.2
    assert results["face_temporal_flicker"].score < 0.2
    # Both read the one observation of the video, made once.
    assert results["identity_flicker"].evidence["video"] == results["face_temporal_flicker"].evidence["video"]
    assert context.video is not None and len(context.video.tracks) == 1
    assert not context.video.tracks[0].eye_openness  # the 68-point model was not allowed


def test_a_video_without_a_face_leaves_the_video_indicators_not_applicable(videos):
    _, results = _measure(videos["no face"], IdentityFlicker(), FaceTemporalFlicker())
    assert results["identity_flicker"].meaning == identity_flicker.NO_TRACK
    assert results["face_temporal_flicker"].meaning == face_flicker.NO_TRACK
    assert results["identity_flicker"].score is None


def test_video_indicators_step_aside_for_images_and_image_indicators_for_video(videos, astronaut_png):
    results = {result.name: result for result in measure_media(astronaut_png)}
    assert results["identity_flicker"].score is None
    assert results["identity_flicker"].meaning == base.WRONG_KIND.format(wanted="video", kind="image")
    _, results = _measure(videos["steady"], SpectrumHighFrequency())
    assert results["spectrum_high_frequency"].score is None


def test_a_damaged_video_is_read_once_and_leaves_the_video_indicators_not_applicable(videos):
    context, results = _measure(videos["steady"][: len(videos["steady"]) // 3], IdentityFlicker(),
                                FaceTemporalFlicker())
    for name in ("identity_flicker", "face_temporal_flicker"):
        assert results[name].score is None
        assert results[name].meaning.startswith(base.UNREADABLE.split("{")[0])
    assert context.video is None and context._video_error is not None


@pytest.fixture(scope="module")
def astronaut_png() -> bytes:
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    return buffer.getvalue()


# Blink rate (68-point model, non-commercial licence)


def _eyes_seen(blinks_at: list[float], seconds: float = 30.0, closed_for: float = 0.2) -> VideoFaceViews:
    """One face looked at ten times a second with open eyes (ratio 0.3), closed (0.1) at ``blinks_at``."""
    times = np.arange(0, seconds, 0.1)
    openness = [(float(t), 0.1 if any(start <= t < start + closed_for for start in blinks_at) else 0.3)
                for t in times]
    track = FaceTrackViews(track_id=1, anchors=[(0.0, None), (seconds, None)], eye_openness=openness)
    return VideoFaceViews(duration_s=seconds, fps=25.0, width=640, height=480, frames_read=750,
                          frames_looked_at=300, anchors=60, tracks=[track], eyes_measured=True, cpu_s=0.0)


def _blink(video: VideoFaceViews, options=ALLOWED):
    return BlinkRate().measure(MediaContext(data=MP4_HEAD, video=video, options=options))


def test_blink_rate_is_not_applicable_unless_noncommercial_models_are_allowed():
    result = _blink(_eyes_seen([]), options=base.DEFAULT_OPTIONS)
    assert result.score is None
    assert result.meaning == blink_rate.NOT_ALLOWED
    assert "non-commercial" in result.evidence["licence"]


def test_blink_rate_without_the_landmark_model_is_not_applicable():
    video = _eyes_seen([])
    video.eyes_measured = False
    assert _blink(video).meaning == blink_rate.MODEL_MISSING


def test_a_face_that_never_blinks_in_thirty_seconds_scores_high():
    result = _blink(_eyes_seen([]))
    assert result.score > 0.9
    assert result.evidence["tracks"][0]["blinks"] == 0
    assert result.evidence["licence"] == head_pose.LICENCE


def test_a_face_blinking_every_three_seconds_scores_zero():
    result = _blink(_eyes_seen([float(t) for t in range(1, 30, 3)]))
    assert result.value["per_track_per_minute"][0] == pytest.approx(20, abs=0.5)
    assert result.score < 0.01


def test_eyes_seen_for_under_ten_seconds_are_too_short_to_judge():
    assert _blink(_eyes_seen([], seconds=8.0)).meaning == blink_rate.TOO_SHORT


def test_long_closures_and_closures_that_cannot_be_timed_are_not_blinks():
    openness = [(t / 10, 0.3) for t in range(100)]
    openness[0] = (0.0, 0.1)  # closed when the looking starts
    openness[20:22] = [(2.0, 0.1), (2.1, 0.1)]  # a blink
    openness[40:50] = [(t / 10, 0.1) for t in range(40, 50)]  # eyes shut for a second
    openness[69] = (6.9, 0.1)  # closed as the face is lost ...
    openness[70:] = [(t / 10 + 5, 0.1 if t == 70 else 0.3) for t in range(70, 100)]  # ... and still after the gap
    found, observed = blink_rate.blinks(openness)
    assert [round(t, 1) for t, _ in found] == [2.0]
    assert observed == pytest.approx(9.8, abs=0.11)


@pytest.mark.skipif(head_pose.model_path() is None, reason="dlib's 68-point model is not installed")
def test_eye_openness_is_measured_when_asked(videos):
    watched = observe_video(videos["steady"], eyes=True)
    assert watched.eyes_measured
    ratios = [ratio for _, ratio in watched.tracks[0].eye_openness]
    assert len(ratios) >= 30 and 0.1 < np.median(ratios) < 0.5  # an open eye


# On the shared test data's FaceForensics++ pair (the same footage, genuine and swapped)


@pytest.fixture(scope="module")
def faceforensics(testdata) -> dict[str, VideoFaceViews]:
    eyes = head_pose.model_path() is not None
    return {label: observe_video(testdata / "video" / name, eyes=eyes)
            for label, name in (("original", "ffpp_original_519.mp4"), ("swap", "ffpp_deepfakes_519_515.mp4"))}


@pytest.mark.parametrize("indicator", [IdentityFlicker(), FaceTemporalFlicker(), BlinkRate()], ids=lambda i: i.name)
def test_the_faceforensics_swap_scores_above_its_original(faceforensics, indicator):
    if isinstance(indicator, BlinkRate) and not faceforensics["original"].eyes_measured:
        pytest.skip("dlib's 68-point model is not installed")
    scores = {label: indicator.measure(MediaContext(data=MP4_HEAD, video=video, options=ALLOWED)).score
              for label, video in faceforensics.items()}
    assert scores["swap"] > scores["original"] + 0.3


# The combined likelihood


def _labelled_rows(seed: int = 0, n: int = 40):
    """A signal that separates the labels, one that is noise, and one never measured on fakes."""
    rng = np.random.default_rng(seed)
    fake = [i % 4 == 0 for i in range(n)]
    rows = [{"telling": float(np.clip(rng.normal(0.7 if f else 0.3, 0.1), 0, 1)),
             "noise": float(rng.uniform()), "only_real": None if f else float(rng.uniform())} for f in fake]
    return rows, fake, {"telling": "1", "noise": "1", "only_real": "2"}


def _result(name: str, version: str, score: float | None):
    return base.IndicatorResult(name=name, version=version, value=None, score=score, evidence={}, meaning="m",
                                weaknesses="w")


def test_the_combined_likelihood_is_not_applicable_without_a_calibration(tmp_path):
    result = CombinedLikelihood(tmp_path / "absent.json").combine(MediaContext(data=b"x"),
                                                                  [_result("telling", "1", 0.9)])
    assert result.score is None
    assert result.meaning == combined.NO_CALIBRATION


# What the combined result quotes: a leave-one-source-out figure, its interval and a likelihood-ratio table.
HELD_OUT = {"auc": 0.87, "low": 0.83, "high": 0.9, "items": 480, "real": 276, "fake": 204,
            "method": "leave-one-source-out", "kinds": ["image"], "faceless": 0, "ratios": [[0.0, 1.0], [0.6, 3.0], [0.8, 12.0]],
            "per_source": {"FaceForensics++": {"auc": 0.57, "low": 0.31, "high": 0.83, "items": 20}}}


def _calibration(path, held_out=HELD_OUT, **options):
    rows, fake, versions = _labelled_rows()
    combined.fit_calibration(rows, fake, versions, data="synthetic rows", held_out=held_out, **options).save(path)
    return path


def test_a_calibration_round_trips_through_its_file(tmp_path):
    rows, fake, versions = _labelled_rows()
    calibration = combined.fit_calibration(rows, fake, versions, data="synthetic rows", held_out=HELD_OUT)
    path = tmp_path / "calibration.json"
    calibration.save(path)
    loaded = Calibration.load(path)
    assert loaded == calibration
    assert loaded.likelihood(rows[0]) == calibration.likelihood(rows[0])
    assert json.loads(path.read_text())["format"] == combined.FORMAT
    assert set(loaded.unused) == {"only_real"}  # never measured on a fake: it cannot be weighed


def test_the_combined_likelihood_shows_each_signals_contribution_and_its_validated_figure(tmp_path):
    path = _calibration(tmp_path / "calibration.json")
    signals = [_result("telling", "1", 0.9), _result("noise", "1", None)]
    result = CombinedLikelihood(path).combine(MediaContext(data=b"x"), signals)
    assert result.score > 0.8
    assert result.evidence["calibration_data"] == "synthetic rows"
    assert result.evidence["contributions"]["telling"]["contribution"] > 0
    assert result.evidence["contributions"]["noise"] == {**result.evidence["contributions"]["noise"],
                                                         "measured": False, "contribution": 0.0}
    assert "moderate evidence" in result.meaning  # from the held-out likelihood ratio (12), not the score alone
    assert "AUC 0.87 (95% interval 0.83–0.90; 480 items of synthetic rows, leave-one-source-out)" in result.meaning
    assert "12 times as often" in result.meaning and "face swaps" in result.meaning and "AUC 0.57" in result.meaning
    assert f"{result.score:.0%}" not in result.meaning and "cross_validated_auc" not in result.evidence


def test_the_combined_likelihood_is_not_applicable_when_its_held_out_figure_does_not_beat_chance(tmp_path):
    chance = {**HELD_OUT, "auc": 0.55, "low": 0.41, "high": 0.69}
    result = CombinedLikelihood(_calibration(tmp_path / "c.json", chance)).combine(
        MediaContext(data=b"x"), [_result("telling", "1", 0.9)])
    assert result.score is None
    assert result.meaning == combined.NO_BETTER_THAN_CHANCE.format(auc="0.55", low="0.41", high="0.69", items=480)
    unvalidated = CombinedLikelihood(_calibration(tmp_path / "u.json", None)).combine(
        MediaContext(data=b"x"), [_result("telling", "1", 0.9)])
    assert (unvalidated.score, unvalidated.meaning) == (None, combined.NOT_VALIDATED)


def test_a_calibration_that_weighs_a_noncommercial_signal_is_not_applied_where_such_models_are_not_allowed(tmp_path):
    path = _calibration(tmp_path / "calibration.json", allow_noncommercial_models=True)
    signals = [_result("telling", "1", 0.9)]
    refused = CombinedLikelihood(path).combine(MediaContext(data=b"x"), signals)
    assert (refused.score, refused.meaning) == (None, combined.NEEDS_NONCOMMERCIAL)
    allowed = MediaContext(data=b"x", options=IndicatorOptions(allow_noncommercial_models=True))
    assert CombinedLikelihood(path).combine(allowed, signals).applicable


def test_the_combined_meaning_says_when_media_is_unlike_what_its_figure_was_measured_on():
    evidence = {"held_out": HELD_OUT, "contributions": {"telling": {"contribution": 1.0}}}
    video = combined.meaning_of(0.9, {**evidence, "media": {"kind": "video"}})
    no_face = combined.meaning_of(0.9, {**evidence, "media": {"kind": "image", "faces": 0}})
    faces = combined.meaning_of(0.9, {**evidence, "media": {"kind": "image", "faces": 1}})
    assert combined.UNLIKE_VIDEO in video and combined.UNLIKE_NO_FACE in no_face
    assert combined.UNLIKE_VIDEO not in faces and combined.UNLIKE_NO_FACE not in faces
    with_faceless = combined.meaning_of(0.9, {**evidence, "held_out": {**HELD_OUT, "faceless": 300},
                                              "media": {"kind": "image", "faces": 0}})
    assert combined.UNLIKE_NO_FACE not in with_faceless


def test_the_combined_likelihood_is_not_applied_with_a_calibration_of_other_indicator_versions(tmp_path):
    path = _calibration(tmp_path / "calibration.json")
    result = CombinedLikelihood(path).combine(MediaContext(data=b"x"), [_result("telling", "2", 0.9)])
    assert result.score is None
    assert result.meaning == combined.STALE.format(names="telling")


def test_the_combined_likelihood_is_not_applicable_when_no_weighed_signal_was_measured(tmp_path):
    path = _calibration(tmp_path / "calibration.json")
    result = CombinedLikelihood(path).combine(MediaContext(data=b"x"), [_result("telling", "1", None)])
    assert result.meaning == combined.NOTHING_MEASURED


def test_evaluate_indicators_fit_writes_a_calibration_the_combined_likelihood_reads(tmp_path):
    from django.core.management import call_command
    from skimage import data

    from tests.engine.test_indicators import _power_law_image, _transposed_convolution_upsample

    for label in ("real", "fake"):
        (tmp_path / label).mkdir()
    for number in range(3):  # natural spectra against up-sampled ones: the spectrum tells them apart
        Image.fromarray(_power_law_image(256, seed=number)).save(tmp_path / "real" / f"{number}.png")
        upsampled = _transposed_convolution_upsample(_power_law_image(128, seed=10 + number)[:, :, 0])
        Image.fromarray(upsampled).save(tmp_path / "fake" / f"{number}.png")
    path = tmp_path / "calibration.json"
    output = io.StringIO()
    call_command("evaluate_indicators", "--real", str(tmp_path / "real"), "--fake", str(tmp_path / "fake"),
                 "--fit", str(path), stdout=output)
    text = output.getvalue()
    assert "combined_likelihood (logistic regression" in text
    assert "leave-one-source-out (items of unknown source: leave-one-out)" in text  # no source named: each its own
    assert "(3 genuine, 3 fake), of 3 real and 3 fake items" in text
    assert "Prepared: every image re-encoded as a 256×256 JPEG" in text
    calibration = Calibration.load(path)
    assert (calibration.real, calibration.fake) == (3, 3)
    assert calibration.held_out["method"].startswith("leave-one-source-out") and calibration.held_out["items"] == 6
    assert [signal.name for signal in calibration.signals] == ["spectrum_high_frequency"]
    coffee = io.BytesIO()
    Image.fromarray(data.coffee()).save(coffee, format="PNG")
    results = {r.name: r for r in run_indicators(MediaContext(data=coffee.getvalue()),
                                                 [SpectrumHighFrequency(), CombinedLikelihood(path)])}
    assert results["combined_likelihood"].applicable
    assert results["combined_likelihood"].evidence["calibrated_on"] == {"real": 3, "fake": 3}


def test_bench_indicators_reports_cpu_seconds_per_indicator(tmp_path):
    from skimage import data

    path = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    bench = evaluation.bench_indicators(path, size=(320, 240), repeat=1)
    assert bench["size"] == "320x240"
    assert set(bench["indicators_cpu_s"]) >= {"spectrum_high_frequency", "sd_invisible_watermark"}
    assert "combined_likelihood" not in bench["indicators_cpu_s"]
    assert bench["total_indicators_cpu_s"] >= 0
