"""Accuracy of face matching on a labelled folder, shared by ``manage.py evaluate`` and ``bench``.

The folder holds ``labels.csv`` with at least ``file`` and ``identity`` columns. ``identity`` is a
name, ``MULTI:a+b`` for a photo of several known people, or ``unlabeled`` / ``MULTI:unlabeled``.
The first ``references`` photos of each named identity are enrolled; every other photo is a probe.
Per probe, an identity is *matched* when any face in the probe is within the threshold of any of
its reference templates. Matches on unlabelled probes cannot be scored and are counted apart.

Run on its own (no Django) to print per-probe distances as JSON; ``bench`` does that in a
subprocess so that its CPU time can be compared with face_recognition's CLI on the same data.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detection.engine import faces as face_engine
from detection.engine.media import MediaError, MediaLimits, decode_image

SWEEP = [round(0.30 + 0.05 * i, 2) for i in range(9)]  # 0.30 … 0.70


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    identities: frozenset[str]
    labelled: bool


def load_labels(folder: Path) -> list[LabelledImage]:
    rows = []
    with (folder / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            identity = row["identity"].strip()
            names = identity.removeprefix("MULTI:").split("+")
            labelled = "unlabeled" not in names
            rows.append(LabelledImage(folder / row["file"], frozenset(names) if labelled else frozenset(), labelled))
    return rows


def split(images: list[LabelledImage], references: int = 1) -> tuple[dict[str, list[Path]], list[LabelledImage]]:
    """The first ``references`` single-person photos of each identity, and every other photo."""
    chosen: dict[str, list[Path]] = defaultdict(list)
    probes = []
    for image in images:
        if len(image.identities) == 1:
            (identity,) = image.identities
            if len(chosen[identity]) < references:
                chosen[identity].append(image.path)
                continue
        probes.append(image)
    return dict(chosen), probes


@dataclass
class EngineRun:
    """Best distance from each probe to each identity, and what could not be read."""

    distances: dict[str, dict[str, float]] = field(default_factory=dict)
    faces: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    cpu_seconds: float = 0.0


def run_engine(
    references: dict[str, list[Path]], probes: list[LabelledImage], policy=face_engine.DEFAULT_POLICY
) -> EngineRun:
    run = EngineRun()
    started = time.process_time()
    limits = MediaLimits()
    templates: list[tuple[str, np.ndarray]] = []
    for identity, paths in references.items():
        for path in paths:
            found = face_engine.find_faces(decode_image(path.read_bytes(), limits).rgb, policy)
            if found:  # the largest face, as an enrolment would insist on one
                largest = max(found, key=lambda f: f.box.width * f.box.height)
                templates.append((identity, largest.embedding))
    names = np.array([name for name, _ in templates])
    matrix = np.stack([embedding for _, embedding in templates]) if templates else np.zeros((0, 128))
    for probe in probes:
        key = str(probe.path)
        try:
            found = face_engine.find_faces(decode_image(probe.path.read_bytes(), limits).rgb, policy)
        except MediaError as exc:
            run.errors[key] = exc.reason
            continue
        run.faces[key] = len(found)
        best: dict[str, float] = {}
        for face in found:
            distances = np.linalg.norm(matrix - face.embedding, axis=1)
            for name in set(names):
                distance = float(distances[names == name].min())
                best[name] = min(best.get(name, np.inf), distance)
        run.distances[key] = best
    run.cpu_seconds = time.process_time() - started
    return run


@dataclass(frozen=True)
class Counts:
    true_matches: int
    missed_matches: int
    false_matches: int
    unverifiable_matches: int  # matches on unlabelled photos

    @property
    def recall(self) -> float:
        expected = self.true_matches + self.missed_matches
        return self.true_matches / expected if expected else 0.0


def score(matched: dict[str, set[str]], probes: list[LabelledImage], known: set[str]) -> Counts:
    """Score which identities were matched in each probe (by path) against the labels."""
    true = missed = false = unverifiable = 0
    for probe in probes:
        got = matched.get(str(probe.path), set())
        if not probe.labelled:
            unverifiable += len(got)
            continue
        expected = probe.identities & known  # identities with no reference cannot be found
        true += len(got & expected)
        missed += len(expected - got)
        false += len(got - probe.identities)
    return Counts(true, missed, false, unverifiable)


def matched_at(run: EngineRun, threshold: float) -> dict[str, set[str]]:
    return {probe: {name for name, d in best.items() if d <= threshold} for probe, best in run.distances.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--references", type=int, default=1)
    parser.add_argument("--exhaustive", action="store_true", help="always run the fine detection pass")
    args = parser.parse_args(argv)
    references, probes = split(load_labels(args.folder), args.references)
    policy = face_engine.DetectionPolicy(exhaustive=args.exhaustive)
    run = run_engine(references, probes, policy)
    json.dump({"distances": run.distances, "faces": run.faces, "errors": run.errors, "cpu_seconds": run.cpu_seconds},
              sys.stdout)


if __name__ == "__main__":
    main()
