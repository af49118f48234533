"""How well each indicator separates labelled genuine media from fakes: AUC per indicator, and the
combined likelihood's AUC under cross-validation.

AUC is the Mann–Whitney statistic: the chance that a random fake scores above a random genuine
item (ties count half), over the items where the indicator applied; 0.5 is chance, below 0.5
means the indicator points the wrong way on this data. With the shared test data's 13 fakes an AUC
moves by about 0.1 when one item changes rank, and a video indicator's AUC rests on three videos.

The combined likelihood (combined.py) is judged only on items it was not fitted on: leave-one-out
cross-validation, each item's likelihood from a calibration fitted on all the others. Its
in-sample AUC would flatter it, so the combined indicator itself is never run here.

An AUC over mixed sources also measures how the sources differ (format, compression, size), not
only genuine versus fake. So samples may name a ``group`` (their source), and the report repeats
the table within every group that holds both labels: there both sides went through the same
processing.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detection.engine.indicators import combined
from detection.engine.indicators.base import (
    DEFAULT_OPTIONS,
    IndicatorOptions,
    MediaContext,
    run_indicators,
    signal_indicators,
)
from detection.engine.media import MediaError, decode_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".avi", ".m4v"}
COMBINED_TARGET_AUC = 0.85  # issue 4's target on the shared test data
# FaceForensics++ crops carry a 50-pixel border whose colour gives their label away.
FFPP_CROP = (50, 50, 306, 306)  # left, top, right, bottom


@dataclass(frozen=True)
class LabelledMedia:
    path: Path
    fake: bool
    crop: tuple[int, int, int, int] | None = None  # left, top, right, bottom
    group: str = ""  # the source, for within-source AUCs


@dataclass(frozen=True)
class IndicatorEvaluation:
    name: str
    version: str
    real_applied: int
    real_total: int
    fake_applied: int
    fake_total: int
    mean_real: float | None
    mean_fake: float | None
    auc: float | None  # None where either class has no applicable image


@dataclass(frozen=True)
class CombinedEvaluation:
    """The combined likelihood judged by cross-validation (never on the items it was fitted on)."""

    auc: float | None
    real_applied: int
    real: int
    fake_applied: int
    fake: int
    cross_validation: str
    # group → (AUC, real applied, real, fake applied, fake)
    groups: dict[str, tuple[float | None, int, int, int, int]] = field(default_factory=dict)
    weighed: list[str] = field(default_factory=list)  # signals with a weight in the fit on all items


@dataclass
class EvaluationReport:
    rows: list[IndicatorEvaluation]
    data: str
    groups: dict[str, list[IndicatorEvaluation]] = field(default_factory=dict)  # only groups with both labels
    unreadable: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    measured: list[tuple[LabelledMedia, dict[str, float | None]]] = field(default_factory=list, repr=False)
    versions: dict[str, str] = field(default_factory=dict)
    combined: CombinedEvaluation | None = None


def images_in(folder: Path) -> list[Path]:
    return sorted(path for path in Path(folder).rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES)


def media_in(folder: Path) -> list[Path]:
    return sorted(path for path in Path(folder).rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)


def samples_from_dirs(real_dirs: list[Path], fake_dirs: list[Path]) -> list[LabelledMedia]:
    return ([LabelledMedia(path, fake=False) for folder in real_dirs for path in media_in(folder)]
            + [LabelledMedia(path, fake=True) for folder in fake_dirs for path in media_in(folder)])


def testdata_samples(root: Path, *, videos: bool = True) -> list[LabelledMedia]:
    """The shared test data's labels: REAL = every photo under faces/, the FaceForensics++ originals
    and the videos labelled REAL; FAKE = the StyleGAN2 faces, the FaceForensics++ face swaps (crops
    cropped) and the videos labelled FAKE (video/labels.csv)."""
    samples = [LabelledMedia(path, fake=False, group="faces") for path in images_in(root / "faces")]
    with (root / "synthetic" / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            path = root / "synthetic" / row["file"]
            ffpp = row["file"].startswith("ffpp_crops/")
            samples.append(LabelledMedia(path, fake=row["label"].strip().upper() == "FAKE",
                                         crop=FFPP_CROP if ffpp else None,
                                         group="FaceForensics++" if ffpp else row["file"].split("/")[0]))
    video_labels = root / "video" / "labels.csv"
    if videos and video_labels.is_file():
        with video_labels.open(newline="") as handle:
            for row in csv.DictReader(handle):
                # The FaceForensics++ pair is one source (the same footage, genuine and swapped); the
                # other clips come from elsewhere and are grouped apart.
                group = "FaceForensics++ videos" if row["file"].startswith("ffpp_") else "other videos"
                samples.append(LabelledMedia(root / "video" / row["file"], fake=row["label"].strip().upper() == "FAKE",
                                             group=group))
    return samples


def auc(real: list[float], fake: list[float]) -> float | None:
    """Mann–Whitney AUC with mid-ranks for ties: P(fake > real) + ½ P(fake = real)."""
    if not real or not fake:
        return None
    scores = np.concatenate([np.asarray(real, dtype=float), np.asarray(fake, dtype=float)])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # ties share the mean of their ranks
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    fake_ranks = ranks[len(real):].sum()
    return float((fake_ranks - len(fake) * (len(fake) + 1) / 2) / (len(fake) * len(real)))


def _context(sample: LabelledMedia, options: IndicatorOptions) -> MediaContext:
    data = sample.path.read_bytes()
    rgb = None
    if sample.crop is not None:
        left, top, right, bottom = sample.crop
        rgb = np.ascontiguousarray(decode_image(data).rgb[top:bottom, left:right])
    # With a crop the byte-level indicators still read the original file's metadata; the
    # FaceForensics++ crops of both labels were written by the same tool, so that gives nothing away.
    return MediaContext(data=data, rgb=rgb, options=options)


def evaluate_samples(samples: list[LabelledMedia], *, options: IndicatorOptions = DEFAULT_OPTIONS,
                     data: str = "", folds: int | None = None) -> EvaluationReport:
    """Every signal indicator on every sample, each one's AUC, and the combined likelihood's AUC by
    leave-one-out (or ``folds``-fold) cross-validation."""
    started = time.perf_counter()
    indicators = signal_indicators()
    measured: list[tuple[LabelledMedia, dict[str, float | None]]] = []
    unreadable = {}
    for sample in samples:
        try:
            results = run_indicators(_context(sample, options), indicators)
        except (MediaError, OSError) as error:
            unreadable[str(sample.path)] = getattr(error, "reason", str(error))
            continue
        measured.append((sample, {result.name: result.score for result in results}))
    groups = {}
    for group in sorted({sample.group for sample, _ in measured if sample.group}):
        members = [(sample, scores) for sample, scores in measured if sample.group == group]
        if len({sample.fake for sample, _ in members}) == 2:
            groups[group] = _rows(indicators, members)
    versions = {indicator.name: indicator.version for indicator in indicators}
    return EvaluationReport(rows=_rows(indicators, measured), data=data, groups=groups, unreadable=unreadable,
                            seconds=time.perf_counter() - started, measured=measured, versions=versions,
                            combined=combined_evaluation(measured, versions, folds=folds))


def combined_evaluation(measured, versions: dict[str, str], *, folds: int | None = None) -> CombinedEvaluation | None:
    """The cross-validated AUC of the combined likelihood, overall and within each group that holds
    both labels; None when there are fewer than two items of either label."""
    fake = [sample.fake for sample, _ in measured]
    if min(sum(fake), len(fake) - sum(fake)) < 2:
        return None
    rows = [scores for _, scores in measured]
    likelihoods = combined.cross_validated_likelihoods(rows, fake, versions, folds=folds)

    def judged(members: list[int]) -> tuple[float | None, int, int, int, int]:
        real = [likelihoods[i] for i in members if not fake[i] and not np.isnan(likelihoods[i])]
        fakes = [likelihoods[i] for i in members if fake[i] and not np.isnan(likelihoods[i])]
        return (auc(real, fakes), len(real), sum(not fake[i] for i in members), len(fakes),
                sum(fake[i] for i in members))

    groups = {}
    for group in sorted({sample.group for sample, _ in measured if sample.group}):
        members = [i for i, (sample, _) in enumerate(measured) if sample.group == group]
        if len({fake[i] for i in members}) == 2:
            groups[group] = judged(members)
    everything = combined.fit_calibration(rows, fake, versions, data="all")
    value, real_applied, real, fake_applied, fakes = judged(list(range(len(measured))))
    return CombinedEvaluation(
        auc=value, real_applied=real_applied, real=real, fake_applied=fake_applied, fake=fakes,
        cross_validation="leave-one-out" if folds is None or folds >= len(fake) else f"{folds}-fold",
        groups=groups, weighed=[signal.name for signal in everything.signals])


def fit_combined(report: EvaluationReport, *, data: str, options: IndicatorOptions = DEFAULT_OPTIONS):
    """The calibration of the combined likelihood on every item of ``report``, with its
    cross-validated AUC; save it with ``.save()``."""
    rows = [scores for _, scores in report.measured]
    fake = [sample.fake for sample, _ in report.measured]
    evaluated = report.combined
    return combined.fit_calibration(
        rows, fake, report.versions, data=data,
        cross_validated_auc=None if evaluated is None or evaluated.auc is None else round(evaluated.auc, 4),
        cross_validation=evaluated.cross_validation if evaluated else "",
        allow_noncommercial_models=options.allow_noncommercial_models)


def _rows(indicators, measured) -> list[IndicatorEvaluation]:
    totals = {label: sum(sample.fake == label for sample, _ in measured) for label in (False, True)}
    rows = []
    for indicator in indicators:
        real = [s[indicator.name] for sample, s in measured if not sample.fake and s[indicator.name] is not None]
        fake = [s[indicator.name] for sample, s in measured if sample.fake and s[indicator.name] is not None]
        rows.append(IndicatorEvaluation(
            name=indicator.name, version=indicator.version,
            real_applied=len(real), real_total=totals[False], fake_applied=len(fake), fake_total=totals[True],
            mean_real=float(np.mean(real)) if real else None, mean_fake=float(np.mean(fake)) if fake else None,
            auc=auc(real, fake),
        ))
    return rows


def evaluate_indicators(real_dirs: list[Path], fake_dirs: list[Path], *,
                        options: IndicatorOptions = DEFAULT_OPTIONS) -> EvaluationReport:
    """Per-indicator AUC on the images and videos under ``real_dirs`` (genuine) and ``fake_dirs`` (fakes)."""
    description = (f"real: {', '.join(map(str, real_dirs))}; fake: {', '.join(map(str, fake_dirs))}")
    return evaluate_samples(samples_from_dirs(real_dirs, fake_dirs), options=options, data=description)


def _number(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _table(rows: list[IndicatorEvaluation]) -> list[str]:
    header = f"{'indicator':<28} {'ver':>3}  {'real applied':>12}  {'fake applied':>12}  " \
             f"{'mean real':>9}  {'mean fake':>9}  {'AUC':>5}"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.name:<28} {row.version:>3}  {f'{row.real_applied}/{row.real_total}':>12}  "
            f"{f'{row.fake_applied}/{row.fake_total}':>12}  {_number(row.mean_real):>9}  "
            f"{_number(row.mean_fake):>9}  {_number(row.auc, 2):>5}"
        )
    return lines


def format_report(report: EvaluationReport) -> str:
    lines = [f"Data: {report.data}", "All sources together:", *_table(report.rows)]
    for group, rows in report.groups.items():
        lines += ["", f"Within {group} only (both labels, same source and processing):", *_table(rows)]
    lines.append("AUC: P(a fake scores above a genuine item), ties ½, over items where the indicator applied; "
                 "0.5 = chance. Each indicator's score is uncalibrated.")
    lines += ["", *_combined_lines(report.combined)]
    for path, reason in report.unreadable.items():
        lines.append(f"unreadable: {path}: {reason}")
    lines.append(f"{report.seconds:.1f} s")
    return "\n".join(lines)


def _combined_lines(evaluated: CombinedEvaluation | None) -> list[str]:
    if evaluated is None:
        return ["combined_likelihood: not evaluated (fewer than two items of a label)."]
    reached = "reached" if evaluated.auc is not None and evaluated.auc >= COMBINED_TARGET_AUC else "NOT reached"
    lines = [f"combined_likelihood (logistic regression over the scores above, {evaluated.cross_validation} "
             f"cross-validation): AUC {_number(evaluated.auc)}, applied to {evaluated.real_applied}/{evaluated.real} "
             f"real and {evaluated.fake_applied}/{evaluated.fake} fake items; "
             f"target {COMBINED_TARGET_AUC:.2f} {reached}."]
    for group, (value, real_applied, real, fake_applied, fake) in evaluated.groups.items():
        lines.append(f"  within {group}: AUC {_number(value)}, applied to {real_applied}/{real} real and "
                     f"{fake_applied}/{fake} fake items")
    lines.append(f"  weighed (fit on all items): {', '.join(evaluated.weighed) or 'none'}; a signal needs "
                 f"{combined.MIN_APPLIED_PER_CLASS} real and {combined.MIN_APPLIED_PER_CLASS} fake items where it "
                 "applied, and varying scores, to be weighed. Where no weighed signal applies the combined result "
                 "is not applicable.")
    return lines


def bench_indicators(path: str | Path, *, size: tuple[int, int] | None = (1920, 1080),
                     options: IndicatorOptions = DEFAULT_OPTIONS, repeat: int = 3) -> dict:
    """CPU seconds of the indicators on one image beyond face finding: the image at ``path``,
    resized to ``size`` (width, height; None keeps it) and encoded as JPEG quality 95, decoded and
    its faces found once, as the scan does, then every signal indicator timed on its own (the best
    of ``repeat`` runs, after a first run that loads models). CPU time of this process: on a shared
    machine the figures are indicative. Issue 4's target: at most 1 CPU-second in all."""
    import io

    import cv2
    from PIL import Image

    from detection.engine import faces

    rgb = decode_image(Path(path).read_bytes()).rgb
    if size is not None:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if size[0] < rgb.shape[1] else cv2.INTER_CUBIC)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=95)
    data = buffer.getvalue()
    decoded = decode_image(data).rgb
    started = time.process_time()
    boxes = faces.detect(decoded)
    face_finding = time.process_time() - started
    indicators = signal_indicators()
    started = time.process_time()
    # The first run also loads models and libraries once per process (dlib's 68-point model: 0.8 s).
    run_indicators(MediaContext(data=data, rgb=decoded, faces=boxes, options=options), indicators)
    first_run = time.process_time() - started
    per_indicator = {}
    for indicator in indicators:
        best = float("inf")
        for _ in range(repeat):
            context = MediaContext(data=data, rgb=decoded, faces=boxes, options=options)
            started = time.process_time()
            run_indicators(context, [indicator])
            best = min(best, time.process_time() - started)
        per_indicator[indicator.name] = round(best, 4)
    return {"image": Path(path).name, "size": f"{decoded.shape[1]}x{decoded.shape[0]}", "faces": len(boxes),
            "face_finding_cpu_s": round(face_finding, 3), "first_run_cpu_s": round(first_run, 3),
            "indicators_cpu_s": per_indicator,
            "total_indicators_cpu_s": round(sum(per_indicator.values()), 3)}
