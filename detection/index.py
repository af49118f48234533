"""This process's match index, built from the database and rebuilt only when it has changed.

Every change to face templates or known-image hashes calls ``match_index_bump`` in its own
transaction, after the change; ``match_index`` reads the ``MatchIndexState`` row once per scan and
rebuilds only when its generation moved. While a build runs in another thread, or after one failed,
it raises ``IndexNotReady``: a scan must say "not ready" rather than "no match".

With ``settings.MATCH_INDEX_DIR`` set, each built index is also saved there under its checkpoint, so
a worker that restarts (a deploy, a crash, Celery's max-tasks-per-child) or a second worker on the
same host loads it in seconds instead of reading every template and hash from the database again.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from detection.encryption import EncryptionError, data_decrypt
from detection.engine.faces import EMBEDDING_SIZE
from detection.engine.index import (
    INDEX_BUILD_FAILED,
    INDEX_BUILDING,
    PDQ_BYTES,
    FaceIndex,
    IndexNotReady,
    MatchIndex,
    PdqIndex,
)
from detection.models import FaceTemplate, KnownImageHash, MatchIndexState

log = logging.getLogger(__name__)

STATE_PK = 1
CHUNK_ROWS = 10_000
RETRY_AFTER_FAILURE_S = 30  # a failing build reads every row; do not repeat it for every scan


class _Holder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: MatchIndex | None = None
        self.failed_at: tuple[str, float] | None = None  # (checkpoint, monotonic time)
        self.builds = 0  # builds and loads in this process: tests count them


_holder = _Holder()


def match_index_checkpoint() -> str:
    """The current checkpoint: the generation and when it was set, read in one single-row query.

    The time is part of it because a generation number alone can come back with other contents: a
    rolled-back transaction (every test) or a database restored from a backup. A missing row is
    generation 0, its default.
    """
    row = MatchIndexState.objects.filter(pk=STATE_PK).values_list("generation", "changed_at").first()
    if row is None:
        return "0"
    generation, changed_at = row
    return f"{generation}-{int(changed_at.timestamp()) * 1_000_000 + changed_at.microsecond}"


def match_index_bump() -> None:
    """Move the checkpoint on, so that every process's index is stale.

    Call after the change, in the same transaction: committed together, no worker can see the new
    generation without the change.

    Inside a transaction this holds the state row's lock until commit, so concurrent enrolments and
    withdrawals queue here; they are human-paced, and a lost bump would leave a stale index.
    """
    MatchIndexState.objects.get_or_create(pk=STATE_PK)
    MatchIndexState.objects.filter(pk=STATE_PK).update(generation=F("generation") + 1, changed_at=timezone.now())


def match_index() -> MatchIndex:
    """The index at the current checkpoint, built or loaded if this process's copy is stale.

    Raises ``IndexNotReady`` while another thread builds it, or when building failed.
    """
    checkpoint = match_index_checkpoint()
    index = _holder.index
    if index is not None and index.checkpoint == checkpoint:
        return index
    if not _holder.lock.acquire(blocking=False):
        raise IndexNotReady(INDEX_BUILDING)
    try:
        if _holder.index is not None and _holder.index.checkpoint == checkpoint:  # built meanwhile
            return _holder.index
        failed = _holder.failed_at
        if failed and failed[0] == checkpoint and time.monotonic() - failed[1] < RETRY_AFTER_FAILURE_S:
            raise IndexNotReady(INDEX_BUILD_FAILED)
        # A stale index is never served, so let it go now: building beside it would double the memory.
        _holder.index = None
        try:
            index = _load_or_build(checkpoint)
        except Exception as exc:  # any failure (database, memory, FAISS) means "not ready", never "empty"
            log.exception("building the match index at checkpoint %s failed", checkpoint)
            _holder.failed_at = (checkpoint, time.monotonic())
            raise IndexNotReady(INDEX_BUILD_FAILED) from exc
        _holder.index, _holder.failed_at = index, None
        _holder.builds += 1
        return index
    finally:
        _holder.lock.release()


def match_index_forget() -> None:
    """Drop this process's index (tests; or to free memory in a process that no longer matches)."""
    with _holder.lock:
        _holder.index, _holder.failed_at = None, None


def _load_or_build(checkpoint: str) -> MatchIndex:
    directory = settings.MATCH_INDEX_DIR
    if directory:
        try:
            loaded = MatchIndex.load(directory, checkpoint)
        except Exception:  # a damaged or half-deleted checkpoint: the database is the truth
            log.warning("match index checkpoint %s in %s is unreadable; rebuilding", checkpoint, directory,
                        exc_info=True)
            loaded = None
        if loaded is not None:
            log.info("match index loaded from %s at checkpoint %s", directory, checkpoint)
            return loaded
    index = match_index_build(checkpoint)
    if directory:
        try:
            index.save(directory)
        except OSError:
            log.warning("match index checkpoint could not be written to %s", directory, exc_info=True)
    return index


def match_index_build(checkpoint: str) -> MatchIndex:
    """Read every template and PDQ hash into a new index labelled ``checkpoint``.

    The caller reads the checkpoint before the rows: a change committed in between is then in the
    rows under an older label, and costs one extra rebuild; the other order could label old rows
    with a new generation and miss that change until the next one.
    """
    started = time.monotonic()
    faces = FaceIndex(*_face_rows(), checkpoint=checkpoint, faiss_min=settings.MATCH_INDEX_FAISS_MIN)
    pdq = PdqIndex(*_pdq_rows(), checkpoint=checkpoint)
    log.info(
        "match index built at checkpoint %s: %d templates (%s), %d PDQ hashes (%s) in %.1f s",
        checkpoint, faces.size, faces.kind, pdq.size, pdq.kind, time.monotonic() - started,
    )
    return MatchIndex(faces=faces, pdq=pdq, checkpoint=checkpoint)


def _face_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids: list[int] = []
    subjects: list[int] = []
    blocks: list[np.ndarray] = []
    blobs: list[bytes] = []
    width = EMBEDDING_SIZE * 8  # float64, as FaceTemplate stores it
    rows = FaceTemplate.objects.order_by("pk").values_list("pk", "subject_id", "embedding")
    for pk, subject_id, token in rows.iterator(chunk_size=CHUNK_ROWS):
        try:
            embedding = data_decrypt(token=token)
        except EncryptionError:  # a wrong key set must be loud, but must not stop every other subject matching
            log.error("face template %s cannot be decrypted with FIELD_ENCRYPTION_KEYS; left out of the index", pk)
            continue
        if len(embedding) != width:  # one damaged row must not keep every subject from matching
            log.warning("face template %s has a %d-byte embedding; left out of the index", pk, len(embedding))
            continue
        ids.append(pk)
        subjects.append(subject_id)
        blobs.append(embedding)
        if len(blobs) == CHUNK_ROWS:  # convert as we go: a million float64 blobs would be 1 GB of bytes
            blocks.append(_embeddings(blobs))
            blobs = []
    blocks.append(_embeddings(blobs))
    return np.array(ids, dtype=np.int64), np.array(subjects, dtype=np.int64), np.concatenate(blocks)


def _embeddings(blobs: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(blobs), dtype="<f8").reshape(-1, EMBEDDING_SIZE).astype(np.float32)


def _pdq_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ids: list[int] = []
    subjects: list[int] = []
    hexes: list[str] = []
    rows = (
        KnownImageHash.objects.filter(algorithm=KnownImageHash.Algorithm.PDQ)
        .order_by("pk")
        .values_list("pk", "subject_id", "value")
    )
    for pk, subject_id, value in rows.iterator(chunk_size=CHUNK_ROWS):
        if len(value) != PDQ_BYTES * 2 or not _is_hex(value):
            log.warning("known-image hash %s is not a PDQ hash; left out of the index", pk)
            continue
        ids.append(pk)
        subjects.append(subject_id)
        hexes.append(value)
    hashes = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, PDQ_BYTES)
    return np.array(ids, dtype=np.int64), np.array(subjects, dtype=np.int64), hashes


def _is_hex(value: str) -> bool:
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True
