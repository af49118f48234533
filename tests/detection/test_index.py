import pytest
from django.test import override_settings

from casework.models import ConsentPurpose
from casework.services.consent import consent_withdraw
from detection import index as match_index_module
from detection import services
from detection.engine import faces as face_engine
from detection.engine import hashes
from detection.engine.index import INDEX_BUILD_FAILED, INDEX_BUILDING, IndexNotReady
from detection.engine.media import decode_image
from detection.index import match_index, match_index_bump, match_index_checkpoint, match_index_forget
from detection.models import MatchIndexState


@pytest.fixture(autouse=True)
def fresh_index():
    # Each test's database is rolled back, but this process's index would outlive it.
    match_index_forget()
    yield
    match_index_forget()


@pytest.fixture
def builds():
    """How many times this test built or loaded the index."""
    start = match_index_module._holder.builds
    return lambda: match_index_module._holder.builds - start


@pytest.fixture
def reported_face(images):
    (face,) = face_engine.find_faces(decode_image(images["reported-astronaut.jpg"]).rgb)
    return face.embedding


def test_the_index_is_built_from_templates_and_pdq_hashes(astronaut_subject, enrol, reported_face):
    from skimage import data

    hash_subject = enrol([], name="Hash-only subject", purposes=[ConsentPurpose.HASH_MATCHING])
    known = hashes.pdq(data.astronaut())
    services.known_hash_add(subject_id=hash_subject.pk, algorithm="pdq", value=known.hex, quality=known.quality)
    services.known_hash_add(subject_id=hash_subject.pk, algorithm="phash", value="ab" * 8, quality=None)

    index = match_index()
    assert (index.faces.size, index.pdq.size) == (1, 1)  # pHash is not indexed
    (match,) = index.match_likeness([reported_face], threshold=0.6)
    assert match.subject_id == astronaut_subject.pk and match.references_total == 1
    (hit,) = index.match_pdq([known.hex], threshold=31)
    assert (hit.subject_id, hit.distance) == (hash_subject.pk, 0)


def test_the_index_is_rebuilt_only_when_the_generation_changes(astronaut_subject, builds):
    first = match_index()
    assert match_index() is first and builds() == 1
    match_index_bump()
    second = match_index()
    assert second is not first and builds() == 2
    assert match_index() is second and builds() == 2


def test_enrolment_and_known_hashes_bump_the_generation(enrol, images):
    subject = enrol([("reference.jpg", images["reference.jpg"])], name="Astronaut")
    generation = MatchIndexState.objects.get().generation
    services.known_hash_add(subject_id=subject.pk, algorithm="pdq", value="f" * 64, quality=90)
    services.known_hash_add(subject_id=subject.pk, algorithm="pdq", value="f" * 64, quality=90)  # already known
    assert MatchIndexState.objects.get().generation == generation + 1


def test_a_withdrawn_subject_disappears_from_the_next_match(astronaut_subject, reported_face):
    assert match_index().match_likeness([reported_face], threshold=0.6)
    before = match_index_checkpoint()
    consent_withdraw(consent=astronaut_subject.consents.get())
    assert match_index_checkpoint() != before
    index = match_index()
    assert index.faces.size == 0
    assert index.match_likeness([reported_face], threshold=0.6) == []


def test_a_missing_state_row_is_generation_zero_and_a_bump_creates_it(db):
    assert match_index_checkpoint() == "0"
    assert match_index().faces.size == 0
    match_index_bump()
    assert MatchIndexState.objects.get(pk=1).generation == 1


def test_a_build_in_another_thread_means_not_ready(db):
    match_index_module._holder.lock.acquire()  # as a building thread holds it
    try:
        with pytest.raises(IndexNotReady) as raised:
            match_index()
        assert raised.value.reason == INDEX_BUILDING
    finally:
        match_index_module._holder.lock.release()


def test_a_failed_build_means_not_ready_and_is_retried_later(db, monkeypatch, builds):
    calls = []

    def fail(checkpoint):
        calls.append(checkpoint)
        raise MemoryError

    monkeypatch.setattr(match_index_module, "match_index_build", fail)
    for _ in range(2):
        with pytest.raises(IndexNotReady) as raised:
            match_index()
        assert raised.value.reason == INDEX_BUILD_FAILED
    assert len(calls) == 1  # the second scan did not repeat the failing build at once
    monkeypatch.undo()
    match_index_bump()  # a new checkpoint is always tried
    assert match_index().faces.size == 0 and builds() == 1


@pytest.mark.parametrize("faiss_min", [100_000, 1])
def test_a_restarted_worker_loads_the_checkpoint_instead_of_reading_the_database(
    astronaut_subject, reported_face, tmp_path, monkeypatch, faiss_min
):
    with override_settings(MATCH_INDEX_DIR=str(tmp_path), MATCH_INDEX_FAISS_MIN=faiss_min):
        built = match_index()
        assert list(tmp_path.glob("match-index-*"))
        match_index_forget()  # as if the worker restarted
        monkeypatch.setattr(match_index_module, "match_index_build", pytest.fail)
        loaded = match_index()
    assert loaded is not built and loaded.checkpoint == built.checkpoint
    assert loaded.faces.kind == built.faces.kind == ("exact" if faiss_min > 1 else "faiss-ivf-flat")
    assert loaded.match_likeness([reported_face], threshold=0.6) == built.match_likeness([reported_face], threshold=0.6)
