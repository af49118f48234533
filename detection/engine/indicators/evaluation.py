"""How well each indicator separates labelled genuine media from fakes, measured so that the figure cannot flatter
(see validation.py): per source and pooled, each AUC with a bootstrap 95% interval; the fitted models (the combined
likelihood, the learned probe) only ever scored on sources they were not fitted to; every image re-encoded alike
first, so that file format cannot give a label away.

AUC is the Mann–Whitney statistic: the chance that a random fake scores above a random genuine item (ties count
half), over the items where the indicator applied; 0.5 is chance, below 0.5 means the indicator points the wrong
way on this data. The pooled AUC over mixed sources also measures how the sources differ, not only genuine
versus fake; the per-source rows compare items that went through the same processing.

The combined likelihood (combined.py) is judged leave-one-source-out: each source's items are scored by a
calibration fitted on every other source (items of unknown source are their own source, i.e. leave-one-out). Its
in-sample AUC would flatter it, so the combined indicator itself is never run here. The learned probe
(clip_probe.py) was fitted on some sources: where those are in the evaluated data, their items are scored by a
probe refitted without their generator, never by the deployed one.
"""

from __future__ import annotations

import csv
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detection.engine.indicators import clip_probe, combined, validation
from detection.engine.indicators.base import (
    DEFAULT_OPTIONS,
    IMAGE,
    VIDEO,
    IndicatorOptions,
    MediaContext,
    run_indicators,
    signal_indicators,
)
from detection.engine.media import MediaError, decode_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".avi", ".m4v"}
# Issue 4's target for the combined likelihood, now asked of its leave-one-source-out figure.
COMBINED_TARGET_AUC = 0.85
# FaceForensics++ crops carry a 50-pixel border whose colour gives their label away.
FFPP_CROP = (50, 50, 306, 306)  # left, top, right, bottom
LEAVE_ONE_SOURCE_OUT = "leave-one-source-out"


@dataclass(frozen=True)
class LabelledMedia:
    path: Path
    fake: bool
    crop: tuple[int, int, int, int] | None = None  # left, top, right, bottom
    group: str = ""  # the source (a generator, a data set); "" when unknown


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
    low: float | None = None  # bootstrap 95% interval
    high: float | None = None
    note: str = ""


@dataclass(frozen=True)
class CombinedEvaluation:
    """The combined likelihood judged leave-one-source-out (never on a source it was fitted on)."""

    overall: validation.Figure
    without_stylegan2: validation.Figure | None  # None when the data holds no StyleGAN2 source
    per_source: dict[str, validation.Figure]
    real: int
    fake: int
    method: str
    weighed: list[str] = field(default_factory=list)  # signals with a weight in the fit on all items
    ratios: list[list[float]] = field(default_factory=list)  # validation.likelihood_ratio_table of its held-out scores
    kinds: list[str] = field(default_factory=list)  # of the media it scored: what its figure speaks for
    faceless: int = 0  # images it scored where no face was found

    @property
    def auc(self) -> float | None:
        return self.overall.auc


@dataclass
class EvaluationReport:
    rows: list[IndicatorEvaluation]
    data: str
    groups: dict[str, list[IndicatorEvaluation]] = field(default_factory=dict)  # per source (validation.source_figures)
    unreadable: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    measured: list[tuple[LabelledMedia, dict[str, float | None]]] = field(default_factory=list, repr=False)
    versions: dict[str, str] = field(default_factory=dict)
    combined: CombinedEvaluation | None = None
    preparation: str = validation.PREPARATION
    learned: str = ""  # how the learned probe's scores were obtained
    faces: list[int | None] = field(default_factory=list, repr=False)  # faces found per measured item, if looked for


def images_in(folder: Path) -> list[Path]:
    return sorted(path for path in Path(folder).rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES)


def media_in(folder: Path) -> list[Path]:
    return sorted(path for path in Path(folder).rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)


def samples_from_dirs(real_dirs: list[Path], fake_dirs: list[Path]) -> list[LabelledMedia]:
    """Items of unknown source: each is its own source when a model is fitted on the others."""
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
                                         group=validation.FACE_SWAPS if ffpp else row["file"].split("/")[0]))
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


def without_duplicates(samples: list[LabelledMedia]) -> list[LabelledMedia]:
    """The samples with each file's bytes kept once, the first time (the shared set's FaceForensics++ crops are also
    CNNDetection ranking images: given both, each is counted once, under the source given first)."""
    seen, kept = set(), []
    for sample in samples:
        digest = hashlib.sha256(sample.path.read_bytes()).digest()
        if digest not in seen:
            seen.add(digest)
            kept.append(sample)
    return kept


def prepared_pixels(sample: LabelledMedia, *, neutral: bool = True) -> tuple[bytes, np.ndarray]:
    """The bytes the indicators read and their pixels (cropped where the sample says): with ``neutral``, the
    image re-encoded as every evaluated image is (validation.PREPARATION)."""
    data = sample.path.read_bytes()
    rgb = decode_image(data).rgb
    if sample.crop is not None:
        left, top, right, bottom = sample.crop
        rgb = np.ascontiguousarray(rgb[top:bottom, left:right])
    if neutral:
        data = validation.neutral_format(rgb)
        rgb = decode_image(data).rgb
    return data, rgb


def _context(sample: LabelledMedia, options: IndicatorOptions, neutral: bool) -> MediaContext:
    if sample.path.suffix.lower() in VIDEO_SUFFIXES:
        return MediaContext(data=sample.path.read_bytes(), options=options)
    data, rgb = prepared_pixels(sample, neutral=neutral)
    # Without ``neutral`` and with a crop, the byte-level indicators still read the original file's metadata; the
    # FaceForensics++ crops of both labels were written by the same tool, so that gives nothing away.
    return MediaContext(data=data, rgb=rgb, options=options)


def evaluate_samples(samples: list[LabelledMedia], *, options: IndicatorOptions = DEFAULT_OPTIONS,
                     data: str = "", neutral: bool = True, cache: validation.EmbeddingCache | None = None,
                     probe_path: Path = clip_probe.PROBE_PATH) -> EvaluationReport:
    """Every signal indicator on every sample; each one's AUC per source and pooled, with intervals; the combined
    likelihood's leave-one-source-out AUC."""
    started = time.perf_counter()
    indicators = [clip_probe.LearnedClipProbe(probe_path) if indicator.name == clip_probe.LearnedClipProbe.name
                  else indicator for indicator in signal_indicators()]
    measured: list[tuple[LabelledMedia, dict[str, float | None]]] = []
    faces: list[int | None] = []
    embeddings: dict[int, np.ndarray] = {}
    unreadable = {}
    for sample in samples:
        try:
            context = _context(sample, options, neutral)
        except (MediaError, OSError) as error:
            unreadable[str(sample.path)] = getattr(error, "reason", str(error))
            continue
        # With --as-is a cropped sample's bytes are the whole file: the crop is part of what was encoded.
        key = cache.key(context.data, "" if neutral or sample.crop is None else repr(sample.crop)) if cache else ""
        if cache is not None and cache.get(key) is not None:
            context.derived[clip_probe.EMBEDDING] = cache.get(key)
        results = run_indicators(context, indicators)
        learned = next((r for r in results if r.name == clip_probe.LearnedClipProbe.name), None)
        if learned is not None and learned.applicable and clip_probe.EMBEDDING in context.derived:
            embeddings[len(measured)] = context.derived[clip_probe.EMBEDDING]
            if cache is not None:
                cache.put(key, context.derived[clip_probe.EMBEDDING])
        measured.append((sample, {result.name: result.score for result in results}))
        faces.append(None if context.faces is None else len(context.faces))
    if cache is not None:
        cache.save()
    learned = _learned_held_out(measured, embeddings, probe_path)
    versions = {indicator.name: indicator.version for indicator in indicators}
    return EvaluationReport(
        rows=_rows(indicators, measured, [True] * len(measured), [True] * len(measured)), data=data,
        groups=_per_source(indicators, measured), unreadable=unreadable, seconds=time.perf_counter() - started,
        measured=measured, versions=versions, combined=combined_evaluation(measured, versions, faces),
        preparation=validation.PREPARATION if neutral else validation.AS_IS, learned=learned, faces=faces)


def _learned_held_out(measured, embeddings: dict[int, np.ndarray], probe_path: Path) -> str:
    """Replace the learned probe's scores on the generators it was trained on by leave-one-generator-out ones
    (in ``measured``), and say how its scores were obtained."""
    name = clip_probe.LearnedClipProbe.name
    if not embeddings:
        return ""
    try:
        probe = clip_probe.Probe.load(probe_path)
    except ValueError:
        return ""
    generators = set(probe.trained_on.get("generators", {})) if probe else set()
    trained_here = sorted({measured[i][0].group for i in embeddings} & generators)
    if not trained_here:
        return f"{name}: the deployed probe, on sources it was never trained on."
    index = sorted(embeddings)
    groups = [measured[i][0].group for i in index]
    fake = np.array([measured[i][0].fake for i in index])
    scores = clip_probe.held_out_probe_scores(groups, fake, np.array([embeddings[i] for i in index]), generators,
                                              penalty=probe.penalty, probe=probe)
    for i, score in zip(index, scores, strict=True):
        if measured[i][0].group in generators:
            measured[i][1][name] = None if np.isnan(score) else float(score)
    return (f"{name}: on {', '.join(trained_here)} (sources it was trained on) each image scored by a probe refitted "
            "without its generator; elsewhere the deployed probe, never trained on those sources.")


def _held_out_likelihoods(measured, versions: dict[str, str]) -> np.ndarray:
    rows = [scores for _, scores in measured]
    fake = [sample.fake for sample, _ in measured]
    groups = [sample.group or f"item {i}" for i, (sample, _) in enumerate(measured)]

    def fit(indices):
        return combined.fit_calibration([rows[i] for i in indices], [fake[i] for i in indices], versions, data="fold")

    def score(calibration, i):
        return calibration.likelihood(rows[i]) if calibration.applies(rows[i]) else np.nan

    return validation.held_out_scores(groups, fake, fit, score)


def combined_evaluation(measured, versions: dict[str, str], faces: list[int | None] | None = None
                        ) -> CombinedEvaluation | None:
    """The combined likelihood's leave-one-source-out AUC, pooled, without the StyleGAN2 source (refitted without
    it), and per source; None when there are fewer than two items of either label."""
    fake = [sample.fake for sample, _ in measured]
    if min(sum(fake), len(fake) - sum(fake)) < 2:
        return None
    likelihoods = _held_out_likelihoods(measured, versions)
    named = [i for i, (sample, _) in enumerate(measured) if sample.group]
    per_source = validation.source_figures(likelihoods[named], [measured[i][0].group for i in named],
                                           [fake[i] for i in named])
    without = None
    others = [(sample, scores) for sample, scores in measured if sample.group != validation.STYLEGAN2]
    if len(others) < len(measured):
        without = validation.pooled_figure(_held_out_likelihoods(others, versions), [s.fake for s, _ in others])
    everything = combined.fit_calibration([scores for _, scores in measured], fake, versions, data="all")
    unknown = len(named) < len(measured)
    scored = [i for i in range(len(measured)) if not np.isnan(likelihoods[i])]
    kinds = sorted({VIDEO if measured[i][0].path.suffix.lower() in VIDEO_SUFFIXES else IMAGE for i in scored})
    faceless = sum(1 for i in scored if faces and faces[i] == 0)
    return CombinedEvaluation(
        overall=validation.pooled_figure(likelihoods, fake), without_stylegan2=without, per_source=per_source,
        real=len(fake) - sum(fake), fake=sum(fake),
        method=LEAVE_ONE_SOURCE_OUT + (" (items of unknown source: leave-one-out)" if unknown else ""),
        weighed=[signal.name for signal in everything.signals], kinds=kinds, faceless=faceless,
        ratios=validation.likelihood_ratio_table(likelihoods, fake))


def fit_combined(report: EvaluationReport, *, data: str, options: IndicatorOptions = DEFAULT_OPTIONS):
    """The calibration of the combined likelihood on every item of ``report``, carrying its leave-one-source-out
    figure (the one pages quote); save it with ``.save()``."""
    rows = [scores for _, scores in report.measured]
    fake = [sample.fake for sample, _ in report.measured]
    evaluated = report.combined
    held_out = None
    if evaluated is not None and evaluated.overall.auc is not None:
        held_out = {**evaluated.overall.as_dict(), "method": evaluated.method, "preparation": report.preparation,
                    "kinds": evaluated.kinds, "faceless": evaluated.faceless, "ratios": evaluated.ratios,
                    "without_stylegan2": evaluated.without_stylegan2.as_dict() if evaluated.without_stylegan2 else None,
                    "per_source": {group: figure.as_dict() for group, figure in evaluated.per_source.items()}}
    return combined.fit_calibration(rows, fake, report.versions, data=data, held_out=held_out,
                                    allow_noncommercial_models=options.allow_noncommercial_models)


def _per_source(indicators, measured) -> dict[str, list[IndicatorEvaluation]]:
    """Each indicator's rows per source, by validation.source_figures' rule."""
    labels: dict[str, set[bool]] = {}
    for sample, _ in measured:
        if sample.group:
            labels.setdefault(sample.group, set()).add(sample.fake)
    genuine_only = [sample.group in labels and labels[sample.group] == {False} for sample, _ in measured]
    tables = {}
    for group, held in labels.items():
        members = [sample.group == group for sample, _ in measured]
        if held == {False, True}:
            tables[group] = _rows(indicators, measured, members, members)
        elif held == {True} and any(genuine_only):
            tables[group] = _rows(indicators, measured, genuine_only, members, note=validation.AGAINST_GENUINE_ONLY)
    return tables


def _rows(indicators, measured, real_from: list[bool], fake_from: list[bool],
          note: str = "") -> list[IndicatorEvaluation]:
    """One row per indicator: genuine items where ``real_from``, fakes where ``fake_from``."""
    real_items = [scores for (sample, scores), keep in zip(measured, real_from, strict=True)
                  if keep and not sample.fake]
    fake_items = [scores for (sample, scores), keep in zip(measured, fake_from, strict=True) if keep and sample.fake]
    rows = []
    for indicator in indicators:
        real = [s[indicator.name] for s in real_items if s[indicator.name] is not None]
        fake = [s[indicator.name] for s in fake_items if s[indicator.name] is not None]
        result = validation.figure(real, fake)
        rows.append(IndicatorEvaluation(
            name=indicator.name, version=indicator.version,
            real_applied=len(real), real_total=len(real_items), fake_applied=len(fake), fake_total=len(fake_items),
            mean_real=float(np.mean(real)) if real else None, mean_fake=float(np.mean(fake)) if fake else None,
            auc=result.auc, low=result.low, high=result.high, note=note,
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
             f"{'mean real':>9}  {'mean fake':>9}  {'AUC':>5}  {'95% interval':>12}"
    lines = [header, "-" * len(header)]
    for row in rows:
        interval = "—" if row.low is None else f"{row.low:.2f}–{row.high:.2f}"
        lines.append(
            f"{row.name:<28} {row.version:>3}  {f'{row.real_applied}/{row.real_total}':>12}  "
            f"{f'{row.fake_applied}/{row.fake_total}':>12}  {_number(row.mean_real):>9}  "
            f"{_number(row.mean_fake):>9}  {_number(row.auc, 2):>5}  {interval:>12}"
        )
    return lines


def format_report(report: EvaluationReport) -> str:
    lines = [f"Data: {report.data}", f"Prepared: {report.preparation}.", "",
             "All sources pooled (also measures how the sources differ):", *_table(report.rows)]
    for group, rows in report.groups.items():
        against = f"; {rows[0].note}" if rows and rows[0].note else " (both labels, same source and processing)"
        lines += ["", f"Within {group}{against}:", *_table(rows)]
    lines.append("AUC: P(a fake scores above a genuine item), ties ½, over items where the indicator applied; "
                 "0.5 = chance; interval: stratified bootstrap, 95%. Each indicator's score is uncalibrated.")
    if report.learned:
        lines.append(report.learned)
    lines += ["", *_combined_lines(report.combined)]
    for path, reason in report.unreadable.items():
        lines.append(f"unreadable: {path}: {reason}")
    lines.append(f"{report.seconds:.1f} s")
    return "\n".join(lines)


def _combined_lines(evaluated: CombinedEvaluation | None) -> list[str]:
    if evaluated is None:
        return ["combined_likelihood: not evaluated (fewer than two items of a label)."]
    overall = evaluated.overall
    reached = "reached" if overall.auc is not None and overall.auc >= COMBINED_TARGET_AUC else "NOT reached"
    lines = [(f"combined_likelihood (logistic regression over the scores above), {evaluated.method}: each source "
              "scored by a calibration fitted on every other source."),
             (f"  all sources: AUC {overall.text()}, of {evaluated.real} real and {evaluated.fake} fake items; "
              f"target {COMBINED_TARGET_AUC:.2f} {reached}.")]
    if evaluated.without_stylegan2 is not None:
        lines.append(f"  without the StyleGAN2 PNGs (refitted without them): AUC {evaluated.without_stylegan2.text()}")
    for group, figure in evaluated.per_source.items():
        lines.append(f"  {group}: AUC {figure.text()}")
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
