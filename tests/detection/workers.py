"""Real Celery workers and beat as subprocesses on the real broker and the test database, for the tests
that kill them (test_worker_faults, test_crawl_workers). Each runs in its own process group, so a kill
of the group takes the worker's pool with it, as a lost machine or container would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

BROKER = os.environ.get("CELERY_BROKER_URL", "")
DATABASE_URL = os.environ.get("DATABASE_URL", "")
CELERY = Path(sys.executable).parent / "celery"
REPO = Path(__file__).resolve().parents[2]

needs_redis_and_postgres = pytest.mark.skipif(
    not (BROKER.startswith("redis") and DATABASE_URL.startswith("postgres")),
    reason="needs CELERY_BROKER_URL (Redis) and a PostgreSQL DATABASE_URL: real workers share the test database",
)


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a worker on this test's database, broker and stored files; ``extra`` are
    settings of the test (time limits, sweep period)."""
    db = connection.settings_dict  # the test database (test_<name>), which the workers must share
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ENV_FILE": "",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": BROKER,
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),  # to read the files the test stored
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Processes:
    """The worker and beat subprocesses, each in its own process group so a kill takes its pool too."""

    def __init__(self, folder: Path, env: dict[str, str], concurrency: int = 2):
        self.folder, self.env, self.concurrency = folder, env, concurrency
        self.started: list[subprocess.Popen] = []
        self.worker: subprocess.Popen | None = None

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}-{len(self.started)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([str(CELERY), "-A", "config", *args], cwd=REPO, env=self.env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append(process)
        return process

    def start_worker(self) -> None:
        self.worker = self.start("worker", "worker", "--pool", "prefork", "--concurrency", str(self.concurrency),
                                 "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat",
                                 "-n", f"w{len(self.started)}@%h")

    def start_beat(self) -> None:
        self.start("beat", "beat", "-l", "info", "-s", str(self.folder / "beat-schedule"))

    def pool(self) -> list[int]:
        """The live pool children of the current worker, once all ``concurrency`` are up."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = subprocess.run(["pgrep", "-P", str(self.worker.pid)], check=False, capture_output=True,
                                   text=True).stdout.split()
            alive = [int(pid) for pid in found if alive_pid(int(pid))]  # a killed child not reaped yet is a zombie
            if len(alive) >= self.concurrency:
                return alive
            time.sleep(0.1)
        raise AssertionError("the worker started no pool:\n" + self.logs())

    def kill_worker(self) -> None:
        """SIGKILL the current worker's main process and its pool together (a lost machine)."""
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.folder.glob("*.log")))


def alive_pid(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def broker_clear() -> None:
    """No message of an earlier run (its ids name rows of another database) may reach these workers."""
    import redis

    redis.Redis.from_url(BROKER).delete("celery", "unacked", "unacked_index", "unacked_mutex")
