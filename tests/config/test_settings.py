import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env
from tests.conftest import REPO

PRODUCTION = {
    "SECRET_KEY": "k" * 20 + "production-secret-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "reclaim.example.org",
    "DATABASE_URL": "sqlite:////tmp/reclaim-check.sqlite3",
    "FIELD_ENCRYPTION_KEY": "cHJvZHVjdGlvbi1maWVsZC1rZXktZm9yLWNoZWNrcyE=",
}


def manage(*args, **environ):
    # What CI's environment sets (a broker, and so a Redis cache) must not leak into these checks either.
    unset = {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "FIELD_ENCRYPTION_KEY", "FIELD_ENCRYPTION_KEYS",
             "CELERY_BROKER_URL", "CACHE_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    # ENV_FILE="" so a developer's .env (DEBUG=1) does not leak into the production checks.
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env={**clean, "ENV_FILE": "", **environ},
        capture_output=True, text=True,
    )


def test_production_variables_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_app_refuses_to_start_without_a_secret_key_outside_debug():
    result = manage("check", **{k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"})
    assert result.returncode != 0 and "SECRET_KEY is required" in result.stderr


def test_a_malformed_value_stops_start_up_with_its_name():
    result = manage("check", **PRODUCTION, SECURE_HSTS_SECONDS="a year")
    assert result.returncode != 0 and "SECURE_HSTS_SECONDS='a year' is not a whole number" in result.stderr


@pytest.mark.parametrize(("raw", "parsed"), [("1", True), ("yes", True), ("off", False), ("", False)])
def test_booleans(monkeypatch, raw, parsed):
    monkeypatch.setenv("FLAG", raw)
    assert env.env_bool("FLAG", not parsed) is parsed


def test_an_ambiguous_boolean_is_refused(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env.env_bool("FLAG", False)


def test_secrets_can_come_from_a_file(monkeypatch, tmp_path):
    (tmp_path / "key").write_text("from-a-file\n")
    monkeypatch.delenv("TOKEN", raising=False)
    monkeypatch.setenv("TOKEN_FILE", str(tmp_path / "key"))
    assert env.env_str("TOKEN") == "from-a-file"
    monkeypatch.setenv("TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env.env_str("TOKEN")


def test_numbers_are_checked(monkeypatch):
    monkeypatch.setenv("N", "-3")
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        env.env_int("N", 1, minimum=0)
    monkeypatch.setenv("N", "0.75")
    assert env.env_float("N", 0.6, minimum=0, maximum=2) == 0.75


def test_an_env_file_fills_in_but_never_overrides(monkeypatch, tmp_path):
    path = tmp_path / ".env"
    path.write_text("# local\nFROM_FILE=1\nALREADY=from-file\n")
    monkeypatch.delenv("FROM_FILE", raising=False)
    monkeypatch.setenv("ALREADY", "from-environment")
    env.load_env_file(path)
    assert os.environ["FROM_FILE"] == "1" and os.environ["ALREADY"] == "from-environment"
    monkeypatch.delenv("FROM_FILE")
    path.write_text("not a pair\n")
    with pytest.raises(ImproperlyConfigured, match="expected KEY=VALUE"):
        env.load_env_file(path)
