"""Browser tests: Debian's Chromium driven by Playwright against the real server.

Each participant gets a browser context of their own (own cookies, own localStorage), as
if each sat at their own tablet. `make test-deps` installs /usr/bin/chromium.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.conftest import PASSWORD, LiveServer

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium dials out at start, and a closed
# network refuses it; the sandbox needs user namespaces that containers rarely give.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 15_000

expect.set_options(timeout=TIMEOUT_MS)

OpenAs = Callable[..., Awaitable[Page]]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Browser tests exercise the client, not the database: SQLite alone is enough."""
    return f"sqlite+aiosqlite:///{tmp_path / 'phonghop.db'}"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):  # in CI a missing browser is a broken install, not a skip
            pytest.fail(f"{CHROMIUM} is missing: `make test` should have installed it")
        pytest.skip(f"{CHROMIUM} is missing: run `make test-deps`")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
async def open_page(browser: Browser, server: LiveServer) -> AsyncIterator[OpenAs]:
    """open_page(username=None, **context options) → a page in a fresh browser context,
    signed in through the sign-in screen when a username is given. Uncaught script
    errors in any page fail the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    async def open_as(username: str | None = None, **options: Any) -> Page:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = await browser.new_context(
            base_url=server.url, **{"locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh",
                                    **options})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{username}: {error}"))
        await page.goto("/")
        if username:
            await sign_in(page, username)
        return page

    yield open_as
    for context in contexts:
        await context.close()
    assert not errors, f"script errors in the page: {errors}"


async def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    await page.locator("#login-username").fill(username)
    await page.locator("#login-password").fill(password)
    await page.locator("form.login-form button[type=submit]").click()
    await expect(page.locator(".view-meetings h1")).to_be_visible()


@pytest.fixture
async def long_document(server: LiveServer, meeting: dict[str, Any]) -> dict[str, Any]:
    """A six-page document, uploaded by the secretary to meeting A and fully rendered."""
    from tests.helpers import Client, make_pdf

    pages = [f"Trang {n}: dự thảo nghị quyết về kế hoạch năm 2027" for n in range(1, 7)]
    async with Client(server.url) as secretary:
        assert (await secretary.login("thu", PASSWORD)).status_code == 200
        response = await secretary.upload(meeting["a"], make_pdf(pages), title="Dự thảo nghị quyết",
                                          filename="du-thao.pdf")
        assert response.status_code == 201, response.text
        document = await secretary.wait_ready(response.json()["id"])
    assert document["state"] == "ready"
    return document


async def enter_room(page: Page, meeting_id: int, query: str = "") -> None:
    """Open the meeting room and wait until its live connection has joined."""
    await page.goto(f"/#/meetings/{meeting_id}{query}")
    await expect(page.locator(".room")).to_be_visible()
    await expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "connected")


async def wait_page_shown(page: Page, number: int, timeout: float = TIMEOUT_MS) -> None:
    """The page image of page `number` is loaded and shown."""
    await page.wait_for_function(
        """n => { const img = document.querySelector('.page-image');
                  return img && Number(img.dataset.page) === n && img.complete
                      && img.naturalWidth > 0 && img.currentSrc.includes(`/pages/${n}/`); }""",
        arg=number, timeout=timeout)
