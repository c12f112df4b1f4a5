"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Loaded for the whole suite through ``pytest_plugins`` in the root conftest, so the fixtures below
are global:

- ``chromium_path``: ``/usr/bin/chromium`` (``WHARF_CHROMIUM`` overrides); skip when missing, fail
  instead when ``WHARF_REQUIRE_INTEGRATION=1`` (CI must run these tests, not skip them).
- ``browser``: one headless Chromium for the session (``playwright install`` does not work here,
  so Playwright is pointed at the Debian binary with ``executable_path``).
- ``page``: a fresh browser context (cookies, storage) and page per test. Every console error,
  uncaught page error and Content-Security-Policy violation is recorded and fails the test:
  the pages must work under the strict policy. ``page_errors.allow(regex)`` lets a test accept
  an error it provokes on purpose (e.g. the console line Chromium writes for a 422 answer).
- ``log_in(user_or_username, password=PASSWORD)``: logs in through the real login form of the
  ``live_server`` and returns the page.

Screenshots taken inside a test should pass ``caret="initial"``: Playwright's default hides the
caret by giving inputs a ``style`` attribute, and when htmx later settles a swap it copies that
attribute onto the new inputs, which the strict CSP (``style-src-attr``) reports as a violation.

Mark browser tests ``@pytest.mark.browser``. ``live_server`` tests run on a transactional
database that is flushed after each test: data made by migrations (the ``Admin`` group) is gone
afterwards, so create what a test needs in the test (``make_user(admin=True)`` does).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Playwright's sync API keeps an asyncio loop "running" in the main thread, between calls too,
# so every ORM call made by the test itself (fixtures, assertions on rows) would otherwise raise
# SynchronousOnlyOperation. The test code is synchronous; the live server runs in its own thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("WHARF_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEFAULT_TIMEOUT_MS = 10_000
VIEWPORT = {"width": 1280, "height": 800}

# Runs in every document before the page's own scripts. It is injected over the DevTools
# protocol, so the page's CSP does not apply to it. Violations also show up as console errors;
# the event listener makes sure none is missed (e.g. report-only or a console that is too late).
_CSP_WATCH = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.__wharfCspViolations = window.__wharfCspViolations || [];
  var text = "CSP violation: " + event.violatedDirective + " blocked " +
    (event.blockedURI || "inline") + " at " + event.sourceFile + ":" + event.lineNumber;
  window.__wharfCspViolations.push(text);
  console.error(text);
}, true);
"""

_WATCH_KEY = pytest.StashKey["PageErrors"]()
_FAILED_KEY = pytest.StashKey[bool]()


def _missing(message: str):
    if os.environ.get("WHARF_REQUIRE_INTEGRATION") == "1":
        pytest.fail(message + " and WHARF_REQUIRE_INTEGRATION=1")
    pytest.skip(message)


@dataclass
class PageErrors:
    """Console errors, uncaught exceptions and CSP violations seen by one test's page."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern] = field(default_factory=list)
    reported: int = 0

    def allow(self, pattern: str) -> None:
        """Accept errors matching ``pattern`` (a regular expression, searched)."""
        self.allowed.append(re.compile(pattern))

    def add(self, text: str) -> None:
        self.errors.append(text)

    def unexpected(self) -> list[str]:
        return [text for text in self.errors if not any(p.search(text) for p in self.allowed)]

    def check(self) -> None:
        """Fail on errors not yet reported (each error is reported once)."""
        errors = self.unexpected()
        new, self.reported = errors[self.reported :], len(errors)
        if new:
            pytest.fail(
                "The browser reported errors (console, page errors or CSP violations):\n  "
                + "\n  ".join(new),
                pytrace=False,
            )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which(CHROMIUM) if not os.path.isabs(CHROMIUM) else CHROMIUM
    if not path or not os.access(path, os.X_OK):
        _missing(f"Chromium not found at {CHROMIUM} (Debian package 'chromium')")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - requirements-dev.txt installs it
        _missing("Playwright for Python is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_errors(request) -> PageErrors:
    watch = PageErrors()
    request.node.stash[_WATCH_KEY] = watch
    return watch


@pytest.fixture
def page(request, browser, live_server, page_errors, tmp_path) -> Iterator:
    """A new context and page per test, on the live server, with errors recorded."""
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORT, locale="en-US", timezone_id="UTC"
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    context.add_init_script(_CSP_WATCH)
    new_page = context.new_page()

    def on_console(message):
        if message.type == "error":
            location = message.location or {}
            page_errors.add(
                f"console.error: {message.text} ({location.get('url', '')}:{location.get('lineNumber', '')})"
            )

    new_page.on("console", on_console)
    new_page.on("pageerror", lambda error: page_errors.add(f"page error: {error}"))
    try:
        yield new_page
    finally:
        if request.node.stash.get(_FAILED_KEY, False):
            shot = Path(tmp_path) / "failure.png"
            try:
                new_page.screenshot(path=str(shot), full_page=True)
                print(f"Screenshot of the failed browser test: {shot}")
            except Exception as error:  # best effort only: never hide the real failure
                print(f"No screenshot: {error}")
        context.close()


@pytest.fixture
def log_in(page, live_server):
    """Log in through the real login form; returns the page (now on the dashboard)."""

    def log_in_as(user, password: str | None = None):
        if password is None:
            from conftest import PASSWORD  # the personas' password

            password = PASSWORD
        username = user if isinstance(user, str) else user.get_username()
        page.goto("/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        if "/login/" in page.url:
            raise AssertionError(f"Logging in as {username} failed: {page.url}")
        return page

    return log_in_as


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After a browser test's body: fail it on any console error / CSP violation it caused."""
    result = yield
    watch = item.stash.get(_WATCH_KEY, None)
    if watch is not None:
        watch.check()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        item.stash[_FAILED_KEY] = True
    return report
