"""The meeting room: a delegate reads, turns pages, searches; a guest sees only what is
meant for guests."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenAs

PAGE_WIDTHS = {200, 480, 800, 1024, 1280, 1600, 2048, 2560}


async def open_meeting(page: Page, meeting_id: int) -> None:
    await page.locator(f'.meeting-card[data-meeting-id="{meeting_id}"] a.stretched').click()
    await expect(page.locator(".room")).to_be_visible()


async def image_state(page: Page) -> dict[str, Any]:
    return await page.locator(".page-image").evaluate("""img => ({
        page: Number(img.dataset.page), width: Number(img.dataset.width), src: img.currentSrc,
        natural: img.naturalWidth, complete: img.complete,
        needed: img.parentElement.getBoundingClientRect().width * devicePixelRatio,
    })""")


async def wait_page_loaded(page: Page, number: int) -> dict[str, Any]:
    await page.wait_for_function(
        """n => { const img = document.querySelector('.page-image');
                  return img && Number(img.dataset.page) === n && img.complete
                      && img.naturalWidth > 0 && img.currentSrc.includes(`/pages/${n}/`); }""",
        arg=number)
    return await image_state(page)


async def test_delegate_reads_turns_pages_and_sees_thumbnails(
    open_page: OpenAs, meeting: dict[str, Any]
) -> None:
    page = await open_page("dbieu1", device_scale_factor=2)
    await open_meeting(page, meeting["a"])
    await expect(page.get_by_test_id("prepare-link")).to_have_count(0)

    # The first document of the agenda opens by itself, at a bucket width that covers
    # the page's CSS width on this screen.
    await expect(page.locator(".viewer-title")).to_have_text("Tài liệu công khai")
    first = await wait_page_loaded(page, 1)
    assert first["width"] in PAGE_WIDTHS
    assert first["width"] >= min(first["needed"], max(PAGE_WIDTHS))
    assert re.search(rf"/pages/1/{first['width']}\.webp$", first["src"])
    await expect(page.locator(".page-indicator")).to_have_text("Trang 1 / 2")
    await expect(page.locator('.agenda-item.is-current .agenda-title').first).to_have_text("Khai mạc")
    # The next page is fetched ahead, at the same width.
    await page.wait_for_function("""w => performance.getEntriesByType('resource')
        .some(e => e.name.includes(`/pages/2/${w}.webp`))""", arg=first["width"])

    await page.get_by_role("button", name="Trang sau").click()
    await wait_page_loaded(page, 2)
    await expect(page.locator(".page-indicator")).to_have_text("Trang 2 / 2")
    await expect(page.get_by_role("button", name="Trang sau")).to_be_disabled()

    await page.keyboard.press("ArrowLeft")
    await wait_page_loaded(page, 1)
    await page.keyboard.press("ArrowRight")
    await wait_page_loaded(page, 2)
    assert "page=2" in page.url

    thumbs = page.locator(".thumb img")
    await expect(thumbs).to_have_count(2)
    await page.wait_for_function("""() => [...document.querySelectorAll('.thumb img')]
        .every(img => img.complete && img.naturalWidth > 0 && img.currentSrc.includes('/200.webp'))""")
    await expect(page.locator('.thumb[aria-current="page"] .thumb-label')).to_have_text("2")

    # Clicking an agenda item opens its first document; a reload keeps the place.
    await page.locator(".agenda-open", has_text="Báo cáo").first.click()
    await expect(page.locator(".viewer-title")).to_have_text("Báo cáo nội bộ")
    await wait_page_loaded(page, 1)
    await page.keyboard.press("PageDown")
    await wait_page_loaded(page, 2)
    await page.reload()
    await expect(page.locator(".viewer-title")).to_have_text("Báo cáo nội bộ")
    await wait_page_loaded(page, 2)


async def test_search_lists_hits_and_highlights_the_word(
    open_page: OpenAs, meeting: dict[str, Any]
) -> None:
    page = await open_page("dbieu2")
    await open_meeting(page, meeting["a"])
    await wait_page_loaded(page, 1)
    await page.get_by_role("tab", name="Tìm kiếm").click()
    await page.get_by_role("searchbox").fill("nghi quyet")
    await page.get_by_role("searchbox").press("Enter")
    hits = page.locator(".search-hit")
    await expect(hits).to_have_count(1)
    await expect(hits.first).to_contain_text("Báo cáo nội bộ")
    await expect(hits.first).to_contain_text("Trang 2")

    await page.get_by_role("searchbox").fill("internal")
    await page.get_by_role("searchbox").press("Enter")
    await expect(hits).to_have_count(1)
    await hits.first.click()
    await expect(page.locator(".viewer-title")).to_have_text("Báo cáo nội bộ")
    await wait_page_loaded(page, 1)
    box = page.locator(".highlight.is-active")
    await expect(box).to_have_count(1)
    await expect(box).to_be_visible()
    # "internal" is the second word of a line set at x=72pt, baseline 100pt, 18pt type on
    # a 595pt-wide page: its box, scaled to the rendered page, must sit there.
    frame = await page.locator(".page-frame").bounding_box()
    found = await box.bounding_box()
    assert frame and found
    scale = frame["width"] / 595
    assert 72 * scale < found["x"] - frame["x"] < 250 * scale
    assert 75 * scale < found["y"] - frame["y"] < 100 * scale
    assert 30 * scale < found["width"] < 120 * scale


async def test_guest_does_not_see_the_private_document(
    open_page: OpenAs, meeting: dict[str, Any]
) -> None:
    page = await open_page("khach")
    await open_meeting(page, meeting["a"])
    await expect(page.locator(".viewer-title")).to_have_text("Tài liệu công khai")
    await wait_page_loaded(page, 1)
    await expect(page.locator(".doc-link")).to_have_count(1)
    await expect(page.locator(".room-side")).not_to_contain_text("Báo cáo nội bộ")
    await expect(page.locator(".agenda-title")).to_have_text(["Khai mạc"])

    await page.get_by_role("tab", name="Tìm kiếm").click()
    await page.get_by_role("searchbox").fill("internal")
    await page.get_by_role("searchbox").press("Enter")
    await expect(page.locator(".search-summary")).to_have_text("Không tìm thấy “internal”.")

    # Nor its page images, even knowing their address.
    private = meeting["a_docs"]["noi-bo.pdf"]
    status = await page.evaluate(
        "sha => fetch(`/api/files/${sha}/pages/1/200.webp`).then(r => r.status)", private)
    assert status == 404


async def test_meeting_times_read_in_vietnam_time_on_any_device(
    open_page: OpenAs, meeting: dict[str, Any]
) -> None:
    """A tablet set to UTC still shows the 08:00 (UTC+7) start, not 01:00."""
    page = await open_page("dbieu1", timezone_id="UTC")
    await open_meeting(page, meeting["a"])
    await expect(page.locator(".room")).to_contain_text("08:00")
