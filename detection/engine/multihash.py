"""Multi-index hashing: every stored 256-bit hash within a Hamming radius of a probe, exactly.

Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with Multi-Index Hashing" (CVPR 2012).
The hash is cut into ``m`` chunks of ``b`` bits. If two hashes differ in at most ``r = a·m + c`` bits
(``c < m``), then by the pigeonhole principle one of the first ``c + 1`` chunks differs in at most
``a`` bits or one of the others in at most ``a - 1`` (else the total would be at least
``(c+1)(a+1) + (m-c-1)a = r + 1``). So looking up each chunk of the probe with every flip of up to
that many bits finds every stored hash within ``r``: the result is exact, not approximate.
Candidates are then checked on all 256 bits.

Each chunk's table is a sorted array (counting-sort layout): ``offsets[key]`` to ``offsets[key+1]``
in ``rows`` are the stored hashes whose chunk equals ``key``. That costs 4 bytes per hash per chunk
plus 4 × 2^b bytes of offsets; FAISS's ``IndexBinaryMultiHash`` keeps a C++ hash map per chunk
instead, which measured ~6-8× slower here (1M PDQ hashes, radius 31: 16×16-bit chunks 524
lookups/s, 12×20-bit 645/s, and ~800 MB at 1M hashes, so ~8 GB at 10M).
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np

HASH_BITS = 256
WORDS = HASH_BITS // 64
MIN_CHUNK_BITS = 16
MAX_CHUNK_BITS = 23  # 2^23 offsets per chunk is 32 MB; wider chunks need 10 chunks and 3-bit flips


def as_words(hashes: np.ndarray) -> np.ndarray:
    """n × 32 bytes (PDQ's bit order, most significant first) as n × 4 big-endian 64-bit words."""
    hashes = np.ascontiguousarray(hashes, dtype=np.uint8).reshape(-1, HASH_BITS // 8)
    return hashes.view(">u8").astype(np.uint64)


def distances_to(words: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """Hamming distances of n × 4 ``words`` to one 4-word ``probe``."""
    total = np.zeros(len(words), dtype=np.int16)
    for column in range(WORDS):  # column by column: broadcasting over a 4-wide axis is ~10× slower
        total += np.bitwise_count(words[:, column] ^ probe[column])
    return total


def row_distances(words: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """Hamming distances between rows of two n × 4 arrays, row by row."""
    counts = np.bitwise_count(words ^ probes)
    return counts[:, 0].astype(np.int16) + counts[:, 1] + counts[:, 2] + counts[:, 3]


def chunk_keys(words: np.ndarray, start: int, bits: int) -> np.ndarray:
    """Bits ``start`` to ``start + bits`` (counted from the most significant) of each hash."""
    word, shift = divmod(start, 64)
    high = words[:, word] << np.uint64(shift)
    if shift + bits > 64:
        high |= words[:, word + 1] >> np.uint64(64 - shift)
    return (high >> np.uint64(64 - bits)).astype(np.uint32)


@cache
def flip_masks(bits: int, flips: int) -> np.ndarray:
    """Every mask of at most ``flips`` set bits in a ``bits``-bit key, the empty mask first."""
    masks = [0]
    for count in range(1, flips + 1):
        masks += [sum(1 << i for i in chosen) for chosen in itertools.combinations(range(bits), count)]
    return np.array(masks, dtype=np.uint32)


def chunk_radii(chunks: int, radius: int) -> list[int]:
    """The flips to try in each chunk (see the module docstring); -1 means the chunk is not probed."""
    each, extra = divmod(radius, chunks)
    return [each if chunk <= extra else each - 1 for chunk in range(chunks)]


def layout(size: int, radius: int) -> tuple[int, int]:
    """(chunks, bits per chunk) with the least expected work per lookup for ``size`` hashes.

    Work is the keys probed plus the candidates they return (``keys × size / 2^b`` for uniform
    hashes). Offsets are kept no larger than the rows (2^b ≤ size), so a small index stays small.
    """
    best = None
    for bits in range(MIN_CHUNK_BITS, MAX_CHUNK_BITS + 1):
        if bits > MIN_CHUNK_BITS and 2**bits > size:
            break
        chunks = HASH_BITS // bits
        keys = sum(len(flip_masks(bits, flips)) for flips in chunk_radii(chunks, radius) if flips >= 0)
        work = keys + keys * size / 2**bits
        if best is None or work < best[0]:
            best = (work, chunks, bits)
    return best[1], best[2]


class MultiHashTable:
    def __init__(self, words: np.ndarray, *, radius: int, chunks_bits: tuple[int, int] | None = None):
        """Index ``words`` (n × 4, from ``as_words``), laid out for lookups within ``radius`` bits
        (or as ``chunks_bits`` says: tests use it to try wide chunks on small data)."""
        self.size = len(words)
        self.chunks, self.bits = chunks_bits or layout(self.size, radius)
        if self.chunks * self.bits > HASH_BITS:
            raise ValueError(f"{self.chunks} chunks of {self.bits} bits exceed {HASH_BITS} bits")
        keys_per_chunk = 2**self.bits + 1
        self._offsets = np.zeros((self.chunks, keys_per_chunk), dtype=np.int64 if self.size >= 2**31 else np.int32)
        self._rows = np.empty((self.chunks, self.size), dtype=np.int32)
        for chunk in range(self.chunks):
            keys = chunk_keys(words, chunk * self.bits, self.bits)
            self._rows[chunk] = np.argsort(keys, kind="stable")
            np.cumsum(np.bincount(keys, minlength=keys_per_chunk - 1), out=self._offsets[chunk, 1:])
        self._offsets = self._offsets.reshape(-1)
        self._rows = self._rows.reshape(-1)
        self._plans: dict[int, tuple[np.ndarray, ...]] = {}

    def _plan(self, radius: int) -> tuple[np.ndarray, ...]:
        """Per-radius constants of a lookup, one entry per key probed ("slot"), computed once:
        numpy's per-call overhead dominates small lookups."""
        if radius in self._plans:
            return self._plans[radius]
        radii = chunk_radii(self.chunks, radius)
        probed = [(chunk, flip_masks(self.bits, flips)) for chunk, flips in enumerate(radii) if flips >= 0]
        slot_chunk = np.concatenate([np.full(len(masks), chunk, dtype=np.int64) for chunk, masks in probed])
        slot_mask = np.concatenate([masks for _, masks in probed]).astype(np.int64)
        weights = np.left_shift(1, np.arange(self.bits - 1, -1, -1), dtype=np.int64)
        plan = (slot_chunk, slot_mask, slot_chunk * (2**self.bits + 1), slot_chunk * self.size, weights)
        self._plans[radius] = plan
        return plan

    def candidates(self, probes: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """(row, probe number) pairs that may lie within ``radius`` of the probes (k × 32 bytes).

        Every stored hash within ``radius`` of a probe is among them with that probe's number; a
        row may appear more than once.
        """
        slot_chunk, slot_mask, first_key, first_row, weights = self._plan(radius)
        probes = np.ascontiguousarray(probes, dtype=np.uint8)
        count = len(probes)
        if self.bits == 16:  # the usual layout up to a few million hashes: chunks are 16-bit words
            probe_keys = probes.view(">u2").astype(np.int64)
        else:
            bits = np.unpackbits(probes, axis=1)[:, : self.chunks * self.bits]
            probe_keys = bits.reshape(count, self.chunks, self.bits) @ weights  # probes × chunks
        slots = (probe_keys[:, slot_chunk] ^ slot_mask) + first_key  # probes × slots
        starts = np.take(self._offsets, slots)  # np.take: several times faster than fancy indexing here
        lengths = (np.take(self._offsets, slots + 1) - starts).reshape(-1)
        # Each slot's run of rows, laid end to end: run start + 0, 1, 2, ... within the run.
        ends = np.cumsum(lengths)
        shifted = np.repeat((starts + first_row).reshape(-1) - (ends - lengths), lengths)
        rows = np.take(self._rows, shifted + np.arange(len(shifted)))
        if count == 1:
            return rows, np.zeros(len(rows), dtype=np.int64)
        return rows, np.repeat(np.arange(count).repeat(slots.shape[1]), lengths)
