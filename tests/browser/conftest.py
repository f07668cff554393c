"""Real headless Chromium (Debian's, driven by Playwright for Python) against a live server.

Skipped, with the reason, when the front end is not built or no Chromium is installed: the
Makefile and CI run `npm ci && npm run build` and install chromium before pytest.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "browser"
PASSWORD = "pw-for-tests-only"  # tests/factories.UserFactory
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _why_not() -> str | None:
    if not (settings.FRONTEND_DIST / ".vite" / "manifest.json").exists():
        return "frontend/dist is missing: run `cd frontend && npm ci && npm run build` first"
    if settings.FRONTEND_DIST not in [Path(p) for p in settings.STATICFILES_DIRS]:
        return "frontend/dist appeared after settings were loaded: restart pytest"
    if not shutil.which("chromium"):
        return "no chromium on PATH (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright (Python) is not installed"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _why_not()
    if reason:
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Shots:
    """Numbered screenshots of each step under test-artifacts/browser/<test>/."""

    def __init__(self, page, name: str):
        self.page = page
        self.dir = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def __call__(self, step: str) -> Path:
        self.n += 1
        path = self.dir / f"{self.n:02d}_{step}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.shot = Shots(page, request.node.name)
    yield page
    context.close()


def login(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
