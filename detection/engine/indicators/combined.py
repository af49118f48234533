"""The combined view: one likelihood from the per-signal scores, calibrated on labelled data, with
every signal's contribution shown and the data it was calibrated on named.

A logistic regression over the indicators' scores, written in numpy. Each score is standardised
with the mean and spread it had on the calibration data where it applied; a signal that does not
apply to a media item (or could not be measured) stands at its mean there, so it adds nothing
rather than counting as "no sign of a fake". Classes are weighted equally, so 50% means "the signals
point neither way", whatever the share of fakes in the calibration data. An L2 penalty (``PENALTY``,
fixed beforehand, not tuned on the data it is judged on) keeps weights small on this little data.

The coefficients live in calibration.json next to this module, written by ``manage.py evaluate_indicators
--testdata --ranking DIR --allow-noncommercial-models --fit``, with the figure the pages quote: the AUC measured
leave-one-source-out (each source scored by a calibration fitted on the others; validation.py), never an
in-sample one. The combined result is "not applicable" without that file, when it was fitted on other versions
of the indicators, when that figure does not beat chance, and when it weighs the learned probe (non-commercial
data) where the deployment has not allowed such models: a combination that was not shown to hold on unseen
sources would claim more than was measured.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from detection.engine.errors import gettext_noop
from detection.engine.indicators import validation
from detection.engine.indicators.base import (
    IMAGE,
    VIDEO,
    CombiningIndicator,
    IndicatorResult,
    MediaContext,
    register,
)
from detection.engine.media import MediaError

CALIBRATION_PATH = Path(__file__).with_name("calibration.json")
FORMAT = 2  # 2: the validated figure is leave-one-source-out (``held_out``), no longer an all-sources cross-validation
PENALTY = 1.0  # L2 on the standardised weights, against a class-weighted log-likelihood summed over items
MIN_APPLIED_PER_CLASS = 2  # a signal seen on fewer real or fake items cannot be weighed
NEWTON_STEPS = 50

NO_CALIBRATION = gettext_noop(
    "No calibration has been fitted, so the signals are not combined into one likelihood; read each signal on its own.")
STALE = gettext_noop(
    "The calibration was fitted on other versions of these indicators ({names}), so the signals are not combined; "
    "read each signal on its own.")
NOTHING_MEASURED = gettext_noop(
    "None of the calibrated signals could be measured on this media, so there is nothing to combine.")
NOT_WEIGHED = gettext_noop(
    "The calibration weighs none of the signals measured on this media ({names}): its labelled data held too few "
    "items where they apply. Read each signal on its own.")
UNREADABLE_CALIBRATION = gettext_noop("The calibration file cannot be read ({error}); the signals are not combined.")
MEANING = gettext_noop(
    # xgettext:no-python-format ("95% i" is not a %-format: the string is filled by str.format)
    "Combined, the calibrated signals are {strength} evidence that this media was manipulated or generated (largest "
    "contributions: {leading}); this is not a probability. Scored on sources it was not fitted to, it separated fakes "
    "with AUC {auc} (95% interval {low}–{high}; {items} items of {data}, leave-one-source-out).")
NEEDS_NONCOMMERCIAL = gettext_noop(
    "The calibration weighs a signal licensed for non-commercial use only, which this deployment has not allowed, "
    "so the signals are not combined; read each signal on its own.")
NOT_VALIDATED = gettext_noop(
    "The calibration carries no figure measured on sources it was not fitted to, so the signals are not combined; "
    "read each signal on its own.")
NO_BETTER_THAN_CHANCE = gettext_noop(
    # xgettext:no-python-format ("95% i" is not a %-format: the string is filled by str.format)
    "Scored on sources it was not fitted to, the combination separated fakes with AUC {auc} (95% interval "
    "{low}–{high}, {items} items, leave-one-source-out): no better than chance, so the signals are not combined; "
    "read each signal on its own.")
# Results stored before the calibration carried its own leave-one-source-out figure are shown with the figure measured
# for issue 15 outside this project: a held-out set of GAN attribute edits, face swaps, StyleGAN faces and their
# genuine counterparts, scored leave-one-out.
HELD_OUT = "AUC 0.55 on 64 held-out faces (28 genuine, 36 fake)"
MEANING_EARLIER = gettext_noop(
    "Combined, the calibrated signals are {strength} evidence that this media was manipulated or generated (largest "
    "contributions: {leading}); this is not a probability. On faces from generators and sources it was not fitted to "
    "it separated fakes with {held_out}: no better than chance, so read the signals below instead.")
RATIO = gettext_noop(
    # xgettext:no-python-format ("95% i" is not a %-format: the string is filled by str.format)
    "On the items it was not fitted to, fakes reached a score this high {ratio} times as often as genuine media did.")
FACE_SWAPS = gettext_noop(
    # xgettext:no-python-format ("95% i" is not a %-format: the string is filled by str.format)
    "On face swaps (the shared test set's FaceForensics++ crops) it did less well: AUC {auc} (95% interval "
    "{low}–{high}, {items} images).")
UNLIKE_VIDEO = gettext_noop(
    "This media is a video; that figure was measured on still images, so it does not say how well the combination "
    "works here.")
UNLIKE_NO_FACE = gettext_noop(
    "No face was found in this image; that figure was measured on images with faces, so it does not say how well "
    "the combination works here.")
TOWARDS_FAKE = gettext_noop("{name} (towards fake)")
TOWARDS_GENUINE = gettext_noop("{name} (towards genuine)")
AND = gettext_noop("{first} and {second}")
NO_SINGLE_SIGNAL = gettext_noop("no single signal")
# Strength of evidence in words, from how far a score leans towards "fake" (0.5 leans neither way). Words rather than
# a percentage: a caseworker or a court reads a percentage as a probability for the media in the case, which a model
# fitted on a few hundred items from a handful of sources cannot give. Whole phrases, so each translates as one.
# Results stored with a likelihood-ratio table (held_out["ratios"]) take the strength from it
# (validation.STRENGTH_SCALE); these thresholds on the score itself are for results stored before.
STRENGTHS = ((0.9, "strong"), (0.7, "moderate"), (0.5, "weak"), (0.0, "no"))
STRENGTH_WORDS = {"strong": gettext_noop("strong"), "moderate": gettext_noop("moderate"), "weak": gettext_noop("weak"),
                  "no": gettext_noop("no")}


def evidence_strength(score: float) -> str:
    """"strong", "moderate", "weak" or "no" evidence of manipulation, for a score in [0, 1]."""
    return next(word for floor, word in STRENGTHS if score >= floor)


def strength_words(score: float, translate=lambda message: message, evidence: dict | None = None) -> str:
    """The strength in words: from the likelihood ratio measured on held-out items where the stored evidence has its
    table (validation.likelihood_ratio_table), else from how far the score leans (results stored before)."""
    table = ((evidence or {}).get("held_out") or {}).get("ratios")
    word = validation.strength_of(validation.likelihood_ratio(score, table)) if table else evidence_strength(score)
    return translate(STRENGTH_WORDS[word])


def ratio_sentence(score: float, held_out: dict, translate=lambda message: message) -> list[str]:
    """How much more often fakes than genuine items reached this score where the model was not fitted, if known."""
    ratio = validation.likelihood_ratio(score, held_out.get("ratios") or [])
    if ratio is None:
        return []
    return [translate(RATIO).format(ratio=f"{ratio:.1f}" if ratio < 10 else f"{ratio:.0f}")]


def meaning_of(score: float, evidence: dict, translate=lambda message: message) -> str:
    """The combined result's meaning in words, from its score and stored evidence, so results stored under an earlier
    wording are shown in the current one (``translate``: gettext on pages, for the reader's language)."""
    contributions = {name: entry.get("contribution", 0) for name, entry in evidence.get("contributions", {}).items()}
    largest = [name for name in sorted(contributions, key=lambda n: -abs(contributions[n])) if contributions[name]][:2]
    named = [translate(TOWARDS_FAKE if contributions[name] > 0 else TOWARDS_GENUINE).format(name=name)
             for name in largest]
    leading = (translate(AND).format(first=named[0], second=named[1]) if len(named) == 2
               else named[0] if named else translate(NO_SINGLE_SIGNAL))
    strength = strength_words(score, translate, evidence)
    held_out = evidence.get("held_out")
    if not held_out:
        return translate(MEANING_EARLIER).format(strength=strength, leading=leading, held_out=HELD_OUT)
    sentences = [translate(MEANING).format(strength=strength, leading=leading, auc=f"{held_out['auc']:.2f}",
                                           low=f"{held_out['low']:.2f}", high=f"{held_out['high']:.2f}",
                                           items=held_out["items"],
                                           data=evidence.get("calibration_data", "its calibration data"))]
    sentences += ratio_sentence(score, held_out, translate)
    swaps = held_out.get("per_source", {}).get(validation.FACE_SWAPS)
    if swaps and swaps.get("auc") is not None and swaps["auc"] < held_out["auc"]:
        sentences.append(translate(FACE_SWAPS).format(auc=f"{swaps['auc']:.2f}", low=f"{swaps['low']:.2f}",
                                                      high=f"{swaps['high']:.2f}", items=swaps["items"]))
    media = evidence.get("media", {})
    if media.get("kind") == VIDEO and VIDEO not in held_out.get("kinds", [IMAGE]):
        sentences.append(translate(UNLIKE_VIDEO))
    elif media.get("faces") == 0 and not held_out.get("faceless"):
        sentences.append(translate(UNLIKE_NO_FACE))
    return " ".join(sentences)


WEAKNESSES = gettext_noop(
    "Calibrated on a few dozen labelled items from a handful of sources (re-encoded alike, so that file format and "
    "size cannot give a label away), so the weights partly learn how those sources differ rather than what makes "
    "media fake; its figure is the one measured on sources left out of the fit, and it is not a general detector. "
    "Its score is not a probability for the media in a case; fakes and genuine media are weighed as if equally "
    "common. It inherits every weakness of the signals it combines; a signal that could not be measured adds "
    "nothing either way. Media made with methods absent from the calibration data (new generators, careful swaps) "
    "can score low.")


@dataclass(frozen=True)
class CalibratedSignal:
    name: str
    version: str
    mean: float  # of the score where it applied on the calibration data
    spread: float  # its standard deviation there
    weight: float  # per standard deviation; positive: a higher score points to a fake
    real_applied: int
    fake_applied: int


@dataclass(frozen=True)
class Calibration:
    signals: list[CalibratedSignal]
    intercept: float
    data: str  # names the calibration data, shown with every result
    real: int
    fake: int
    # The validated figure, leave-one-source-out: {"auc", "low", "high" (bootstrap 95% interval), "items", "method",
    # "preparation", "kinds" (of media scored), "faceless" (images scored with no face found)}; None when it could
    # not be measured. Pages quote this, never an in-sample figure; below 0.5 at its interval's low end, the
    # combined result is not applicable.
    held_out: dict | None = None
    penalty: float = PENALTY
    allow_noncommercial_models: bool = False
    unused: dict[str, str] = field(default_factory=dict)  # signal → why it has no weight

    def as_dict(self) -> dict:
        return {"format": FORMAT, **asdict(self)}

    def save(self, path: Path = CALIBRATION_PATH) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path = CALIBRATION_PATH) -> Calibration | None:
        """The calibration in ``path``, or None when there is none; raises ValueError when it is unreadable."""
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text())
            found = raw.pop("format")
            if found != FORMAT:
                raise ValueError(f"format {found} is not {FORMAT}")
            raw["signals"] = [CalibratedSignal(**signal) for signal in raw["signals"]]
            return cls(**raw)
        except (KeyError, TypeError, json.JSONDecodeError) as error:
            raise ValueError(f"{type(error).__name__}: {error}") from error

    def contributions(self, scores: dict[str, float | None]) -> dict[str, float]:
        """Each weighted signal's push on the log-odds; 0 where it was not measured."""
        found = {}
        for signal in self.signals:
            score = scores.get(signal.name)
            found[signal.name] = 0.0 if score is None else signal.weight * (score - signal.mean) / signal.spread
        return found

    def applies(self, scores: dict[str, float | None]) -> bool:
        """Whether any weighed signal was measured: otherwise the likelihood would only restate the prior."""
        return any(scores.get(signal.name) is not None for signal in self.signals)

    def likelihood(self, scores: dict[str, float | None]) -> float:
        return float(_sigmoid(self.intercept + sum(self.contributions(scores).values())))


def _media(context: MediaContext) -> dict:
    """What kind of media this is, against what the validated figure was measured on (still images of faces)."""
    if context.kind != IMAGE:
        return {"kind": context.kind}
    try:
        return {"kind": IMAGE, "faces": len(context.face_boxes())}
    except MediaError:  # a face count it cannot have is left out, never a reason to lose the combined result
        return {"kind": IMAGE}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_logistic(features: np.ndarray, labels: np.ndarray, *, penalty: float = PENALTY) -> tuple[np.ndarray, float]:
    """Weights and intercept of an L2-penalised logistic regression, classes weighted equally,
    by Newton's method (the problem is convex and small). The intercept is not penalised."""
    n, d = features.shape
    positives = labels.sum()
    sample_weight = np.where(labels == 1, n / (2 * max(positives, 1)), n / (2 * max(n - positives, 1)))
    design = np.column_stack([features, np.ones(n)])
    ridge = np.diag([penalty] * d + [0.0])
    beta = np.zeros(d + 1)
    for _ in range(NEWTON_STEPS):
        p = _sigmoid(design @ beta)
        gradient = design.T @ (sample_weight * (p - labels)) + ridge @ beta
        hessian = (design * (sample_weight * p * (1 - p))[:, None]).T @ design + ridge + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:d], float(beta[d])


def fit_calibration(rows: list[dict[str, float | None]], fake: list[bool], versions: dict[str, str], *,
                    data: str, penalty: float = PENALTY, held_out: dict | None = None,
                    allow_noncommercial_models: bool = False) -> Calibration:
    """A calibration from each item's scores (signal name → score, None where not applicable)."""
    labels = np.array(fake, dtype=float)
    signals, unused, columns = [], {}, []
    for name in sorted(versions):
        present = [(row.get(name), label) for row, label in zip(rows, fake, strict=True) if row.get(name) is not None]
        real_applied = sum(not label for _, label in present)
        fake_applied = sum(label for _, label in present)
        values = np.array([score for score, _ in present], dtype=float)
        if min(real_applied, fake_applied) < MIN_APPLIED_PER_CLASS:
            unused[name] = f"applied to {real_applied} genuine and {fake_applied} fake items"
            continue
        if values.std() == 0:
            unused[name] = f"the same score ({values[0]:g}) on every item"
            continue
        mean, spread = float(values.mean()), float(values.std())
        columns.append([0.0 if row.get(name) is None else (row[name] - mean) / spread for row in rows])
        signals.append(CalibratedSignal(name, versions[name], mean, spread, 0.0, real_applied, fake_applied))
    matrix = np.array(columns, dtype=float).T if columns else np.zeros((len(rows), 0))
    weights, intercept = fit_logistic(matrix, labels, penalty=penalty)
    signals = [CalibratedSignal(**{**asdict(signal), "weight": float(weight)})
               for signal, weight in zip(signals, weights, strict=True)]
    return Calibration(signals=signals, intercept=intercept, data=data, real=int((labels == 0).sum()),
                       fake=int(labels.sum()), held_out=held_out, penalty=penalty,
                       allow_noncommercial_models=allow_noncommercial_models, unused=unused)


@register
class CombinedLikelihood(CombiningIndicator):
    name = "combined_likelihood"
    version = "1"
    applies_to = frozenset({IMAGE, VIDEO})
    meaning = NO_CALIBRATION
    weaknesses = WEAKNESSES

    def __init__(self, calibration_path: Path = CALIBRATION_PATH):
        self.calibration_path = calibration_path

    def combine(self, context: MediaContext, results: list[IndicatorResult]) -> IndicatorResult:
        try:
            calibration = Calibration.load(self.calibration_path)
        except ValueError as error:
            return self.not_applicable(UNREADABLE_CALIBRATION.format(error=error))
        if calibration is None:
            return self.not_applicable(NO_CALIBRATION)
        if calibration.allow_noncommercial_models and not context.options.allow_noncommercial_models:
            return self.not_applicable(NEEDS_NONCOMMERCIAL, calibration_data=calibration.data)
        held_out = calibration.held_out
        if not held_out or held_out.get("low") is None or held_out["low"] <= 0.5:
            # A combination that does not beat chance on sources it was not fitted to would only lend a number's
            # authority to noise; the caseworker reads the signals instead.
            reason = NOT_VALIDATED if not held_out or held_out.get("auc") is None else NO_BETTER_THAN_CHANCE.format(
                auc=f"{held_out['auc']:.2f}", low=f"{held_out['low']:.2f}", high=f"{held_out['high']:.2f}",
                items=held_out["items"])
            return self.not_applicable(reason, calibration_data=calibration.data, held_out=held_out)
        by_name = {result.name: result for result in results}
        stale = sorted(signal.name for signal in calibration.signals
                       if signal.name in by_name and by_name[signal.name].version != signal.version)
        if stale:
            return self.not_applicable(STALE.format(names=", ".join(stale)), calibration_data=calibration.data)
        scores = {name: result.score for name, result in by_name.items()}
        if not calibration.applies(scores):
            unweighed = sorted(name for name in calibration.unused if scores.get(name) is not None)
            reason = NOT_WEIGHED.format(names=", ".join(unweighed)) if unweighed else NOTHING_MEASURED
            return self.not_applicable(reason, calibration_data=calibration.data, not_weighed=calibration.unused)
        contributions = calibration.contributions(scores)
        likelihood = calibration.likelihood(scores)
        per_signal = {signal.name: {"score": scores.get(signal.name), "weight": round(signal.weight, 4),
                                    "calibration_mean": round(signal.mean, 4),
                                    "contribution": round(contributions[signal.name], 4),
                                    "measured": scores.get(signal.name) is not None}
                      for signal in calibration.signals}
        evidence = {"contributions": per_signal, "intercept": round(calibration.intercept, 4),
                    "calibration_data": calibration.data, "calibrated_on": {"real": calibration.real,
                                                                             "fake": calibration.fake},
                    "held_out": calibration.held_out, "media": _media(context),
                    "not_weighed": calibration.unused, "model": "logistic regression, L2 penalty "
                                                               f"{calibration.penalty:g}, classes weighted equally"}
        return self.result(
            value={"likelihood": round(likelihood, 4),
                   "log_odds": round(float(np.log(likelihood / (1 - likelihood))), 3) if 0 < likelihood < 1 else None},
            score=likelihood, evidence=evidence,
            meaning=meaning_of(likelihood, evidence),
        )
