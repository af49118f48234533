"""The match index: consented subjects' face templates and known-image PDQ hashes, held in memory.

``detection.index`` builds it from the database and rebuilds it only when its checkpoint (the
generation of ``MatchIndexState``) has moved; this module is plain Python so that it can be built
and benchmarked on its own (``detection.engine.bench_index``).

Faces: exact numpy search below ``FACE_FAISS_MIN`` templates; FAISS IVF-Flat from there on. Measured
on clustered synthetic templates with 1 thread (bench_index): at 200k, IVF-Flat built in 4 s and
HNSW32 in 26 s; radius recall at 0.6 was 1.000 for IVF (nlist 4√n, nprobe ≥ 4) against 0.998 for
HNSW (efSearch 128). IVF-Flat also answers a radius query natively (``range_search``), where HNSW
searches k nearest and filters. So IVF-Flat it is, with ``nprobe`` 16× above the smallest that gave
full recall, because real templates cluster less cleanly than synthetic ones.

Templates are held as float32 (FAISS's type, and half the memory of the float64 rows), so a
distance can differ from the list matcher's in the sixth decimal; every candidate is re-measured
the same way on both paths, so the exact and FAISS indexes give identical answers.

PDQ: exact XOR + popcount below ``PDQ_MULTIHASH_MIN`` hashes; multi-index hashing from there on,
which is exact too (see ``detection.engine.multihash``), so the PDQ index never misses a match.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detection.engine import multihash
from detection.engine.errors import ReadableError
from detection.engine.faces import EMBEDDING_SIZE
from detection.engine.matcher import HashMatch, LikenessMatch

INDEX_BUILDING = (
    "Matching is not ready yet: the index of reference faces and known images is being built. "
    "The scan will be retried; nothing has been matched or missed."
)
INDEX_BUILD_FAILED = (
    "Matching is not available: the index of reference faces and known images could not be built. "
    "The scan will be retried; if this persists, the worker log says why."
)

# Exact search costs ~25 ns per template per probe face on one core (23 ms at 1M); at 100k that is
# ~2.5 ms a face, below which FAISS's training and approximate answers are not worth having.
FACE_FAISS_MIN = 100_000
# Multi-index hashing answers a lookup in well under a millisecond at any size, while exact search
# grows with the index; its tables cost 4 bytes per hash per chunk, negligible below this size.
PDQ_MULTIHASH_MIN = 20_000
PDQ_THRESHOLD = 31  # Meta's recommended PDQ match distance; the tables are laid out for it
PDQ_BYTES = multihash.HASH_BITS // 8

# On-disk format of a checkpoint; bump when what ``MatchIndex.save`` writes changes.
CHECKPOINT_FORMAT = 1


class IndexNotReady(ReadableError):
    """The index is being built or could not be built: answer "not ready", never "no match"."""

    def __init__(self, reason: str = INDEX_BUILDING):
        super().__init__(reason)


@dataclass(frozen=True)
class FaceHit:
    template_id: int
    subject_id: int
    distance: float


@dataclass(frozen=True)
class PdqHit:
    hash_id: int
    subject_id: int
    distance: int


class FaceIndex:
    """Face templates of consented subjects; ``search`` returns every template within a distance."""

    def __init__(
        self,
        template_ids: Sequence[int] | np.ndarray,
        subject_ids: Sequence[int] | np.ndarray,
        embeddings: np.ndarray,
        *,
        checkpoint: object = None,
        faiss_min: int = FACE_FAISS_MIN,
        nprobe: int = 64,
        _ivf=None,
    ):
        self.template_ids = np.asarray(template_ids, dtype=np.int64).reshape(-1)
        self.subject_ids = np.asarray(subject_ids, dtype=np.int64).reshape(-1)
        self.checkpoint = checkpoint
        if len(self.template_ids) != len(self.subject_ids):
            raise ValueError("template_ids and subject_ids differ in length")
        subjects, counts = np.unique(self.subject_ids, return_counts=True)
        # references_total of a match counts all the subject's templates, not only those found.
        self._references = dict(zip(subjects.tolist(), counts.tolist(), strict=True))
        self._embeddings = self._ivf = None
        if _ivf is not None:
            self._ivf = _ivf
            return
        embeddings = np.ascontiguousarray(embeddings, dtype=np.float32).reshape(-1, EMBEDDING_SIZE)
        if len(embeddings) != len(self.template_ids):
            raise ValueError("embeddings and template_ids differ in length")
        if len(embeddings) >= faiss_min:
            self._ivf = _ivf_build(embeddings, nprobe=nprobe)
        else:
            self._embeddings = embeddings
            self._squared_norms = np.einsum("ij,ij->i", embeddings, embeddings)

    @property
    def size(self) -> int:
        return len(self.template_ids)

    @property
    def kind(self) -> str:
        return "faiss-ivf-flat" if self._ivf is not None else "exact"

    def references_total(self, subject_id: int) -> int:
        return self._references.get(subject_id, 0)

    def search(self, embeddings: np.ndarray, threshold: float) -> list[list[FaceHit]]:
        """For each probe (q × 128), every template within ``threshold``, nearest first."""
        probes = np.ascontiguousarray(embeddings, dtype=np.float32).reshape(-1, EMBEDDING_SIZE)
        if self.size == 0 or len(probes) == 0:
            return [[] for _ in probes]
        # Candidates are gathered with a hair of slack, then measured exactly in float64, so that the
        # exact and the FAISS paths agree to the last bit on what lies within the threshold.
        slack = threshold * (1 + 1e-5) + 1e-6
        if self._ivf is not None:
            limits, _, positions = self._ivf.range_search(probes, slack * slack)
            found = [positions[limits[i] : limits[i + 1]] for i in range(len(probes))]
        else:
            found = list(self._exact_candidates(probes, slack))
        return [self._hits(probe, rows, threshold) for probe, rows in zip(probes, found, strict=True)]

    def _exact_candidates(self, probes: np.ndarray, slack: float):
        # |p - x|² = |p|² + |x|² - 2 p·x: one matrix product instead of an n × 128 difference.
        squared = probes @ self._embeddings.T
        squared *= -2  # in place: at a million templates each q × n temporary is q × 4 MB
        squared += self._squared_norms[None, :]
        squared += np.einsum("ij,ij->i", probes, probes)[:, None]
        for row in squared:
            # float32 rounding of the expansion is ~1e-6 on these norms: widen, then re-measure.
            yield np.flatnonzero(row <= slack * slack + 1e-4)

    def _hits(self, probe: np.ndarray, rows: np.ndarray, threshold: float) -> list[FaceHit]:
        if len(rows) == 0:
            return []
        vectors = self._vectors(rows).astype(np.float64)
        distances = np.linalg.norm(vectors - probe.astype(np.float64), axis=1)
        keep = distances <= threshold
        rows, distances = rows[keep], distances[keep]
        order = np.lexsort((rows, distances))
        return [
            FaceHit(int(self.template_ids[r]), int(self.subject_ids[r]), float(d))
            for r, d in zip(rows[order], distances[order], strict=True)
        ]

    def _vectors(self, rows: np.ndarray) -> np.ndarray:
        if self._ivf is None:
            return self._embeddings[rows]
        return np.stack([self._ivf.reconstruct(int(r)) for r in rows])

    def match_likeness(self, probe_embeddings: Sequence[np.ndarray], *, threshold: float) -> list[LikenessMatch]:
        """As ``detection.engine.matcher.match_likeness``, over every indexed template."""
        if len(probe_embeddings) == 0 or self.size == 0:
            return []
        best: dict[int, LikenessMatch] = {}
        for face_index, hits in enumerate(self.search(np.stack(probe_embeddings), threshold)):
            agreeing: dict[int, int] = {}
            nearest: dict[int, FaceHit] = {}
            for hit in hits:  # nearest first, so the first hit of a subject is its closest
                agreeing[hit.subject_id] = agreeing.get(hit.subject_id, 0) + 1
                nearest.setdefault(hit.subject_id, hit)
            for subject_id, hit in nearest.items():
                if subject_id in best and best[subject_id].distance <= hit.distance:
                    continue
                best[subject_id] = LikenessMatch(
                    subject_id=subject_id,
                    template_id=hit.template_id,
                    face_index=face_index,
                    distance=hit.distance,
                    threshold=threshold,
                    references_agreeing=agreeing[subject_id],
                    references_total=self.references_total(subject_id),
                )
        return sorted(best.values(), key=lambda m: m.distance)

    def save(self, folder: Path) -> None:
        np.savez(folder / "faces.npz", template_ids=self.template_ids, subject_ids=self.subject_ids,
                 embeddings=self._embeddings if self._ivf is None else np.empty((0, EMBEDDING_SIZE), np.float32))
        if self._ivf is not None:
            import faiss

            faiss.write_index(self._ivf, str(folder / "faces.faiss"))

    @classmethod
    def load(cls, folder: Path, *, checkpoint: object) -> FaceIndex:
        with np.load(folder / "faces.npz", allow_pickle=False) as saved:
            ids, subjects, embeddings = saved["template_ids"], saved["subject_ids"], saved["embeddings"]
        if not (folder / "faces.faiss").exists():
            return cls(ids, subjects, embeddings, checkpoint=checkpoint, faiss_min=len(ids) + 1)
        import faiss

        return cls(ids, subjects, embeddings, checkpoint=checkpoint, _ivf=faiss.read_index(str(folder / "faces.faiss")))


def _ivf_build(embeddings: np.ndarray, *, nprobe: int):
    import faiss

    size = len(embeddings)
    # FAISS's guideline is 4√n to 16√n inverted lists, and k-means wants ≥ 39 points a centroid;
    # training on 40 a list from a fixed-seed sample keeps it short and the index reproducible.
    lists = max(1, min(int(4 * math.sqrt(size)), size // 39))
    sample = np.random.default_rng(0).choice(size, min(size, 40 * lists), replace=False)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatL2(EMBEDDING_SIZE), EMBEDDING_SIZE, lists)
    ivf.train(embeddings[np.sort(sample)])
    ivf.add(embeddings)
    ivf.nprobe = min(nprobe, lists)
    ivf.make_direct_map()  # lets candidates be re-measured exactly (reconstruct) without a second copy
    return ivf


def pdq_bytes(hexes: Sequence[str]) -> np.ndarray:
    """PDQ hashes written as 64 hex digits, as k × 32 bytes."""
    try:
        joined = bytes.fromhex("".join(hexes))
    except ValueError:
        raise ValueError("a PDQ hash is not hexadecimal") from None
    if len(joined) != PDQ_BYTES * len(hexes):
        raise ValueError("a PDQ hash is not 64 hex digits long")
    return np.frombuffer(joined, dtype=np.uint8).reshape(-1, PDQ_BYTES)


class PdqIndex:
    """Known-image PDQ hashes; ``search`` returns every hash within a Hamming distance of a probe."""

    def __init__(
        self,
        hash_ids: Sequence[int] | np.ndarray,
        subject_ids: Sequence[int] | np.ndarray,
        hashes: np.ndarray,
        *,
        checkpoint: object = None,
        multihash_min: int = PDQ_MULTIHASH_MIN,
    ):
        self.hash_ids = np.asarray(hash_ids, dtype=np.int64).reshape(-1)
        self.subject_ids = np.asarray(subject_ids, dtype=np.int64).reshape(-1)
        self.checkpoint = checkpoint
        self._words = multihash.as_words(hashes)
        if not len(self.hash_ids) == len(self.subject_ids) == len(self._words):
            raise ValueError("hash_ids, subject_ids and hashes differ in length")
        self._table = None
        if self.size >= multihash_min:
            self._table = multihash.MultiHashTable(self._words, radius=PDQ_THRESHOLD)

    @property
    def size(self) -> int:
        return len(self.hash_ids)

    @property
    def kind(self) -> str:
        return f"multi-index {self._table.chunks}×{self._table.bits} bits" if self._table else "exact"

    def search(self, probes: Sequence[str] | np.ndarray, threshold: int = PDQ_THRESHOLD) -> list[PdqHit]:
        """Every stored hash within ``threshold`` bits of any probe (e.g. the 8 dihedral variants of
        one image), at its distance from the nearest probe; nearest first."""
        if isinstance(probes, np.ndarray):
            probes = np.ascontiguousarray(probes, dtype=np.uint8).reshape(-1, PDQ_BYTES)
        else:
            probes = pdq_bytes(probes)
        if self.size == 0 or len(probes) == 0:
            return []
        probe_words = multihash.as_words(probes)
        if self._table is not None:
            rows, probe_of = self._table.candidates(probes, threshold)
            candidates = np.take(self._words, rows, axis=0)
            if len(probes) == 1:
                distances = multihash.distances_to(candidates, probe_words[0])
            else:
                distances = multihash.row_distances(candidates, np.take(probe_words, probe_of, axis=0))
        else:
            per_probe = [multihash.distances_to(self._words, probe) for probe in probe_words]
            rows = np.tile(np.arange(self.size), len(per_probe))
            distances = np.concatenate(per_probe)
        keep = np.flatnonzero(distances <= threshold)
        if len(keep) == 0:  # the usual answer: return before the sorting below
            return []
        nearest: dict[int, int] = {}  # stored row → distance from its nearest probe; hits are few
        for row, distance in zip(rows[keep].tolist(), distances[keep].tolist(), strict=True):
            if distance < nearest.get(row, distance + 1):
                nearest[row] = distance
        return [
            PdqHit(int(self.hash_ids[row]), int(self.subject_ids[row]), distance)
            for row, distance in sorted(nearest.items(), key=lambda item: (item[1], item[0]))
        ]

    def match_pdq(self, probe_variants: Sequence[str], *, threshold: int) -> list[HashMatch]:
        """As ``detection.engine.matcher.match_pdq``, over every indexed PDQ hash."""
        best: dict[int, HashMatch] = {}
        for hit in self.search(probe_variants, threshold):  # nearest first: the first per subject wins
            if hit.subject_id not in best:
                best[hit.subject_id] = HashMatch(hit.subject_id, hit.hash_id, "pdq", hit.distance, threshold)
        return list(best.values())

    def save(self, folder: Path) -> None:
        # The multi-index tables are not saved: rebuilding them from the hashes takes seconds, where
        # reading millions of rows from the database takes minutes.
        hashes = self._words.astype(">u8").view(np.uint8).reshape(-1, PDQ_BYTES)
        np.savez(folder / "pdq.npz", hash_ids=self.hash_ids, subject_ids=self.subject_ids, hashes=hashes)

    @classmethod
    def load(cls, folder: Path, *, checkpoint: object, multihash_min: int = PDQ_MULTIHASH_MIN) -> PdqIndex:
        with np.load(folder / "pdq.npz", allow_pickle=False) as saved:
            return cls(saved["hash_ids"], saved["subject_ids"], saved["hashes"], checkpoint=checkpoint,
                       multihash_min=multihash_min)


@dataclass(frozen=True)
class MatchIndex:
    """Faces and PDQ hashes built at the same checkpoint."""

    faces: FaceIndex
    pdq: PdqIndex
    checkpoint: object

    def match_likeness(self, probe_embeddings: Sequence[np.ndarray], *, threshold: float) -> list[LikenessMatch]:
        return self.faces.match_likeness(probe_embeddings, threshold=threshold)

    def match_pdq(self, probe_variants: Sequence[str], *, threshold: int) -> list[HashMatch]:
        return self.pdq.match_pdq(probe_variants, threshold=threshold)

    def save(self, directory: Path) -> Path:
        """Write this index under ``directory`` as its checkpoint's folder, atomically: a reader sees
        a whole checkpoint or none. Older checkpoints there are removed."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / checkpoint_name(self.checkpoint)
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=directory))
        try:
            self.faces.save(staging)
            self.pdq.save(staging)
            os.rename(staging, final)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not final.is_dir():  # another worker may have written the same checkpoint first
                raise
        for old in directory.glob("match-index-*"):
            if old != final:
                shutil.rmtree(old, ignore_errors=True)  # a worker still reading it falls back to building
        return final

    @classmethod
    def load(
        cls, directory: Path, checkpoint: object, *, pdq_multihash_min: int = PDQ_MULTIHASH_MIN
    ) -> MatchIndex | None:
        """The index saved at ``checkpoint``, or None if there is none."""
        folder = Path(directory) / checkpoint_name(checkpoint)
        if not folder.is_dir():
            return None
        return cls(
            faces=FaceIndex.load(folder, checkpoint=checkpoint),
            pdq=PdqIndex.load(folder, checkpoint=checkpoint, multihash_min=pdq_multihash_min),
            checkpoint=checkpoint,
        )


def checkpoint_name(checkpoint: object) -> str:
    token = str(checkpoint)
    if not token.replace("-", "").isalnum():
        raise ValueError(f"checkpoint {token!r} cannot name a folder")
    return f"match-index-v{CHECKPOINT_FORMAT}-{token}"
