"""Figures that cannot flatter: AUC with a bootstrap interval, measured on sources a model was not fitted to,
on images whose file format cannot give their label away.

Three ways an accuracy figure lies, and what is done about each here:

- *In-sample*: a model scored on the items it was fitted on. Every fitted figure here is leave-one-source-out:
  for each source (a generator, a data set), fit on every other source and score the one left out
  (``held_out_scores``). A source no model is fitted to (a held-out generator) is scored by the model fitted on
  everything trainable.
- *Format*: in the shared test set the fakes are PNGs or small JPEG crops and the genuine photos larger camera
  JPEGs, so anything that reads compression or size "detects" the label. ``neutral_format`` re-encodes every
  image the same way (a 256×256 centre crop, JPEG quality 90) before any indicator sees it.
- *Luck*: with a few dozen items an AUC moves by 0.1 when one item changes rank, so each comes with a
  stratified bootstrap 95% interval (genuine and fake items resampled separately; the models stay fixed).

A source holding only fakes (the StyleGAN2 faces) is judged against the genuine items of the sources that hold
only genuine media (the shared set's face photos), and says so.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

NEUTRAL_SIDE, NEUTRAL_QUALITY = 256, 90
PREPARATION = (f"every image re-encoded as a {NEUTRAL_SIDE}×{NEUTRAL_SIDE} JPEG of quality {NEUTRAL_QUALITY} "
               f"(shortest side resized to {NEUTRAL_SIDE} by area averaging, centre crop), so that file format and "
               "size cannot give a label away; videos as they are")
AS_IS = "every file as it is (format and size may give labels away)"
BOOTSTRAP_ROUNDS = 2000
STYLEGAN2 = "stylegan2"  # the shared set's PNG source, reported with and without
FACE_SWAPS = "FaceForensics++"  # the shared set's face-swap crops: the pages quote their figure beside the pooled one
AGAINST_GENUINE_ONLY = "fakes against the genuine items of sources holding only genuine media"


def auc(real: Sequence[float], fake: Sequence[float]) -> float | None:
    """Mann–Whitney AUC with mid-ranks for ties: P(fake > real) + ½ P(fake = real)."""
    if len(real) == 0 or len(fake) == 0:
        return None
    scores = np.concatenate([np.asarray(real, dtype=float), np.asarray(fake, dtype=float)])
    ranks = _mid_ranks(scores)
    fake_ranks = ranks[len(real):].sum()
    return float((fake_ranks - len(fake) * (len(fake) + 1) / 2) / (len(fake) * len(real)))


def _mid_ranks(scores: np.ndarray) -> np.ndarray:
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    values, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    if len(values) < len(scores):  # ties share the mean of their ranks
        ranks = (np.bincount(inverse, weights=ranks) / counts)[inverse]
    return ranks


def bootstrap_interval(real: Sequence[float], fake: Sequence[float], *, rounds: int = BOOTSTRAP_ROUNDS,
                       seed: int = 0) -> tuple[float, float] | None:
    """The 2.5th and 97.5th percentiles of the AUC over ``rounds`` stratified resamples (genuine and fake items
    each drawn with replacement to their own count)."""
    real, fake = np.asarray(real, dtype=float), np.asarray(fake, dtype=float)
    if len(real) == 0 or len(fake) == 0:
        return None
    rng = np.random.default_rng(seed)
    values = np.array([auc(rng.choice(real, len(real)), rng.choice(fake, len(fake))) for _ in range(rounds)])
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


@dataclass(frozen=True)
class Figure:
    """An AUC, its bootstrap 95% interval and how many items it rests on."""

    auc: float | None
    low: float | None
    high: float | None
    real: int
    fake: int
    note: str = ""

    @property
    def items(self) -> int:
        return self.real + self.fake

    def as_dict(self) -> dict:
        rounded = {key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()}
        return {**rounded, "items": self.items}

    def text(self) -> str:
        if self.auc is None:
            return f"—  ({self.real} genuine, {self.fake} fake)"
        return (f"{self.auc:.2f} [{self.low:.2f}–{self.high:.2f}]  ({self.real} genuine, {self.fake} fake"
                f"{'; ' + self.note if self.note else ''})")


def figure(real: Sequence[float], fake: Sequence[float], *, note: str = "", seed: int = 0) -> Figure:
    real = [value for value in real if value is not None and not np.isnan(value)]
    fake = [value for value in fake if value is not None and not np.isnan(value)]
    interval = bootstrap_interval(real, fake, seed=seed)
    return Figure(auc(real, fake), *(interval or (None, None)), real=len(real), fake=len(fake), note=note)


def held_out_scores(groups: Sequence[str], fake: Sequence[bool], fit: Callable[[np.ndarray], object],
                    score: Callable[[object, int], float], *, trainable: Sequence[bool] | None = None) -> np.ndarray:
    """Each item's score from a model fitted without its source: leave-one-source-out.

    ``fit(indices)`` fits a model on those items (or returns None when it cannot); ``score(model, i)`` scores item
    ``i`` (NaN where the model does not apply). Only ``trainable`` items are ever fitted on (default: all); the
    items of a source with no trainable member are all scored by one model fitted on every trainable item. NaN
    where the items left to fit on do not hold both labels."""
    groups, fake = list(groups), np.asarray(fake, dtype=bool)
    trainable = np.ones(len(groups), dtype=bool) if trainable is None else np.asarray(trainable, dtype=bool)
    scores = np.full(len(groups), np.nan)
    models: dict[str | None, object] = {}
    for group in dict.fromkeys(groups):
        members = [i for i, g in enumerate(groups) if g == group]
        left_out = group if trainable[members].any() else None  # None: the model fitted on every trainable item
        if left_out not in models:
            training = np.flatnonzero(trainable & np.array([g != left_out for g in groups]))
            both = len(set(fake[training].tolist())) == 2
            models[left_out] = fit(training) if both else None
        model = models[left_out]
        if model is not None:
            for i in members:
                scores[i] = score(model, i)
    return scores


def source_figures(scores: Sequence[float], groups: Sequence[str], fake: Sequence[bool]) -> dict[str, Figure]:
    """AUC per source: within the source where it holds both labels; a source of fakes only against the genuine
    items of the sources holding only genuine media (noted). Sources of genuine media only have no row."""
    scores, fake = np.asarray(scores, dtype=float), np.asarray(fake, dtype=bool)
    labels: dict[str, set[bool]] = {}
    for group, label in zip(groups, fake, strict=True):
        labels.setdefault(group, set()).add(bool(label))
    genuine_only = [i for i, group in enumerate(groups) if labels[group] == {False}]
    figures = {}
    for group, held in labels.items():
        members = [i for i, g in enumerate(groups) if g == group]
        if held == {False, True}:
            figures[group] = figure(scores[[i for i in members if not fake[i]]],
                                    scores[[i for i in members if fake[i]]])
        elif held == {True} and genuine_only:
            figures[group] = figure(scores[genuine_only], scores[members], note=AGAINST_GENUINE_ONLY)
    return figures


def pooled_figure(scores: Sequence[float], fake: Sequence[bool], keep: Sequence[bool] | None = None) -> Figure:
    scores, fake = np.asarray(scores, dtype=float), np.asarray(fake, dtype=bool)
    keep = np.ones(len(scores), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    return figure(scores[keep & ~fake], scores[keep & fake])


def neutral_format(rgb: np.ndarray) -> bytes:
    """The picture as every evaluated image is prepared (``PREPARATION``): JPEG bytes of a 256×256 centre crop."""
    import cv2
    from PIL import Image

    height, width = rgb.shape[:2]
    scale = NEUTRAL_SIDE / min(height, width)
    size = (max(NEUTRAL_SIDE, round(width * scale)), max(NEUTRAL_SIDE, round(height * scale)))
    if size != (width, height):
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (rgb.shape[0] - NEUTRAL_SIDE) // 2, (rgb.shape[1] - NEUTRAL_SIDE) // 2
    square = np.ascontiguousarray(rgb[top : top + NEUTRAL_SIDE, left : left + NEUTRAL_SIDE, :3])
    buffer = io.BytesIO()
    Image.fromarray(square).save(buffer, format="JPEG", quality=NEUTRAL_QUALITY)
    return buffer.getvalue()


class EmbeddingCache:
    """Image embeddings kept in a file between runs (key: SHA-256 of the bytes scored, and the encoder's hash), so
    repeated evaluations on a small shared machine encode each image once."""

    def __init__(self, path: Path | None, encoder: str):
        self.path, self.encoder = path, encoder
        self.entries: dict[str, np.ndarray] = {}
        self.changed = False
        if path is not None and Path(path).is_file():
            with np.load(path) as stored:
                self.entries = {key: stored[key] for key in stored.files}

    def key(self, data: bytes, detail: str = "") -> str:
        return hashlib.sha256(self.encoder.encode() + data + detail.encode()).hexdigest()

    def get(self, key: str) -> np.ndarray | None:
        return self.entries.get(key)

    def put(self, key: str, embedding: np.ndarray) -> None:
        if key not in self.entries:
            self.entries[key] = np.asarray(embedding, dtype=np.float32)
            self.changed = True

    def save(self) -> None:
        if self.path is not None and self.changed:
            temporary = Path(f"{self.path}.partial.npz")
            np.savez(temporary, **self.entries)
            temporary.replace(self.path)
            self.changed = False


# Strength of evidence as forensic scientists word a likelihood ratio (ENFSI guideline, 2015, verbal scale, coarsened):
# how many times more often fakes than genuine items scored at least this high where the model had not been fitted.
STRENGTH_SCALE = ((100.0, "strong"), (10.0, "moderate"), (2.0, "weak"), (0.0, "no"))
TABLE_POINTS = 20  # thresholds: quantiles of the held-out scores


def likelihood_ratio_table(scores: Sequence[float], fake: Sequence[bool]) -> list[list[float]]:
    """[threshold, ratio] pairs, thresholds rising: ratio = P(score ≥ threshold | fake) / P(score ≥ threshold | genuine)
    over held-out scores, each count plus ½ (so that no threshold claims an infinite ratio from a few dozen items)."""
    scores, fake = np.asarray(scores, dtype=float), np.asarray(fake, dtype=bool)
    kept = ~np.isnan(scores)
    scores, fake = scores[kept], fake[kept]
    if not fake.any() or fake.all():
        return []
    thresholds = np.unique(np.quantile(scores, np.linspace(0, 1, TABLE_POINTS + 1)[:-1]))
    ratios = [((scores[fake] >= threshold).sum() + 0.5) / (fake.sum() + 1)
              / (((scores[~fake] >= threshold).sum() + 0.5) / ((~fake).sum() + 1)) for threshold in thresholds]
    # Running maximum: a higher score never reads as weaker evidence because of a few items' ranks.
    return [[round(float(threshold), 6), round(float(ratio), 3)]
            for threshold, ratio in zip(thresholds, np.maximum.accumulate(ratios), strict=True)]


def likelihood_ratio(score: float, table: Sequence[Sequence[float]]) -> float | None:
    """The ratio of the highest threshold the score reaches (the lowest threshold's below it); None without a table."""
    if not table:
        return None
    reached = [ratio for threshold, ratio in table if score >= threshold]
    return reached[-1] if reached else table[0][1]


def strength_of(ratio: float) -> str:
    return next(word for floor, word in STRENGTH_SCALE if ratio >= floor)
