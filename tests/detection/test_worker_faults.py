"""Real workers killed mid-scan lose no scan (issue 11, "Lost scans"; its first Done-when line).

A Celery worker (prefork, two pool children) and a beat run as subprocesses on the real broker and the
test database, with a 20-second scan time limit and a sweep every 5 seconds. Three rounds SIGKILL a pool
child while both children are scanning (the OOM killer's way); three more SIGKILL the main process and
its pool together, and start a new worker. Each round queues 20 items of the demo images (half show the
enrolled subject's face). Every item must end done, or failed with a reason, within the time limit plus
a minute of the kill, with exactly one finding per item that shows the subject.

Runs where CELERY_BROKER_URL and a PostgreSQL DATABASE_URL are set (CI); skipped otherwise.
"""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import pytest
from django.db.models import Count
from django.utils import timezone
from PIL import Image

from detection import services
from detection.models import Finding, MediaItem
from tests.detection.workers import BROKER, Processes, broker_clear, needs_redis_and_postgres, worker_env

pytestmark = needs_redis_and_postgres

TIME_LIMIT_S = 20
SWEEP_EVERY_S = 5
ITEMS_PER_ROUND = 20
ROUNDS = 3


def processes_start(folder: Path) -> Processes:
    return Processes(folder, worker_env(
        SCAN_TIME_LIMIT_S=str(TIME_LIMIT_S),
        # The broker's visibility timeout follows the longest task, a scan or a URL fetch (settings).
        FETCH_DEADLINE_S=str(TIME_LIMIT_S // 2),
        SCAN_SWEEP_EVERY_S=str(SWEEP_EVERY_S),
    ))


def jpeg(image, tag: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, comment=tag.encode())  # same pixels, distinct bytes
    return buffer.getvalue()


@pytest.fixture
def sources():
    from skimage import data

    astronaut, coffee = Image.fromarray(data.astronaut()), Image.fromarray(data.coffee())
    # Each round opens with two large files, a second or more to scan, so that both pool children are
    # surely scanning when one is killed; the other eighteen are quick.
    return {"face-large": astronaut.resize((2000, 2000)), "no-face-large": coffee.resize((2000, 2000)),
            "face": astronaut.resize((800, 800)), "no-face": coffee.resize((800, 800))}


def queue_round(sender, sources, label: str) -> list[int]:
    ids = []
    for n in range(ITEMS_PER_ROUND):
        kind = ("face" if n % 2 == 0 else "no-face") + ("-large" if n < 2 else "")
        item = services.media_ingest(data=jpeg(sources[kind], f"{label}-{n}"), source=MediaItem.Source.API,
                                     original_name=f"{kind}.jpg", source_url=f"https://example.org/{label}/{n}")
        ids.append(item.pk)
    for pk in ids:
        sender.send_task("detection.tasks.scan_media", args=[pk])
    return ids


def finished(ids: list[int], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and MediaItem.objects.filter(
        pk__in=ids, status__in=[MediaItem.Status.RECEIVED, MediaItem.Status.PROCESSING]
    ).exists():
        time.sleep(0.5)


def both_children_scanning(ids: list[int], processes: Processes, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if MediaItem.objects.filter(pk__in=ids, status=MediaItem.Status.PROCESSING).count() >= 2:
            return
        time.sleep(0.01)
    raise AssertionError("no two scans of the round ran at once:\n" + processes.logs())


def test_killed_workers_lose_no_scan(transactional_db, astronaut_subject, sources, tmp_path, capsys):
    from celery import Celery

    broker_clear()
    sender = Celery(broker=BROKER)
    processes = processes_start(tmp_path)
    rounds = []  # (what was killed, when, the round's ids)
    try:
        processes.start_beat()
        processes.start_worker()
        for n in range(ROUNDS):  # one after another: each round's figures are its own
            ids = queue_round(sender, sources, f"child-{n}")
            processes.pool()  # the pool is up (a child killed last round is replaced)
            both_children_scanning(ids, processes)
            os.kill(processes.pool()[0], signal.SIGKILL)
            rounds.append(("pool child", timezone.now(), ids))
            finished(ids, TIME_LIMIT_S + 60)
        # Overlapping, to keep the test short: a killed main process's scans come back after the broker's
        # visibility timeout (or the sweep), by then the later rounds' quick items are long done.
        for n in range(ROUNDS):
            ids = queue_round(sender, sources, f"main-{n}")
            children = processes.pool()
            both_children_scanning(ids, processes)
            os.kill(processes.worker.pid, signal.SIGKILL)  # the main process first, then its pool with it
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            rounds.append(("main process", timezone.now(), ids))
            processes.worker.wait(timeout=10)
            processes.start_worker()

        every = [pk for _, _, ids in rounds for pk in ids]
        finished(every, rounds[-1][1].timestamp() + TIME_LIMIT_S + 60 - time.time())
    finally:
        processes.stop_all()

    report, failures = [], []
    for killed, killed_at, ids in rounds:
        items = list(MediaItem.objects.filter(pk__in=ids))
        unfinished = [i for i in items if i.status not in (MediaItem.Status.DONE, MediaItem.Status.FAILED)]
        no_reason = [i.pk for i in items if i.status == MediaItem.Status.FAILED and not i.failure_reason]
        late = [i.pk for i in items if i.processed_at and (i.processed_at - killed_at).total_seconds() > TIME_LIMIT_S + 60]
        after_kill = sorted((i.processed_at - killed_at).total_seconds() for i in items
                            if i.processed_at and i.processed_at > killed_at)
        resumed = [i.pk for i in items if i.scan_attempts >= 2]
        report.append(
            f"{killed:>12} killed: {len(after_kill):2} items finished after the kill, "
            f"max {max(after_kill, default=0):5.1f} s, median {after_kill[len(after_kill) // 2] if after_kill else 0:5.1f} s; "
            f"resumed {len(resumed)}; done {sum(i.status == MediaItem.Status.DONE for i in items)}, "
            f"failed {sum(i.status == MediaItem.Status.FAILED for i in items)}"
        )
        if unfinished or no_reason or late or not resumed:
            failures.append((killed, {"unfinished": [(i.pk, i.status) for i in unfinished], "failed without a reason": no_reason,
                                      "late": late, "resumed": resumed}))
    with capsys.disabled():
        print("\n" + "\n".join(report))
    assert not failures, f"{failures}\n{processes.logs()}"

    # No duplicate finding (the constraint would refuse one), and each item showing the subject has its one.
    per_item = Finding.objects.filter(media_item__in=every).values("media_item", "subject", "kind").annotate(n=Count("pk"))
    assert all(row["n"] == 1 for row in per_item)
    with_face = set(MediaItem.objects.filter(pk__in=every, original_name__startswith="face").values_list("pk", flat=True))
    found = set(Finding.objects.filter(media_item__in=every, subject=astronaut_subject).values_list("media_item", flat=True))
    assert found == with_face
