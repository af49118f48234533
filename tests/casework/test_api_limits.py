"""The API's limits answer in JSON with the right status: bodies too deep or too large, and throttles
that count each request once however many web workers answer."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
from django.urls import reverse
from rest_framework.test import APIRequestFactory

from casework.api.common import BODY_TOO_LARGE, JSON_TOO_DEEP, ApiRateThrottle, BoundedJSONParser
from casework.services.api_tokens import api_token_create


@pytest.fixture
def token_header(org) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {api_token_create(organization=org, name='Partner').plaintext}"}


def test_json_nested_100k_deep_is_a_400_in_json_not_a_500(client, token_header):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(reverse("api:media_submit"), body, content_type="application/json", **token_header)
    assert response.status_code == 400 and response.json() == {"detail": JSON_TOO_DEEP}


def test_every_view_without_its_own_parsers_reads_json_with_the_bounded_parser():
    from rest_framework.exceptions import ParseError
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_PARSER_CLASSES[0] is BoundedJSONParser
    with pytest.raises(ParseError) as error:
        BoundedJSONParser().parse(io.BytesIO(b'{"a":' * 100_000 + b"1" + b"}" * 100_000))
    assert error.value.detail == JSON_TOO_DEEP


def test_a_json_body_over_the_size_limit_is_a_413_in_json(client, token_header, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"url": "https://example.com/" + "a" * 20_000})
    response = client.post(reverse("api:media_submit"), body, content_type="application/json", **token_header)
    assert response.status_code == 413
    assert response.json() == {"detail": BODY_TOO_LARGE.format(limit=10_000)}


class NetworkCache:
    """The test cache with a round trip's pause in each call, as Redis has: each call is atomic on its
    own, but a read followed by a write (DRF's own throttle) leaves room for another worker between."""

    def __init__(self, cache):
        self._cache = cache

    def __getattr__(self, name):
        call = getattr(self._cache, name)

        def slow(*args, **kwargs):
            time.sleep(0.002)
            return call(*args, **kwargs)

        return slow


def test_the_throttle_lets_exactly_the_rate_through_when_requests_arrive_at_once(caseworker, settings, monkeypatch):
    from django.core.cache import cache

    monkeypatch.setattr("casework.ratelimit.cache", NetworkCache(cache))
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api_read": "10/minute", "api_write": "1/minute"}}

    class View:
        throttle_scope = "api_read"

    request = APIRequestFactory().get("/api/v1/takedown-requests/")
    request.user = caseworker
    allowed, start = [], threading.Barrier(8)

    def worker():  # one web worker's thread
        start.wait()
        for _ in range(5):
            allowed.append(ApiRateThrottle().allow_request(request, View()))  # a new throttle per request, as DRF makes

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 10 and len(allowed) == 40


def test_a_throttled_request_is_told_when_to_come_back(client, token_header, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api_read": "1/minute", "api_write": "1/minute"}}
    url = reverse("api:takedown_requests")
    assert client.get(url, **token_header).status_code == 200
    refused = client.get(url, **token_header)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
