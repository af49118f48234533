"""The browser hasher (casework/static/casework/hashing/, the modules the pages load) run in headless
Debian chromium, for the commands that hold it against the engine (hash_parity) and time it (hash_bench).

A page on 127.0.0.1 serves /hashing/… from the static folder and /files/… from a folder of the caller's,
so the browser decodes the very bytes the engine reads.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import unquote

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
HASHING = Path(__file__).resolve().parents[1] / "casework" / "static" / "casework" / "hashing"
CHROMIUM_MISSING = "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)."


class _Files(http.server.SimpleHTTPRequestHandler):
    """/hashing/… from the static folder, /files/… from FOLDER, / as an empty page."""

    def __init__(self, *args, folder: Path, **kwargs):
        self.folder = folder
        super().__init__(*args, directory=str(HASHING), **kwargs)

    def translate_path(self, path):
        path = unquote(path.split("?", 1)[0])
        if path.startswith("/files/"):
            target = (self.folder / path[len("/files/"):]).resolve()
            return str(target) if self.folder in target.parents else str(self.folder / ".missing")
        if path.startswith("/hashing/"):
            return str(HASHING / Path(path[len("/hashing/"):]).name)
        return str(HASHING / ".missing")

    def do_GET(self):
        if self.path == "/":
            body = b"<!doctype html><title>hash parity</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format, *args):  # quiet: the command prints its own lines
        pass



@contextmanager
def hasher_page(folder: Path) -> Iterator:
    """A Playwright page at the local server's empty page, with FOLDER's files under /files/."""
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Files, folder=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{server.server_port}/")
                yield page
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
