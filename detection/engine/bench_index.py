"""Benchmark of the match index on synthetic data: build time, lookups per second, latency, recall.

    .venv/bin/python -m detection.engine.bench_index --faces 1000000 --pdq 10000000

Targets (detection issue): ≥ 4,000 lookups/s over 10M PDQ hashes (match ≤ 31 of 256 bits); p99 ≤ 10 ms
over 1M face templates (128-d, Euclidean, 0.6); recall ≥ 0.99 against exact search, the named
baseline whose speed is printed beside each index's.

Lookups are timed one at a time on one thread (``faiss.omp_set_num_threads(1)`` during the timed
part), because a worker scans one media item at a time and answers for one face or one hash; builds
use every core. On a shared machine, timings are indicative: run it twice and compare ratios.

Faces are clustered like real identities: 1,000 groups (think lighting, age, ancestry) of identity
centres, ~5 templates an identity. Same-person distances come out ~0.4, different people ~1.0 and up,
which is the spread dlib's model shows around its 0.6 threshold. Probes are fresh samples of enrolled
people (nine in ten) or of strangers. PDQ hashes are uniformly random 256-bit strings, with a probe
planted at 0-31 bits from a stored hash; real PDQ hashes are less uniform, which fills some
multi-index buckets more than others.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

# One BLAS thread, as README asks of workers: exact search is one small matrix product per probe,
# and OpenBLAS threads waiting on each other for a busy core cost more than they save. Effective
# only when numpy is not loaded yet (``python -m``); ``manage.py`` callers set it in the environment.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from detection.engine import multihash  # noqa: E402
from detection.engine.faces import EMBEDDING_SIZE  # noqa: E402
from detection.engine.index import FaceIndex, PdqIndex  # noqa: E402

FACE_THRESHOLD = 0.6
PDQ_THRESHOLD = 31
GROUPS = 1_000
TEMPLATES_PER_IDENTITY = 5
CHUNK = 100_000


def synthetic_faces(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, Callable[[int], np.ndarray]]:
    """(subject ids, embeddings, draw(k) of probe faces) for ``count`` templates."""
    identities = max(1, count // TEMPLATES_PER_IDENTITY)
    groups = rng.standard_normal((GROUPS, EMBEDDING_SIZE), dtype=np.float32)
    groups *= 0.55 / np.linalg.norm(groups, axis=1, keepdims=True)

    def centres(k: int) -> np.ndarray:
        return groups[rng.integers(0, GROUPS, k)] + rng.standard_normal((k, EMBEDDING_SIZE), dtype=np.float32) * 0.05

    enrolled = centres(identities)
    subjects = rng.integers(0, identities, count)
    embeddings = np.empty((count, EMBEDDING_SIZE), dtype=np.float32)
    for start in range(0, count, CHUNK):
        end = min(count, start + CHUNK)
        noise = rng.standard_normal((end - start, EMBEDDING_SIZE), dtype=np.float32) * 0.025
        embeddings[start:end] = enrolled[subjects[start:end]] + noise

    def probes(k: int) -> np.ndarray:
        known = rng.random(k) < 0.9
        people = np.where(known[:, None], enrolled[rng.integers(0, identities, k)], centres(k))
        return people + rng.standard_normal((k, EMBEDDING_SIZE), dtype=np.float32) * 0.025

    return subjects + 1, embeddings, probes


def synthetic_pdq(count: int, queries: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(stored hashes n × 32, probes q × 32, the stored row each probe was planted from)."""
    hashes = rng.integers(0, 256, (count, 32), dtype=np.uint8)
    sources = rng.integers(0, count, queries)
    bits = np.unpackbits(hashes[sources], axis=1)
    for row, distance in enumerate(rng.integers(0, PDQ_THRESHOLD + 1, queries)):
        bits[row, rng.choice(256, distance, replace=False)] ^= 1
    return hashes, np.packbits(bits, axis=1), sources


def _timed(lookup: Callable[[int], object], count: int) -> tuple[np.ndarray, float]:
    """Wall-clock seconds of each lookup, and the CPU seconds of them all (on a shared machine, the
    CPU time is what a lookup costs; the wall clock adds the wait for a core)."""
    seconds = np.empty(count)
    cpu_started = time.process_time()
    for i in range(count):
        started = time.perf_counter()
        lookup(i)
        seconds[i] = time.perf_counter() - started
    return seconds, time.process_time() - cpu_started


def _row(
    name: str, size: int, kind: str, build_s: float, timed: tuple[np.ndarray, float], recall: float, exact: np.ndarray
) -> dict:
    seconds, cpu_s = timed
    return {
        "index": name, "size": size, "kind": kind, "build_s": round(build_s, 1),
        "lookups_per_s": round(len(seconds) / seconds.sum()),
        "lookups_per_cpu_s": round(len(seconds) / max(cpu_s, 1e-9)),
        "p50_ms": round(float(np.percentile(seconds, 50)) * 1000, 3),
        "p99_ms": round(float(np.percentile(seconds, 99)) * 1000, 3),
        "recall": round(recall, 4),
        "exact_lookups_per_s": round(len(exact) / exact.sum(), 1),
    }


def bench_faces(count: int, queries: int, recall_queries: int, rng: np.random.Generator, threads) -> dict:
    subjects, embeddings, draw = synthetic_faces(count, rng)
    ids = np.arange(count)
    started = time.perf_counter()
    index = FaceIndex(ids, subjects, embeddings)
    build_s = time.perf_counter() - started
    exact = FaceIndex(ids, subjects, embeddings, faiss_min=count + 1)  # shares ``embeddings``: no copy
    probes = draw(queries)
    with threads(1):
        timed = _timed(lambda i: index.search(probes[i : i + 1], FACE_THRESHOLD), queries)
        found = total = 0
        exact_seconds = np.empty(recall_queries)
        for i in range(recall_queries):
            started = time.perf_counter()
            (truth,) = exact.search(probes[i : i + 1], FACE_THRESHOLD)
            exact_seconds[i] = time.perf_counter() - started
            (hits,) = index.search(probes[i : i + 1], FACE_THRESHOLD)
            truth_ids = {h.template_id for h in truth}
            found += len(truth_ids & {h.template_id for h in hits})
            total += len(truth_ids)
    return _row("faces (1 face)", count, index.kind, build_s, timed, found / max(total, 1), exact_seconds)


def bench_pdq(count: int, queries: int, recall_queries: int, rng: np.random.Generator, threads) -> list[dict]:
    hashes, probes, sources = synthetic_pdq(count, queries, rng)
    ids = np.arange(count)
    started = time.perf_counter()
    index = PdqIndex(ids, np.zeros(count, dtype=np.int64), hashes)
    build_s = time.perf_counter() - started
    words = multihash.as_words(hashes)
    del hashes
    with threads(1):
        timed = _timed(lambda i: index.search(probes[i : i + 1], PDQ_THRESHOLD), queries)
        # An image is looked up as its 8 dihedral variants: here the planted probe and 7 others.
        images = queries // 8
        image_timed = _timed(lambda i: index.search(probes[i * 8 : i * 8 + 8], PDQ_THRESHOLD), images)
        found = total = 0
        exact_seconds = np.empty(recall_queries)
        for i in range(recall_queries):
            started = time.perf_counter()
            distances = multihash.distances_to(words, multihash.as_words(probes[i])[0])
            truth = set(np.flatnonzero(distances <= PDQ_THRESHOLD).tolist())
            exact_seconds[i] = time.perf_counter() - started
            found += len(truth & {h.hash_id for h in index.search(probes[i : i + 1], PDQ_THRESHOLD)})
            total += len(truth)
            assert sources[i] in truth
    planted = sum(sources[i] in {h.hash_id for h in index.search(probes[i : i + 1])} for i in range(queries))
    rows = [
        _row("pdq (1 hash)", count, index.kind, build_s, timed, found / max(total, 1), exact_seconds),
        _row("pdq (image, 8 hashes)", count, index.kind, build_s, image_timed, found / max(total, 1),
             exact_seconds * 8),
    ]
    rows[0]["planted_found"] = f"{planted}/{queries}"
    return rows


def run(
    n_faces: int = 1_000_000,
    n_pdq: int = 10_000_000,
    queries: int = 2_000,
    recall_queries: int = 100,
    seed: int = 0,
    out: Callable[[str], object] = print,
) -> dict:
    """Build both indexes on synthetic data, time lookups, check recall; print a table and return it."""
    rng = np.random.default_rng(seed)
    threads = _thread_limit()
    rows = []
    if n_faces:
        rows.append(bench_faces(n_faces, queries, min(recall_queries, queries), rng, threads))
    if n_pdq:
        rows.extend(bench_pdq(n_pdq, queries, min(recall_queries, queries), rng, threads))
    out(_table(rows))
    out("Lookups timed one at a time on one thread; /CPU-s counts CPU time only (the machine may be shared);")
    out("exact = brute force over the same data, the baseline of speedup; recall is against it.")
    return {"rows": rows, "queries": queries, "recall_queries": recall_queries, "seed": seed}


def _thread_limit():
    """A context manager that limits FAISS's OpenMP threads, restoring the count after."""
    from contextlib import contextmanager

    import faiss

    @contextmanager
    def limit(count: int):
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(count)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(before)

    return limit


def _table(rows: list[dict]) -> str:
    header = f"{'index':<22} {'size':>11} {'kind':<22} {'build s':>8} {'lookups/s':>10} {'/CPU-s':>8} {'p50 ms':>7} "
    header += f"{'p99 ms':>7} {'recall':>7} {'exact/s':>8} {'speedup':>8}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['index']:<22} {r['size']:>11,} {r['kind']:<22} {r['build_s']:>8.1f} {r['lookups_per_s']:>10,} "
            f"{r['lookups_per_cpu_s']:>8,} {r['p50_ms']:>7.3f} {r['p99_ms']:>7.3f} {r['recall']:>7.4f} "
            f"{r['exact_lookups_per_s']:>8,.1f} "
            f"{r['lookups_per_s'] / r['exact_lookups_per_s']:>7,.0f}×"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=1_000_000, help="face templates (0 to skip)")
    parser.add_argument("--pdq", type=int, default=10_000_000, help="PDQ hashes (0 to skip)")
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--recall-queries", type=int, default=100, help="queries also run exactly, for recall")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run(args.faces, args.pdq, args.queries, args.recall_queries, args.seed)


if __name__ == "__main__":
    main()
