"""Fitting the learned probe (clip_probe.py) from a folder of labelled images, and its leave-one-generator-out table.

The data is CNNDetection's "ranking" images (Wang et al., CVPR 2020; the ``ranking/images`` folder of the
peterwang512/CNNDetection repository's gh-pages branch, CC BY-NC-SA 4.0): 20 genuine and 20 generated 256-pixel
crops for each of ten sources, named ``<n>_<generator>_<real|fake>.jpg``, each inside a 50-pixel border whose
colour gives the label away (cut off here). Nothing of it is kept in this repository: the probe's file names the
data, and ``manage.py fit_clip_probe --data DIR`` fits the same probe again from a copy of that folder.

The probe never trains on ``clip_probe.HELD_OUT_GENERATORS`` (StarGAN, FaceForensics++ Deepfakes, StyleGAN2):
those, and the shared test set, are only ever scored. Every figure is leave-one-generator-out
(validation.held_out_scores): a trainable generator is scored by a probe fitted on the other trainable ones, a
held-out one by the probe fitted on all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from detection.engine.indicators import clip_probe, validation
from detection.engine.indicators.evaluation import (
    FFPP_CROP,
    LabelledMedia,
    prepared_pixels,
    testdata_samples,
    without_duplicates,
)
from detection.engine.media import MediaError

RANKING_NAME = re.compile(r"^\d+_(?P<generator>[a-z0-9]+)_(?P<label>real|fake)\.(jpe?g|png)$", re.IGNORECASE)
RANKING_BORDER_CROP = FFPP_CROP  # the same 50-pixel label border as the shared set's FaceForensics++ crops
RANKING_DATA = ("CNNDetection ranking images (Wang et al. 2020; peterwang512/CNNDetection, branch gh-pages at "
                "cdd591364f0a1257ac17a0e903da374a87b27e87, ranking/images), 20 genuine and 20 generated per source, "
                "label border cut off")
TARGET_AUC = 0.85  # issue 15: leave-one-generator-out, over every image reachable


def ranking_samples(folder: Path) -> list[LabelledMedia]:
    """The labelled images of a CNNDetection ranking folder, each grouped by its generator (the source)."""
    samples = []
    for path in sorted(Path(folder).iterdir()):
        match = RANKING_NAME.match(path.name)
        if match:
            samples.append(LabelledMedia(path, fake=match["label"].lower() == "fake", crop=RANKING_BORDER_CROP,
                                         group=match["generator"].lower()))
    return samples


def reachable_samples(ranking: Path, testdata: Path | None) -> list[LabelledMedia]:
    """The shared test set's still images, then the ranking images not already among them (the shared set's
    FaceForensics++ crops are ranking images too: each is kept once, under the shared set's source)."""
    shared = testdata_samples(testdata, videos=False) if testdata else []
    return without_duplicates(shared + ranking_samples(ranking))


@dataclass
class Embedded:
    samples: list[LabelledMedia]
    embeddings: np.ndarray  # one unit-length row per sample
    unreadable: dict[str, str] = field(default_factory=dict)


def embed_samples(samples: list[LabelledMedia], *, cache: validation.EmbeddingCache, neutral: bool = True,
                  threads: int = 1) -> Embedded:
    """Every sample's CLIP embedding, of the pixels every indicator sees in an evaluation (``prepared_pixels``)."""
    kept, rows, unreadable = [], [], {}
    for sample in samples:
        try:
            data, rgb = prepared_pixels(sample, neutral=neutral)
        except (MediaError, OSError) as error:
            unreadable[str(sample.path)] = getattr(error, "reason", str(error))
            continue
        key = cache.key(data, "" if neutral or sample.crop is None else repr(sample.crop))
        embedding = cache.get(key)
        if embedding is None:
            embedding = clip_probe.embed(rgb, threads=threads)
            cache.put(key, embedding)
        kept.append(sample)
        rows.append(np.asarray(embedding, dtype=np.float64))
    cache.save()
    return Embedded(kept, np.array(rows).reshape(len(rows), clip_probe.EMBEDDING_SIZE), unreadable)


def trainable(samples: list[LabelledMedia], generators: set[str]) -> np.ndarray:
    return np.array([sample.group in generators and sample.group not in clip_probe.HELD_OUT_GENERATORS
                     for sample in samples])


@dataclass
class ProbeValidation:
    per_source: dict[str, validation.Figure]
    overall: validation.Figure
    without_stylegan2: validation.Figure
    never_trained_on: validation.Figure  # pooled over the sources no probe was ever fitted on
    trained_on: list[str]


def validate(embedded: Embedded, scores: np.ndarray, generators: set[str]) -> ProbeValidation:
    fake = [sample.fake for sample in embedded.samples]
    groups = [sample.group for sample in embedded.samples]
    return ProbeValidation(
        per_source=validation.source_figures(scores, groups, fake),
        overall=validation.pooled_figure(scores, fake),
        without_stylegan2=validation.pooled_figure(scores, fake, [g != validation.STYLEGAN2 for g in groups]),
        never_trained_on=validation.pooled_figure(scores, fake, [g not in generators for g in groups]),
        trained_on=sorted(set(groups) & (generators - clip_probe.HELD_OUT_GENERATORS)))


def fit_and_validate(embedded: Embedded, generators: set[str], *, data: str, penalty: float = clip_probe.PENALTY,
                     preparation: str = validation.PREPARATION) -> tuple[clip_probe.Probe, ProbeValidation]:
    """The probe fitted on every image of ``generators`` (the training folder's sources, less
    clip_probe.HELD_OUT_GENERATORS), with its leave-one-generator-out figures recorded in it. Every other source
    is only scored."""
    fake = np.array([sample.fake for sample in embedded.samples])
    generators = set(generators) - clip_probe.HELD_OUT_GENERATORS
    can_train = trainable(embedded.samples, generators)
    if not can_train.any() or len(set(fake[can_train].tolist())) < 2:
        raise ValueError("no trainable genuine and generated images: give a CNNDetection ranking folder")
    counts = {group: {"genuine": int(sum(1 for s in embedded.samples if s.group == group and not s.fake)),
                      "generated": int(sum(1 for s in embedded.samples if s.group == group and s.fake))}
              for group in sorted(generators)}
    trained_on = {"data": data, "licence": clip_probe.DATA_LICENCE, "generators": counts,
                  "preparation": preparation, "held_out_generators": sorted(clip_probe.HELD_OUT_GENERATORS)}
    probe = clip_probe.fit_probe(embedded.embeddings[can_train], fake[can_train], penalty=penalty,
                                 trained_on=trained_on)
    scores = clip_probe.held_out_probe_scores([sample.group for sample in embedded.samples], fake,
                                              embedded.embeddings, generators, penalty=penalty, probe=probe)
    checked = validate(embedded, scores, generators)
    held_out = clip_probe.HeldOut(
        auc=round(checked.overall.auc, 4), low=round(checked.overall.low, 4), high=round(checked.overall.high, 4),
        items=checked.overall.items, ratios=validation.likelihood_ratio_table(scores, fake),
        per_source={group: figure.as_dict() for group, figure in checked.per_source.items()},
        notes=f"pooled over every source, each image scored by a probe fitted without its generator; "
              f"without StyleGAN2: {checked.without_stylegan2.text()}; sources never trained on only: "
              f"{checked.never_trained_on.text()}; {preparation}")
    return replace(probe, held_out=held_out), checked


def format_validation(checked: ProbeValidation) -> str:
    width = max([len(group) for group in checked.per_source] + [40])
    lines = [f"{'source (leave-one-generator-out)':<{width}}  AUC [95% interval]  (items)", "-" * (width + 40)]
    for group, result in sorted(checked.per_source.items()):
        role = "trained on the others" if group in checked.trained_on else "never trained on"
        lines.append(f"{group + ' (' + role + ')':<{width}}  {result.text()}")
    reached = "reached" if checked.overall.auc is not None and checked.overall.auc >= TARGET_AUC else "NOT reached"
    lines += ["-" * (width + 40),
              f"{'all sources, pooled':<{width}}  {checked.overall.text()}  target {TARGET_AUC:.2f} {reached}",
              f"{'without the StyleGAN2 PNGs':<{width}}  {checked.without_stylegan2.text()}",
              f"{'sources never trained on, pooled':<{width}}  {checked.never_trained_on.text()}"]
    return "\n".join(lines)


def bench_probe(images: list[np.ndarray], *, threads: int, repeat: int = 3) -> dict:
    """Milliseconds per image of the learned indicator's own work (CLIP preprocessing, the encoder, the probe), as a
    scan runs it on decoded pixels: the median over ``images`` of each image's best of ``repeat`` runs, CPU time of
    this process and wall time, after one run that loads the encoder (reported apart). With several threads the CPU
    time adds every thread's. On a shared machine the figures are indicative."""
    import time

    probe = clip_probe.Probe.load()
    started = time.perf_counter()
    clip_probe.embed(images[0], threads=threads)  # loads and checks the encoder once per process
    load_s = time.perf_counter() - started
    cpu, wall = [], []
    for rgb in images:
        best_cpu = best_wall = float("inf")
        for _ in range(repeat):
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            embedding = clip_probe.embed(rgb, threads=threads)
            if probe is not None:
                probe.score(embedding)
            best_cpu = min(best_cpu, time.process_time() - cpu_started)
            best_wall = min(best_wall, time.perf_counter() - wall_started)
        cpu.append(best_cpu * 1000)
        wall.append(best_wall * 1000)
    return {"threads": threads or "default", "images": len(images), "first_run_s": round(load_s, 2),
            "cpu_ms_median": round(float(np.median(cpu)), 1), "cpu_ms_max": round(float(np.max(cpu)), 1),
            "wall_ms_median": round(float(np.median(wall)), 1), "wall_ms_max": round(float(np.max(wall)), 1)}
