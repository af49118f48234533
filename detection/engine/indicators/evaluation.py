"""How well each indicator separates labelled genuine media from fakes: AUC per indicator.

AUC is the Mann–Whitney statistic: the chance that a random fake scores above a random genuine
image (ties count half), over the images where the indicator applied; 0.5 is chance, below 0.5
means the indicator points the wrong way on this data. With the shared test data's 12 fakes an AUC
moves by about 0.1 when one image changes rank, and indicators are not combined: a combined
likelihood needs calibration on far more labelled data than this.

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

from detection.engine.indicators.base import (
    DEFAULT_OPTIONS,
    IndicatorOptions,
    MediaContext,
    all_indicators,
    run_indicators,
)
from detection.engine.media import MediaError, decode_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
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


@dataclass
class EvaluationReport:
    rows: list[IndicatorEvaluation]
    data: str
    groups: dict[str, list[IndicatorEvaluation]] = field(default_factory=dict)  # only groups with both labels
    unreadable: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def images_in(folder: Path) -> list[Path]:
    return sorted(path for path in Path(folder).rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES)


def samples_from_dirs(real_dirs: list[Path], fake_dirs: list[Path]) -> list[LabelledMedia]:
    return ([LabelledMedia(path, fake=False) for folder in real_dirs for path in images_in(folder)]
            + [LabelledMedia(path, fake=True) for folder in fake_dirs for path in images_in(folder)])


def testdata_samples(root: Path) -> list[LabelledMedia]:
    """The shared test data's labels: REAL = every photo under faces/ and the FaceForensics++
    originals; FAKE = the StyleGAN2 faces and the FaceForensics++ face swaps (crops cropped)."""
    samples = [LabelledMedia(path, fake=False, group="faces") for path in images_in(root / "faces")]
    with (root / "synthetic" / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            path = root / "synthetic" / row["file"]
            ffpp = row["file"].startswith("ffpp_crops/")
            samples.append(LabelledMedia(path, fake=row["label"].strip().upper() == "FAKE",
                                         crop=FFPP_CROP if ffpp else None,
                                         group="FaceForensics++" if ffpp else row["file"].split("/")[0]))
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
                     data: str = "") -> EvaluationReport:
    started = time.perf_counter()
    indicators = all_indicators()
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
    return EvaluationReport(rows=_rows(indicators, measured), data=data, groups=groups, unreadable=unreadable,
                            seconds=time.perf_counter() - started)


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
    """Per-indicator AUC on the images under ``real_dirs`` (genuine) and ``fake_dirs`` (fakes)."""
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
    lines.append("AUC: P(a fake scores above a genuine image), ties ½, over images where the indicator applied; "
                 "0.5 = chance. Not calibrated; indicators are not combined.")
    for path, reason in report.unreadable.items():
        lines.append(f"unreadable: {path}: {reason}")
    lines.append(f"{report.seconds:.1f} s")
    return "\n".join(lines)
