"""One shared cache for every limit and lockout (settings, "Shared cache"): Redis when configured,
the database otherwise, never a per-process memory cache outside tests."""

import json

import pytest
from django.conf import settings as django_settings
from django.core.cache.backends.db import DatabaseCache

from tests.config.test_settings import PRODUCTION, manage

SHOW_CACHE = "import json; from django.conf import settings; print(json.dumps(settings.CACHES['default']))"


def cache_with(**environ) -> dict:
    result = manage("shell", "-c", SHOW_CACHE, **PRODUCTION, **environ)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_redis_the_cache_is_the_database():
    cache = cache_with()
    assert cache["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert cache["LOCATION"] == django_settings.CACHE_TABLE


def test_a_redis_broker_is_the_cache_too_and_cache_url_wins():
    from_broker = cache_with(CELERY_BROKER_URL="redis://127.0.0.1:6379/3")
    assert from_broker["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert from_broker["LOCATION"] == "redis://127.0.0.1:6379/3"
    own = cache_with(CELERY_BROKER_URL="redis://127.0.0.1:6379/3", CACHE_URL="redis://127.0.0.1:6379/6")
    assert own["LOCATION"] == "redis://127.0.0.1:6379/6"


def test_a_cache_url_that_is_not_redis_stops_start_up_with_its_name():
    result = manage("check", **PRODUCTION, CACHE_URL="memcached://127.0.0.1:11211")
    assert result.returncode != 0 and "CACHE_URL" in result.stderr


@pytest.mark.django_db
def test_migrate_alone_makes_the_database_caches_table():
    from importlib import import_module

    migration = import_module("casework.migrations.0008_report_pin_attempts_cache_table")
    assert migration.CACHE_TABLE == django_settings.CACHE_TABLE
    cache = DatabaseCache(django_settings.CACHE_TABLE, {})
    cache.add("counter", 0, timeout=60)
    assert cache.incr("counter") == 1 and cache.get("counter") == 1
