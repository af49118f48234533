"""Figures that cannot flatter (detection/engine/indicators/validation.py): leave-one-source-out, bootstrap
intervals, and images re-encoded alike."""

import io

import numpy as np
from PIL import Image

from detection.engine.indicators import combined, validation
from detection.engine.media import decode_image


def _sources(seed: int = 0, per_source: int = 20):
    """Four sources with both labels. ``telling`` separates the labels in every source; ``quirk_<source>`` marks
    the fakes of that source only (say, the tool that wrote them) and is noise in every other source."""
    rng = np.random.default_rng(seed)
    rows, fake, groups = [], [], []
    for group in "ABCD":
        for i in range(per_source):
            is_fake = i % 2 == 1
            row = {"telling": float(np.clip(rng.normal(0.65 if is_fake else 0.35, 0.1), 0, 1))}
            for quirk in "ABCD":
                row[f"quirk_{quirk}"] = float(is_fake) if quirk == group else float(rng.uniform())
            rows.append(row)
            fake.append(is_fake)
            groups.append(group)
    return rows, fake, groups


def _combined_held_out(rows, fake, groups, versions):
    def fit(indices):
        return combined.fit_calibration([rows[i] for i in indices], [fake[i] for i in indices], versions, data="fold")

    return validation.held_out_scores(groups, fake, fit, lambda model, i: model.likelihood(rows[i]))


def test_leave_one_source_out_never_scores_an_item_with_a_model_fitted_on_its_source():
    rows, fake, groups = _sources()
    fitted_on = {}

    def fit(indices):
        model = len(fitted_on)
        fitted_on[model] = {groups[i] for i in indices}
        return model

    scored_by = {}

    def score(model, i):
        scored_by[i] = model
        return 0.5

    validation.held_out_scores(groups, fake, fit, score)
    assert len(scored_by) == len(rows)
    assert all(groups[i] not in fitted_on[model] for i, model in scored_by.items())
    assert all(fitted_on[model] == set("ABCD") - {groups[i]} for i, model in scored_by.items())


def test_quirks_of_each_source_tell_the_labels_in_sample_but_not_on_a_source_left_out():
    rows, fake, groups = _sources()
    quirks = [{name: value for name, value in row.items() if name.startswith("quirk")} for row in rows]
    versions = {f"quirk_{group}": "1" for group in "ABCD"}
    fitted_on_all = combined.fit_calibration(quirks, fake, versions, data="all")
    in_sample = [fitted_on_all.likelihood(row) for row in quirks]
    assert validation.pooled_figure(in_sample, fake).auc > 0.85
    held_out = _combined_held_out(quirks, fake, groups, versions)
    assert validation.pooled_figure(held_out, fake).auc < 0.8  # what only one source shows does not carry over
    telling = _combined_held_out([{"telling": row["telling"]} for row in rows], fake, groups, {"telling": "1"})
    assert validation.pooled_figure(telling, fake).auc > 0.9  # what every source shows does


def test_sources_that_cannot_be_trained_on_are_scored_by_one_model_fitted_on_every_trainable_source():
    groups = ["A"] * 4 + ["B"] * 4 + ["held"] * 4
    fake = [False, True] * 6
    fits = []
    scores = validation.held_out_scores(groups, fake, lambda indices: fits.append(set(indices)) or len(fits),
                                        lambda model, i: float(model), trainable=[g != "held" for g in groups])
    assert {frozenset(groups[i] for i in fit) for fit in fits} == {frozenset("B"), frozenset("A"), frozenset("AB")}
    assert len(set(scores[8:])) == 1  # every held-out item by the same model
    assert all(not any(groups[i] == "held" for i in fit) for fit in fits)


def test_an_item_is_not_scored_when_what_is_left_to_fit_on_holds_one_label():
    scores = validation.held_out_scores(["real"] * 3 + ["fake"] * 3, [False] * 3 + [True] * 3,
                                        lambda indices: object(), lambda model, i: 0.5)
    assert np.isnan(scores).all()


def test_a_fake_only_source_is_judged_against_the_sources_holding_only_genuine_media():
    groups = ["faces"] * 4 + ["stylegan2"] * 2 + ["mixed"] * 4
    fake = [False] * 4 + [True] * 2 + [False, False, True, True]
    scores = [0.1, 0.2, 0.3, 0.4, 0.9, 0.35, 0.1, 0.2, 0.3, 0.4]
    figures = validation.source_figures(scores, groups, fake)
    assert set(figures) == {"stylegan2", "mixed"}
    assert (figures["stylegan2"].real, figures["stylegan2"].fake) == (4, 2)
    assert figures["stylegan2"].auc == validation.auc([0.1, 0.2, 0.3, 0.4], [0.9, 0.35])
    assert figures["stylegan2"].note == validation.AGAINST_GENUINE_ONLY
    assert figures["mixed"].auc == 1.0


def test_the_bootstrap_interval_holds_the_auc_and_narrows_with_more_items():
    rng = np.random.default_rng(1)

    def width(n):
        real, fake = rng.normal(0, 1, n), rng.normal(1, 1, n)
        result = validation.figure(real, fake)
        assert result.low <= result.auc <= result.high
        return result.high - result.low

    assert width(200) < width(15)
    assert validation.figure([0.1, 0.2], [0.8, 0.9]).as_dict() == {
        "auc": 1.0, "low": 1.0, "high": 1.0, "real": 2, "fake": 2, "note": "", "items": 4}
    assert validation.figure([], [0.5]).auc is None


def test_png_and_jpeg_of_any_size_come_out_as_the_same_format_and_size():
    rng = np.random.default_rng(2)
    big_png, small_jpeg = io.BytesIO(), io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (1024, 1024, 3), dtype=np.uint8)).save(big_png, format="PNG")
    Image.fromarray(rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(small_jpeg, format="JPEG", quality=70)
    prepared = [validation.neutral_format(decode_image(data.getvalue()).rgb) for data in (big_png, small_jpeg)]
    for data in prepared:
        assert data[:3] == b"\xff\xd8\xff"
        image = Image.open(io.BytesIO(data))
        assert (image.format, image.size) == ("JPEG", (256, 256))
        assert image.info.get("exif") is None
    tables = [Image.open(io.BytesIO(data)).quantization for data in prepared]
    assert tables[0] == tables[1]  # the same quality: compression cannot tell them apart either


def test_embeddings_are_kept_between_runs_under_the_encoders_hash(tmp_path):
    path = tmp_path / "embeddings.npz"
    cache = validation.EmbeddingCache(path, "encoder-a")
    key = cache.key(b"image bytes")
    cache.put(key, np.arange(4, dtype=float))
    cache.save()
    assert np.array_equal(validation.EmbeddingCache(path, "encoder-a").get(key), np.arange(4))
    other = validation.EmbeddingCache(path, "encoder-b")
    assert other.get(other.key(b"image bytes")) is None
