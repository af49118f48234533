"""Production as README, "Production", says to run it (issue 11): DEBUG off, `migrate`, `collectstatic`,
the Procfile's gunicorn line serving config.wsgi with its static files (WhiteNoise), a database of its
own. A caseworker signs in with a password and a code, and the finding's page shows the face blurred by
the server: first with every static file blocked (no stylesheet, no script: the page a proxy without a
/static/ rule used to show unblurred) where the "Show media" form alone records the reveal and shows the
original, then with static files served, where reveal.js does it without a page load."""

import hashlib
import io
import json
import os
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from cryptography.fernet import Fernet
from django_otp.oath import TOTP
from PIL import Image

from detection import crops

REPO = Path(__file__).resolve().parents[2]
PROCFILE_WEB = re.compile(r"^web: (gunicorn .*)$", re.MULTILINE)
# Variables of this test run that must not reach the production processes: they would turn tasks
# into queued ones (no worker here) or point at the developer's database and cache.
NOT_PASSED = ("CELERY_BROKER_URL", "CACHE_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE",
              "DEBUG", "STATIC_ROOT", "MEDIA_ROOT", "VAR_DIR")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


def _web_command(port: int) -> list[str]:
    """The Procfile's web line, as a supervisor would run it, on a free port of this machine."""
    line = PROCFILE_WEB.search((REPO / "Procfile").read_text())[1]
    line = line.replace("0.0.0.0:${PORT:-8000}", f"127.0.0.1:{port}")
    argv = shlex.split(line)
    assert argv[0] == "gunicorn" and "config.wsgi:application" in argv and "--workers" in argv
    return [str(Path(sys.executable).parent / "gunicorn"), *argv[1:]]


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """A production deployment in a temporary folder: its env, database, static files, and gunicorn."""
    root = tmp_path_factory.mktemp("production")
    env = {key: value for key, value in os.environ.items() if key not in NOT_PASSED}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ENV_FILE": "",  # no developer .env
        "SECRET_KEY": "production-test-" + "k" * 50,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on the loopback: no TLS proxy in this test.
        "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0",
        "DATABASE_URL": f"sqlite:///{root / 'reclaim.sqlite3'}",
        "VAR_DIR": str(root), "STATIC_ROOT": str(root / "static"), "MEDIA_ROOT": str(root / "media"),
    })
    _manage(env, "manage.py", "migrate", "--noinput")
    _manage(env, "manage.py", "collectstatic", "--noinput")
    seed = json.loads(_manage(env, "-m", "tests.browser.production_seed").strip().splitlines()[-1])
    port = _free_port()
    log = (root / "gunicorn.log").open("w")
    server = subprocess.Popen(_web_command(port), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        health = None
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    health = (response.status, json.load(response))
                    break
            except OSError:
                assert server.poll() is None, (root / "gunicorn.log").read_text()[-4000:]
                time.sleep(0.5)
        assert health == (200, {"database": "ok", "broker": "not configured"}), health
        yield {"url": url, "database": root / "reclaim.sqlite3", **seed}
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _reveals(database: Path) -> list[dict]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT data FROM casework_auditevent WHERE action = 'media.revealed' ORDER BY id")
        return [json.loads(data) for (data,) in rows]


def _sign_in(page, production, next_path: str) -> None:
    page.goto(f"{production['url']}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", production["username"])
    page.fill("input[name=password]", production["password"])
    page.click("main button[type=submit]")
    page.locator("h1", has_text="Enter your code").wait_for()
    page.fill("input[name=token]", f"{TOTP(bytes.fromhex(production['totp_key'])).token():06d}")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def _is_media(finding: int):
    return lambda response: re.search(rf"/findings/{finding}/media(\?|$)", response.url) is not None


def _detail(data: bytes) -> float:
    grey = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)
    return float((np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean()) / 2)


def _assert_blurred(data: bytes, production) -> None:
    assert hashlib.sha256(data).hexdigest() != production["media_sha256"]
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and max(image.size) <= crops.BLURRED_SIDE
    assert _detail(data) < 1.0  # the original has several grey levels of detail between neighbours


def test_the_finding_page_is_blurred_by_the_server_until_the_reveal_is_recorded(production, new_page, screenshot):
    finding = production["finding"]
    path = f"/findings/{finding}/"
    page = new_page()
    _sign_in(page, production, "/review/")

    # 1. No static file arrives (as behind a proxy without a /static/ rule): no stylesheet, no script.
    page.route("**/static/**", lambda route: route.abort())
    with page.expect_response(_is_media(finding)) as loaded:
        page.goto(production["url"] + path)
    media = page.locator("main figure[data-sensitive]").first
    image = media.locator("img")
    assert image.evaluate("image => getComputedStyle(image).filter") == "none"  # no CSS blur at all
    image.evaluate("image => image.decode()")
    assert loaded.value.headers["cache-control"] == "private, no-store"
    _assert_blurred(loaded.value.body(), production)
    assert image.evaluate("image => image.naturalWidth") <= crops.BLURRED_SIDE
    screenshot(page, "without-static-blurred")
    assert _reveals(production["database"]) == []

    # The button is a form: without reveal.js it records the reveal and reloads the page with the original.
    with page.expect_response(lambda r: _is_media(finding)(r) and "view=original" in r.url) as loaded:
        media.locator("button:has-text('Show media')").click()
    assert hashlib.sha256(loaded.value.body()).hexdigest() == production["media_sha256"]
    assert _reveals(production["database"]) == [{"finding": finding, "what": "media"}]
    media.locator("button:has-text('Blur media again')").wait_for()
    screenshot(page, "without-static-revealed")
    with page.expect_response(_is_media(finding)) as loaded:
        media.locator("button:has-text('Blur media again')").click()
    _assert_blurred(loaded.value.body(), production)
    page.unroute("**/static/**")

    # 2. Static files served by WhiteNoise from collectstatic's hashed names: reveal.js swaps the image.
    with page.expect_response(_is_media(finding)) as loaded:
        page.goto(production["url"] + path)
    _assert_blurred(loaded.value.body(), production)
    stylesheet = page.locator("link[rel=stylesheet]").get_attribute("href")
    assert re.fullmatch(r"/static/casework/reclaim\.[0-9a-f]{12}\.css", stylesheet)
    assert page.request.get(production["url"] + stylesheet).status == 200
    assert image.evaluate("image => getComputedStyle(image).filter") != "none"  # the CSS layer is there too
    screenshot(page, "blurred")
    with page.expect_response(lambda r: _is_media(finding)(r) and "view=original" in r.url) as loaded:
        media.locator("button:has-text('Show media')").click()
    media.locator("button:has-text('Blur media again')").wait_for()
    page.wait_for_function("image => getComputedStyle(image).filter === 'none'", arg=image.element_handle())
    assert hashlib.sha256(loaded.value.body()).hexdigest() == production["media_sha256"]
    assert image.evaluate("image => image.naturalWidth") > crops.BLURRED_SIDE
    assert _reveals(production["database"])[-1] == {"finding": finding, "what": "media"}
    assert len(_reveals(production["database"])) == 2
    screenshot(page, "revealed")

    # The faces were not revealed: their originals are still refused to this session.
    probe = page.request.get(f"{production['url']}/findings/{finding}/crops/probe.jpg?view=original")
    assert probe.status == 200 and _detail(probe.body()) < 1.0
