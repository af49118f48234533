"""/healthz: a probe learns whether the database and the broker answer, and nothing else."""

import socket

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from casework.views import health


def test_the_health_check_answers_ok_without_a_broker_configured(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert response.json() == {"database": "ok", "broker": "not configured"}


def test_a_database_that_does_not_answer_is_a_503_naming_it(client, db, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 10.0.0.5 failed: password authentication failed")

    with monkeypatch.context() as patch:  # undone before the test database is rolled back
        patch.setattr(connection, "cursor", refuse)
        response = client.get(reverse("healthz"))
    assert response.status_code == 503 and response.json() == {"database": "failed", "broker": "not configured"}
    assert b"10.0.0.5" not in response.content and b"password" not in response.content


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once closed: nothing listens there


def test_a_broker_that_does_not_answer_is_a_503_naming_it_within_the_timeout(client, db, settings):
    import time

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://:s3cret@127.0.0.1:{_closed_port()}/0"
    started = time.monotonic()
    response = client.get(reverse("healthz"))
    assert response.status_code == 503 and response.json() == {"database": "ok", "broker": "failed"}
    assert time.monotonic() - started < 2 * health.BROKER_TIMEOUT_S + 1
    assert b"s3cret" not in response.content


def test_a_broker_that_answers_is_ok(client, db, settings):
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6379)) != 0:
            pytest.skip("no Redis on 127.0.0.1:6379 (.ci/run starts one)")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 200 and response.json() == {"database": "ok", "broker": "ok"}


def test_the_health_check_is_reachable_over_plain_http_when_https_is_enforced(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get(reverse("login")).status_code == 301  # everything else still goes to https
