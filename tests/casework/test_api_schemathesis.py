"""Property-based checks of the partner API (/api/v1/) against its own OpenAPI schema (schemathesis).

The schema is loaded from the Django app in-process (WSGI), so requests run against the test database.
Examples are bounded and derandomised so CI is fast and reproducible; every operation must answer
without a server error (5xx).
"""

from __future__ import annotations

import socket

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from casework.services.api_tokens import api_token_create
from casework.services.cases import case_open, takedown_request_create
from casework.services.consent import subject_create
from config.wsgi import application

# Served by the app itself (drf-spectacular's /api/schema/), fetched over WSGI; schemathesis' WSGI host is
# "localhost". Loaded at import time, so the per-operation tests exist when pytest collects them.
with override_settings(ALLOWED_HOSTS=["localhost"]):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(path_regex=r"^/api/v1/")


@pytest.fixture(autouse=True)
def same_database_connection():
    """Keep the test's connection across the in-process requests, as Django's test client does:
    the WSGI handler would otherwise close it after each request (and with it the test transaction,
    on PostgreSQL)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, org, caseworker, settings, monkeypatch) -> str:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]  # schemathesis' WSGI host
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "100000/minute", "api_write": "100000/minute"},
    }
    cache.clear()  # throttle histories live in the cache

    # Submitted URLs are never fetched from the network: every host "does not resolve" (a 400, not a 5xx).
    def no_network(host, port):
        raise socket.gaierror(f"no network in tests: {host}")

    monkeypatch.setattr("detection.fetching._resolve", no_network)

    # Something to find: a takedown request in the token's organisation.
    case = case_open(subject=subject_create(organization=org, display_name="Subject"), by=caseworker)
    takedown_request_create(case=case, platform="ExampleTube", target_url="https://video.example.com/w/1",
                            regime="dsa", by=caseworker)
    return api_token_create(organization=org, name="Schemathesis").plaintext


@schema.parametrize()
@hypothesis_settings(max_examples=15, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
def test_api_operations_never_answer_with_a_server_error(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=[not_a_server_error])
