"""Playwright driving the system's Chromium, headless, against a live server.

Playwright's own browser download is never used (no network here): the
Chromium that `make test` installs from Debian is launched by path.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

# Playwright's sync API keeps an event loop in the test thread; Django's ORM
# calls in the same thread (fixtures) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test`, which installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def seeded_catalogue(transactional_db) -> None:
    """Browser tests run on a live server, so in transactions that end with a
    flush of every table, the rows the data migrations seeded among them: the
    test after one would find no campaign kinds and no evidence fields. Seed
    them again, as the migration does."""
    from importlib import import_module

    from django.apps import apps

    import_module("campaigns.migrations.0002_seed_catalogue").seed(apps, None)


@pytest.fixture
def open_page(browser, live_server):
    """A fresh browser context of a given size, pointed at the live server."""
    contexts = []

    def make(width: int = 1366, height: int = 768) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=live_server.url, locale="zh-CN"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page: Page, username: str, password: str = "pw-not-used") -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def screenshot(page: Page, name: str) -> None:
    """Kept under test-artifacts/ for a person to look at; not asserted on."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
