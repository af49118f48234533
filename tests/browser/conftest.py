"""Browser tests: Playwright drives Debian's chromium (installed by .ci/run, never downloaded by
Playwright) against pytest-django's live server, and saves screenshots of each journey to
$BROWSER_SCREENSHOTS (default: the test's tmp_path)."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_MISSING = "Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium; .ci/run does)"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=CHROMIUM_MISSING)
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="module", autouse=True)
def allow_orm_beside_playwright():
    """Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls under a
    running loop unless told the caller is synchronous code (the tests' own setup and checks). Only
    for these modules: the variable must not reach the rest of the suite (``check --deploy`` warns)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(allow_orm_beside_playwright):
    from playwright.sync_api import sync_playwright

    # Module-scoped, so the event loop stops before the rest of the suite runs.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Open a page in a fresh context (its own cookies): ``new_page()`` or ``new_page(**PHONE)``."""
    contexts = []

    def new_page(**options):
        context = browser.new_context(accept_downloads=True, **options)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request, tmp_path):
    folder = Path(os.environ.get("BROWSER_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    taken = []

    def screenshot(page, step: str) -> Path:
        path = folder / f"{request.node.name}-{len(taken) + 1:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        taken.append(path)
        return path

    return screenshot
