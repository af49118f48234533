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
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from PIL import Image

from detection import services
from detection.models import Finding, MediaItem

BROKER = os.environ.get("CELERY_BROKER_URL", "")
DATABASE_URL = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not (BROKER.startswith("redis") and DATABASE_URL.startswith("postgres")),
    reason="needs CELERY_BROKER_URL (Redis) and a PostgreSQL DATABASE_URL: real workers share the test database",
)

TIME_LIMIT_S = 20
SWEEP_EVERY_S = 5
ITEMS_PER_ROUND = 20
ROUNDS = 3
CELERY = Path(sys.executable).parent / "celery"
REPO = Path(__file__).resolve().parents[2]


def worker_env() -> dict[str, str]:
    db = connection.settings_dict  # the test database (test_<name>), which the workers must share
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ENV_FILE": "",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": BROKER,
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),  # to read the files this test stored
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SCAN_TIME_LIMIT_S": str(TIME_LIMIT_S),
        # The broker's visibility timeout follows the longest task, a scan or a URL fetch (settings).
        "FETCH_DEADLINE_S": str(TIME_LIMIT_S // 2),
        "SCAN_SWEEP_EVERY_S": str(SWEEP_EVERY_S),
        "PYTHONUNBUFFERED": "1",
    }


class Processes:
    """The worker and beat subprocesses, each in its own process group so a kill takes its pool too."""

    def __init__(self, folder: Path):
        self.folder, self.started, self.worker = folder, [], None

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}-{len(self.started)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([str(CELERY), "-A", "config", *args], cwd=REPO, env=worker_env(),
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append(process)
        return process

    def start_worker(self) -> None:
        self.worker = self.start("worker", "worker", "--pool", "prefork", "--concurrency", "2", "-l", "info",
                                 "--without-gossip", "--without-mingle", "--without-heartbeat",
                                 "-n", f"faults{len(self.started)}@%h")

    def pool(self) -> list[int]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = subprocess.run(["pgrep", "-P", str(self.worker.pid)], capture_output=True, text=True).stdout.split()
            alive = [int(pid) for pid in found if _alive(int(pid))]  # a killed child not reaped yet is a zombie
            if len(alive) >= 2:
                return alive
            time.sleep(0.1)
        raise AssertionError("the worker started no pool:\n" + self.logs())

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.folder.glob("*.log")))


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def broker_clear() -> None:
    """No message of an earlier run (its ids name rows of another database) may reach these workers."""
    import redis

    redis.Redis.from_url(BROKER).delete("celery", "unacked", "unacked_index", "unacked_mutex")


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
    processes = Processes(tmp_path)
    rounds = []  # (what was killed, when, the round's ids)
    try:
        processes.start("beat", "beat", "-l", "info", "-s", str(tmp_path / "beat-schedule"))
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
