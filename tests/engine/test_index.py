import numpy as np
import pytest

from detection.engine import multihash
from detection.engine.errors import ReadableError
from detection.engine.index import (
    INDEX_BUILDING,
    FaceIndex,
    IndexNotReady,
    MatchIndex,
    PdqIndex,
)
from detection.engine.matcher import KnownHash, Template, match_likeness, match_pdq


def vec(*head: float) -> np.ndarray:
    v = np.zeros(128)
    v[: len(head)] = head
    return v


def identities(count: int, per_identity: int, seed: int = 0):
    """Templates clustered like real ones: same person ~0.4 apart, different people ~1.0+."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((count, 128))
    centres *= 0.7 / np.linalg.norm(centres, axis=1, keepdims=True)
    subjects = np.repeat(np.arange(count), per_identity)
    embeddings = centres[subjects] + rng.standard_normal((len(subjects), 128)) * 0.025
    return centres, subjects + 1, embeddings, rng


def summary(matches):
    return [(m.subject_id, m.template_id, m.face_index, m.references_agreeing, m.references_total) for m in matches]


def test_exact_and_faiss_face_indexes_agree_with_the_list_matcher():
    centres, subjects, embeddings, rng = identities(300, 4)
    ids = np.arange(1000, 1000 + len(subjects))
    exact = FaceIndex(ids, subjects, embeddings)
    approximate = FaceIndex(ids, subjects, embeddings, faiss_min=100)
    assert (exact.kind, approximate.kind) == ("exact", "faiss-ivf-flat")
    templates = [Template(int(i), int(s), e.astype(np.float32)) for i, s, e in zip(ids, subjects, embeddings)]
    for _ in range(30):
        probes = list(centres[rng.integers(0, 300, 3)] + rng.standard_normal((3, 128)) * 0.025)
        expected = match_likeness(probes, templates, threshold=0.6)
        assert expected
        for index in (exact, approximate):
            found = index.match_likeness(probes, threshold=0.6)
            assert summary(found) == summary(expected)
            assert np.allclose([m.distance for m in found], [m.distance for m in expected])


def test_a_face_search_returns_every_template_within_the_threshold_and_none_beyond():
    embeddings = np.stack([vec(0.0), vec(0.5), vec(0.59), vec(0.61), vec(2.0)])
    for faiss_min in (100, 1):
        index = FaceIndex([1, 2, 3, 4, 5], [10, 10, 20, 20, 30], embeddings, faiss_min=faiss_min)
        (hits,) = index.search(vec(0.0)[None, :], threshold=0.6)
        assert [h.template_id for h in hits] == [1, 2, 3]
        assert [round(h.distance, 5) for h in hits] == [0.0, 0.5, 0.59]
        (hits,) = index.search(vec(0.0)[None, :], threshold=0.5)
        assert [h.template_id for h in hits] == [1, 2]  # the threshold itself matches, as in matcher


def test_the_face_index_matches_like_the_list_matcher_on_its_example():
    embeddings = [vec(0.0), vec(0.5), vec(2.0), vec(5.0)]
    index = FaceIndex([1, 2, 3, 4], [10, 10, 10, 20], np.stack(embeddings))
    (match,) = index.match_likeness([vec(3.0), vec(0.1)], threshold=0.6)
    assert (match.subject_id, match.template_id, match.face_index) == (10, 1, 1)
    assert np.isclose(match.distance, 0.1)
    assert (match.references_agreeing, match.references_total, match.threshold) == (2, 3, 0.6)


def test_an_empty_face_index_matches_nothing():
    index = FaceIndex([], [], np.empty((0, 128)))
    assert index.size == 0 and index.match_likeness([vec(0.0)], threshold=0.6) == []
    assert index.search(vec(0.0)[None, :], threshold=0.6) == [[]]


def random_hashes(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 32), dtype=np.uint8)


def flipped(hash_bytes: np.ndarray, bits: int, rng) -> np.ndarray:
    unpacked = np.unpackbits(hash_bytes)
    unpacked[rng.choice(256, bits, replace=False)] ^= 1
    return np.packbits(unpacked)


def brute_force(hashes: np.ndarray, probe: np.ndarray) -> np.ndarray:
    return np.unpackbits(hashes ^ probe, axis=1).sum(axis=1)


# 16-bit chunks; 20-bit ones that cross 64-bit words; a radius that leaves some chunks unprobed.
@pytest.mark.parametrize(("chunks_bits", "radius"), [(None, 31), ((12, 20), 31), ((16, 16), 10)])
def test_multi_index_hashing_finds_every_planted_near_duplicate_and_nothing_else(chunks_bits, radius):
    rng = np.random.default_rng(1)
    hashes = random_hashes(50_000)
    table = multihash.MultiHashTable(multihash.as_words(hashes), radius=radius, chunks_bits=chunks_bits)
    for distance in [*range(0, radius + 1), radius + 1, radius + 2, radius + 9]:
        row = int(rng.integers(len(hashes)))
        probe = flipped(hashes[row], distance, rng)
        rows, _ = table.candidates(probe[None, :], radius)
        within = set(np.flatnonzero(brute_force(hashes, probe) <= radius).tolist())
        found = {int(r) for r in rows if brute_force(hashes[r : r + 1], probe)[0] <= radius}
        assert found == within
        assert (row in found) == (distance <= radius)


def test_pdq_index_matches_like_the_list_matcher_exact_and_multi_index():
    rng = np.random.default_rng(2)
    hashes = random_hashes(10_000)
    ids, subjects = np.arange(5, 10_005), rng.integers(1, 60, 10_000)
    exact = PdqIndex(ids, subjects, hashes, multihash_min=10**9)
    multi = PdqIndex(ids, subjects, hashes, multihash_min=1)
    assert exact.kind == "exact" and multi.kind.startswith("multi-index")
    known = [KnownHash(int(i), int(s), "pdq", h.tobytes().hex()) for i, s, h in zip(ids, subjects, hashes)]
    for _ in range(10):
        # Eight "dihedral variants": near and far copies of known hashes.
        variants = [flipped(hashes[rng.integers(10_000)], int(rng.integers(0, 45)), rng).tobytes().hex()
                    for _ in range(8)]
        expected = sorted((m.subject_id, m.distance) for m in match_pdq(variants, known, threshold=31))
        for index in (exact, multi):
            assert sorted((m.subject_id, m.distance) for m in index.match_pdq(variants, threshold=31)) == expected
        assert exact.search(variants) == multi.search(variants)


def test_a_pdq_hit_is_at_its_nearest_variant():
    known = np.frombuffer(bytes.fromhex("f" * 64), dtype=np.uint8)[None, :]
    index = PdqIndex([7], [10], known, multihash_min=1)
    near, nearer, far = "0" * 6 + "f" * 58, "0" * 2 + "f" * 62, "0" * 64
    (hit,) = index.search([far, near, nearer])
    assert (hit.hash_id, hit.subject_id, hit.distance) == (7, 10, 8)
    assert index.search([far]) == []


def test_a_malformed_probe_is_refused():
    index = PdqIndex([7], [10], random_hashes(1))
    with pytest.raises(ValueError):
        index.search(["abc"])


def test_the_layout_for_ten_million_hashes_uses_wide_chunks():
    assert multihash.layout(10_000_000, 31) == (11, 23)
    assert multihash.layout(1_000, 31) == (16, 16)


def test_not_ready_is_a_readable_error_not_an_empty_answer():
    error = IndexNotReady()
    assert isinstance(error, ReadableError) and error.reason == INDEX_BUILDING


@pytest.mark.parametrize("faiss_min", [10**9, 100])
def test_a_saved_index_loads_at_its_checkpoint_only(tmp_path, faiss_min):
    _, subjects, embeddings, _ = identities(100, 3)
    faces = FaceIndex(np.arange(len(subjects)), subjects, embeddings, checkpoint="7", faiss_min=faiss_min)
    pdq = PdqIndex([1, 2], [10, 20], random_hashes(2), checkpoint="7")
    MatchIndex(faces=faces, pdq=pdq, checkpoint="7").save(tmp_path)
    assert MatchIndex.load(tmp_path, "8") is None
    loaded = MatchIndex.load(tmp_path, "7")
    assert (loaded.checkpoint, loaded.faces.kind, loaded.faces.size, loaded.pdq.size) == ("7", faces.kind, 300, 2)
    probe = embeddings[:1]
    assert loaded.faces.search(probe, 0.6) == faces.search(probe, 0.6)
    assert loaded.pdq.search(random_hashes(2)[:1]) == pdq.search(random_hashes(2)[:1])
    MatchIndex(faces=faces, pdq=pdq, checkpoint="8").save(tmp_path)
    assert MatchIndex.load(tmp_path, "7") is None  # older checkpoints are removed
