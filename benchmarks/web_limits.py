"""Do the limits hold with two web workers? A load check on loopback, not a test (it takes ~2 minutes).

Starts gunicorn as the Procfile does (2 sync workers) with production settings on PostgreSQL and a
Redis cache, then:

1. fires API reads and writes at one token from 8 threads within one rate window, and counts how many
   were let through against API_READ_RATE / API_WRITE_RATE (lower than production's 600 and 60 a
   minute to keep it quick; the counting is the same);
2. guesses a public report's PIN through both workers and counts the wrong PINs before the lock;
3. sends POSTs to the portal sign-in form from one address and counts them against PUBLIC_POST_RATE;
4. sends an anonymous 1 GiB upload, generated as it is sent, to the public report form and to the API,
   with a Content-Length and chunked, and a file just over MEDIA_MAX_BYTES (default 200 MiB) whose
   declared length passes the first guard, and prints how many bytes were sent when the answer came;
5. prints each web worker's peak resident memory (VmHWM) before and after.

Baseline (issue 11, before the shared cache and the streaming limit): 1,200 reads and 120 writes a
minute allowed against 600 and 60; 10 PIN tries instead of 5; a 1 GiB upload accepted with a worker
at 1,149 MB.

    .venv/bin/python benchmarks/web_limits.py [--database reclaim_h3] [--redis redis://127.0.0.1:6379/6]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GIB = 1024 ** 3
CHUNK = 256 * 1024
ORG_SLUG = "loadcheck"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="reclaim_h3", help="PostgreSQL database (created if missing)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6", help="CACHE_URL (flushed first)")
    parser.add_argument("--read-rate", default="100/minute")
    parser.add_argument("--write-rate", default="10/minute")
    parser.add_argument("--public-rate", default="30/minute")
    parser.add_argument("--reads", type=int, default=700)
    parser.add_argument("--writes", type=int, default=80)
    parser.add_argument("--port", type=int, default=8765)
    return parser.parse_args()


def environment(args, static_root: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL"}}
    env.update({
        "ENV_FILE": "", "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "load-check-" + "k" * 50,
        "FIELD_ENCRYPTION_KEY": "bG9hZC1jaGVjay1maWVsZC1rZXktMzItYnl0ZXMhISE=",
        "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0", "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        "CACHE_URL": args.redis, "API_READ_RATE": args.read_rate, "API_WRITE_RATE": args.write_rate,
        "PUBLIC_POST_RATE": args.public_rate, "PUBLIC_REPORTS_ORGANIZATION": ORG_SLUG,
        "STATIC_ROOT": static_root, "LOG_LEVEL": "WARNING",
    })
    return env


def prepare(args, env) -> tuple[str, str]:
    """Database, cache and static files ready; two fresh API tokens (rates, uploads) of the load check's organisation."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone():
            connection.execute(f'CREATE DATABASE "{args.database}"')
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    python = str(REPO / ".venv/bin/python")
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run([python, "manage.py", *command], cwd=REPO, env=env, check=True, capture_output=True)
    run = secrets.token_hex(4)  # token names are unique per organisation; each run makes its own
    script = (
        "from casework.models import Organization;"
        "from casework.services.api_tokens import api_token_create;"
        f"org, _ = Organization.objects.get_or_create(slug={ORG_SLUG!r}, defaults={{'name': 'Load check'}});"
        f"print(api_token_create(organization=org, name='load check rates {run}').plaintext);"
        f"print(api_token_create(organization=org, name='load check uploads {run}').plaintext)"
    )
    result = subprocess.run([python, "manage.py", "shell", "-c", script], cwd=REPO, env=env, check=False,
                            capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"Could not make the API tokens:\n{result.stderr[-2000:]}")
    return tuple(result.stdout.strip().splitlines()[-2:])


def workers_of(master: int) -> list[int]:
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{master}$", text, re.MULTILINE):
            children.append(int(status.parent.name))
    return sorted(children)


def peak_rss_mb(pid: int) -> float:
    found = re.search(r"^VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    return int(found.group(1)) / 1024


class Site:
    def __init__(self, port: int):
        self.port = port

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


class Browser:
    """Cookies and the CSRF token, as a person's browser keeps them."""

    def __init__(self, site: Site):
        self.site, self.cookies = site, {}

    def _headers(self, extra=None):
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {"Cookie": cookie, "Referer": f"http://127.0.0.1:{self.site.port}/", **(extra or {})}

    def _keep(self, headers):
        for name, value in headers.items():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]

    def get(self, path):
        status, headers, body = self.site.request("GET", path, headers=self._headers())
        self._keep(headers)
        return status, body.decode(errors="replace")

    def post(self, path, fields: dict):
        fields = {"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **fields}
        body = urllib.parse.urlencode(fields)
        status, headers, answer = self.site.request(
            "POST", path, body=body, headers=self._headers({"Content-Type": "application/x-www-form-urlencoded"}))
        self._keep(headers)
        return status, answer.decode(errors="replace")


def wait_for_fresh_window(seconds: int = 60) -> None:
    """Start at the beginning of a rate window (they are aligned to the clock), so all requests fall in one."""
    left = seconds - time.time() % seconds
    if left < seconds - 1:
        time.sleep(left + 0.3)


def check_api_rates(site: Site, token: str, reads: int, writes: int, read_rate: str, write_rate: str) -> None:
    auth = {"Authorization": f"Token {token}"}
    wait_for_fresh_window()
    started = time.monotonic()

    def read(_):
        return site.request("GET", "/api/v1/takedown-requests/", headers=auth)[0]

    def write(_):
        # An empty JSON object: past the throttle it is a 400 ("a url or a file"), so nothing is fetched.
        return site.request("POST", "/api/v1/media/", body="{}",
                            headers={**auth, "Content-Type": "application/json"})[0]

    with ThreadPoolExecutor(8) as pool:
        read_statuses = pool.map(read, range(reads))
        write_statuses = pool.map(write, range(writes))
        read_statuses, write_statuses = list(read_statuses), list(write_statuses)
    elapsed = time.monotonic() - started
    for kind, statuses, rate in (("reads", read_statuses, read_rate), ("writes", write_statuses, write_rate)):
        allowed = sum(1 for s in statuses if s != 429)
        others = sorted({s for s in statuses if s not in (200, 400, 429)})
        print(f"API {kind}: {allowed} allowed, {statuses.count(429)} refused (429) of {len(statuses)} "
              f"in {elapsed:.1f} s; limit {rate}{'; unexpected statuses ' + str(others) if others else ''}")


def check_pin_lock(site: Site) -> None:
    browser = Browser(site)
    browser.get("/report/")
    status, _ = browser.post("/report/", {"reporter_role": "depicted", "under_18": "no",
                                          "urls": "https://example.com/load-check", "description": "",
                                          "contact_email": ""})
    status, page = browser.post("/report/check", {})
    pin = re.search(r"data-pin>(\d+)<", page).group(1)
    reference = re.search(r"RR-[A-Z0-9]{8}", page).group(0)
    wrong = "0" * len(pin) if pin != "0" * len(pin) else "1" * len(pin)
    answers = []
    for _ in range(7):
        guesser = Browser(site)  # a new connection each time: either worker may answer
        guesser.get("/report/status/")
        answers.append(guesser.post("/report/status/", {"reference": reference, "pin": wrong}))
    wrong_answers = sum(1 for s, page in answers if "do not match" in page)
    owner = Browser(site)
    owner.get("/report/status/")
    status, page = owner.post("/report/status/", {"reference": reference, "pin": pin})
    locked = "paused checking" in page
    print(f"Report PIN: {wrong_answers} wrong PINs checked before the lock (limit 5); "
          f"the right PIN afterwards: {'refused, locked' if locked else f'answered {status}'}")


def check_public_rate(site: Site, rate: str) -> None:
    browser = Browser(site)
    browser.get("/portal/sign-in")
    statuses = [browser.post("/portal/sign-in", {"method": "link", "email": f"nobody{n}@example.org"})[0]
                for n in range(int(rate.split("/")[0]) + 10)]
    print(f"Portal sign-in POSTs from one address: {sum(1 for s in statuses if s != 429)} allowed, "
          f"{statuses.count(429)} refused (429); limit {rate}")


def _rest(sock) -> bytes:
    """The rest of an answer, until the server closes the connection."""
    sock.setblocking(True)
    sock.settimeout(5)
    rest = b""
    try:
        while piece := sock.recv(65536):
            rest += piece
    except OSError:
        pass
    return rest


def send_huge(site: Site, path: str, headers: dict, fields: dict, *, chunked: bool, total: int = GIB) -> str:
    """POST a multipart body with a ``total``-byte file made as it is sent; what came back, and when."""
    boundary = "loadcheck" + secrets.token_hex(8)
    head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.jpg"\r\n'
             "Content-Type: image/jpeg\r\n\r\n")
    tail = f"\r\n--{boundary}--\r\n"
    length = len(head.encode()) + total + len(tail.encode())
    request = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: multipart/form-data; boundary={boundary}"]
    request += [f"{k}: {v}" for k, v in headers.items()]
    request += ["Transfer-Encoding: chunked"] if chunked else [f"Content-Length: {length}"]
    sock = socket.create_connection(("127.0.0.1", site.port), timeout=60)
    sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
    sent, answer, started = 0, b"", time.monotonic()
    payload = b"\xff\xd8\xff" + os.urandom(CHUNK - 3)

    def send(data: bytes):
        sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)

    try:
        send(head.encode())
        while sent < total:
            sock.setblocking(False)
            try:
                answer = sock.recv(65536)
            except BlockingIOError:
                pass
            sock.setblocking(True)
            if answer:
                break
            piece = payload[: min(CHUNK, total - sent)]
            send(piece)
            sent += len(piece)
        if not answer:
            send(tail.encode())
            if chunked:
                sock.sendall(b"0\r\n\r\n")
            answer = sock.recv(65536)
        outcome = "answered"
        answer += _rest(sock)
    except (BrokenPipeError, ConnectionResetError) as exc:
        outcome = f"connection closed by the server ({type(exc).__name__})"
        try:
            answer = (answer or sock.recv(65536)) + _rest(sock)
        except OSError:
            pass
    finally:
        sock.close()
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace") if answer else "(no answer read)"
    detail = ""
    if b"\r\n\r\n" in answer:
        body = answer.split(b"\r\n\r\n", 1)[1]
        found = re.search(rb'"detail":\s*"([^"]+)"|<p class="lead">([^<]+)<', body)
        detail = (found.group(1) or found.group(2)).decode(errors="replace")[:100] if found else ""
    return (f"{status_line}; {outcome} after {sent:,} file bytes sent ({sent / 1024 / 1024:.1f} MiB) "
            f"in {time.monotonic() - started:.2f} s" + (f"; “{detail}…”" if detail else ""))


def check_huge_uploads(site: Site, token: str) -> None:
    for chunked in (False, True):
        how = "chunked, no Content-Length" if chunked else "with Content-Length"
        browser = Browser(site)
        browser.get("/report/")
        browser.post("/report/", {"reporter_role": "depicted", "under_18": "no", "urls": "", "description": "x",
                                  "contact_email": ""})
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        print(f"1 GiB to the public form ({how}): " + send_huge(
            site, "/report/check", {"Cookie": cookie, "Referer": f"http://127.0.0.1:{site.port}/"},
            {"csrfmiddlewaretoken": browser.cookies.get("csrftoken", "")}, chunked=chunked))
        print(f"1 GiB to the API ({how}): " + send_huge(
            site, "/api/v1/media/", {"Authorization": f"Token {token}"}, {}, chunked=chunked))
    # Under the declared-length guard (MEDIA_MAX_BYTES plus the form allowance) but a file over the
    # limit: the counting upload handler stops it as it streams.
    just_over = 200 * 1024 * 1024 + 256 * 1024
    print(f"{just_over:,} bytes to the API (a declared length the first guard lets through): " + send_huge(
        site, "/api/v1/media/", {"Authorization": f"Token {token}"}, {}, chunked=False, total=just_over))


def main() -> int:
    args = parse_args()
    static_root = tempfile.mkdtemp(prefix="reclaim-loadcheck-static-")
    env = environment(args, static_root)
    token, upload_token = prepare(args, env)
    gunicorn = subprocess.Popen(
        [str(REPO / ".venv/bin/gunicorn"), "config.wsgi:application", "--workers", "2", "--bind",
         f"127.0.0.1:{args.port}", "--timeout", "30"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(line.decode(errors="replace") for line in gunicorn.stderr),
                     daemon=True).start()
    site = Site(args.port)
    try:
        for _ in range(100):
            try:
                if site.request("GET", "/report/")[0] == 200 and len(workers_of(gunicorn.pid)) == 2:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        workers = workers_of(gunicorn.pid)
        print(f"gunicorn {gunicorn.pid}, 2 sync workers {workers}; CACHE_URL={args.redis}, "
              f"DATABASE_URL=postgres://…/{args.database}")
        print("Peak RSS before: " + ", ".join(f"{pid}: {peak_rss_mb(pid):.0f} MB" for pid in workers))
        check_api_rates(site, token, args.reads, args.writes, args.read_rate, args.write_rate)
        check_pin_lock(site)
        check_public_rate(site, args.public_rate)
        check_huge_uploads(site, upload_token)  # its own token: the rate check spent the first one's writes
        after = workers_of(gunicorn.pid)
        print("Peak RSS after: " + ", ".join(f"{pid}: {peak_rss_mb(pid):.0f} MB" for pid in after)
              + ("" if after == workers else f" (workers changed: {workers} → {after})"))
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    server_errors = [line for line in errors if "Traceback" in line or " ERROR " in line or "WORKER TIMEOUT" in line]
    print(f"Server errors logged: {len(server_errors)}")
    for line in server_errors[:5]:
        print("  " + line.rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
