"""Before the session the tablet keeps every page of the meeting; with the network gone,
pages it never showed still open."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.e2e.conftest import OpenAs, enter_room, wait_page_shown


async def test_pages_are_kept_for_offline_use(
    open_page: OpenAs, meeting: dict[str, Any], long_document: dict[str, Any]
) -> None:
    tablet = await open_page("dbieu1", viewport={"width": 1180, "height": 820})
    await enter_room(tablet, meeting["a"])
    # Two documents of two pages and one of six: ten pages, each at this tablet's width
    # and as a thumbnail.
    await expect(tablet.get_by_test_id("offline-text")).to_have_text(
        "Đã tải 10/10 trang để dùng khi mất mạng")
    await tablet.wait_for_function("() => navigator.serviceWorker.controller !== null")
    kept = await tablet.evaluate("""async () => {
        const cache = await caches.open('phonghop-pages-v1');
        return (await cache.keys()).map(r => new URL(r.url).pathname); }""")
    assert len([url for url in kept if url.endswith("/200.webp")]) == 10
    assert len(kept) == 20

    await tablet.context.set_offline(True)
    await expect(tablet.get_by_test_id("connection")).to_have_attribute("data-state", "offline")
    await expect(tablet.get_by_test_id("connection")).to_contain_text("Mất mạng")
    # A document never opened on this tablet: its pages come from the cache.
    await tablet.locator(".doc-link", has_text="Dự thảo nghị quyết").click()
    # Page 1 of the document shown before passes for page 1 too: wait for this one.
    await expect(tablet.locator(".page-indicator")).to_have_text("Trang 1 / 6")
    await wait_page_shown(tablet, 1)
    await tablet.keyboard.press("End")
    await wait_page_shown(tablet, 6)
    await tablet.context.set_offline(False)
    await expect(tablet.get_by_test_id("connection")).to_have_attribute("data-state", "connected")
