import numpy as np

from detection.engine.matcher import KnownHash, Template, match_likeness, match_pdq


def vec(*head: float) -> np.ndarray:
    v = np.zeros(128)
    v[: len(head)] = head
    return v


def test_best_distance_per_subject_and_how_many_references_agree():
    templates = [
        Template(1, subject_id=10, embedding=vec(0.0)),
        Template(2, subject_id=10, embedding=vec(0.5)),
        Template(3, subject_id=10, embedding=vec(2.0)),
        Template(4, subject_id=20, embedding=vec(5.0)),
    ]
    matches = match_likeness([vec(3.0), vec(0.1)], templates, threshold=0.6)
    assert len(matches) == 1
    match = matches[0]
    assert (match.subject_id, match.template_id, match.face_index) == (10, 1, 1)
    assert np.isclose(match.distance, 0.1)
    assert (match.references_agreeing, match.references_total, match.threshold) == (2, 3, 0.6)


def test_nothing_beyond_threshold_and_nothing_without_templates():
    assert match_likeness([vec(1.0)], [Template(1, 10, vec(0.0))], threshold=0.6) == []
    assert match_likeness([vec(1.0)], [], threshold=0.6) == []
    assert match_likeness([], [Template(1, 10, vec(0.0))], threshold=0.6) == []


def test_pdq_matches_any_variant_within_threshold():
    known = [KnownHash(7, subject_id=10, algorithm="pdq", hex="f" * 64), KnownHash(8, 20, "phash", "f" * 16)]
    near = "0" * 6 + "f" * 58  # 24 bits differ
    far = "0" * 64
    assert match_pdq([far, near], known, threshold=31)[0].distance == 24
    assert match_pdq([far], known, threshold=31) == []

