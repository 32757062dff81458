"""Screenshots of the meeting room on a tablet, landscape and portrait, for a person to
look at (saved under test-artifacts/, which git ignores)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenAs

TABLET = {"landscape": (1180, 820), "portrait": (820, 1180)}


async def wait_images(page: Page) -> None:
    await page.wait_for_function("""() => {
        const images = [document.querySelector('.page-image'), ...document.querySelectorAll('.thumb img')];
        return images.length > 1 && images.every(img => img && img.complete && img.naturalWidth > 0);
    }""")


async def swipe(page: Page, dx: float) -> None:
    await page.locator(".viewer-stage").evaluate("""(stage, dx) => {
        const r = stage.getBoundingClientRect();
        const [x, y] = [r.left + r.width / 2, r.top + r.height / 2];
        const event = (type, cx) => new PointerEvent(type, { pointerId: 7, pointerType: 'touch',
            isPrimary: true, clientX: cx, clientY: y, bubbles: true });
        stage.dispatchEvent(event('pointerdown', x));
        stage.dispatchEvent(event('pointermove', x + dx / 2));
        stage.dispatchEvent(event('pointerup', x + dx));
    }""", dx)


async def pinch(page: Page, spread: float) -> None:
    await page.locator(".viewer-stage").evaluate("""(stage, spread) => {
        const r = stage.getBoundingClientRect();
        const [x, y] = [r.left + r.width / 2, r.top + r.height / 2];
        const event = (type, id, cx) => new PointerEvent(type, { pointerId: id, pointerType: 'touch',
            clientX: cx, clientY: y, bubbles: true });
        stage.dispatchEvent(event('pointerdown', 1, x - 50));
        stage.dispatchEvent(event('pointerdown', 2, x + 50));
        stage.dispatchEvent(event('pointermove', 1, x - 50 * spread));
        stage.dispatchEvent(event('pointermove', 2, x + 50 * spread));
        stage.dispatchEvent(event('pointerup', 1, x - 50 * spread));
        stage.dispatchEvent(event('pointerup', 2, x + 50 * spread));
    }""", spread)


async def test_meeting_room_on_a_tablet(
    open_page: OpenAs, meeting: dict[str, Any], artifacts: Path
) -> None:
    for orientation, (width, height) in TABLET.items():
        page = await open_page("chu", viewport={"width": width, "height": height},
                               device_scale_factor=2, has_touch=True)
        await page.goto(f"/#/meetings/{meeting['a']}")
        await wait_images(page)
        # Two device pixels per CSS pixel: the image is the bucket for twice the width.
        chosen = await page.locator(".page-image").evaluate("img => Number(img.dataset.width)")
        assert chosen >= 1024
        await page.screenshot(path=artifacts / f"room-{orientation}.png")

    # A horizontal swipe turns the page; two fingers moving apart zoom in.
    await swipe(page, -300)
    await expect(page.locator(".page-indicator")).to_have_text("Trang 2 / 2")
    await swipe(page, 300)
    await expect(page.locator(".page-indicator")).to_have_text("Trang 1 / 2")
    frame = page.locator(".page-frame")
    box = await frame.bounding_box()
    assert box
    fit_width = box["width"]
    await pinch(page, 1.6)
    await page.wait_for_function(
        "w => document.querySelector('.page-frame').getBoundingClientRect().width > w * 1.5",
        arg=fit_width)
    await expect(page.get_by_role("button", name="Vừa chiều ngang")).to_have_attribute(
        "aria-pressed", "false")
    await page.get_by_role("button", name="Vừa chiều ngang").click()
    await page.wait_for_function(
        "w => Math.abs(document.querySelector('.page-frame').getBoundingClientRect().width - w) < 2",
        arg=fit_width)

    # Portrait: the agenda slides over the page; choosing an item closes it again.
    await page.get_by_role("button", name="Ẩn hoặc hiện chương trình họp").click()
    await page.wait_for_function(
        "() => document.querySelector('.room-side').getBoundingClientRect().left >= 0")
    await page.screenshot(path=artifacts / "room-portrait-agenda.png")
    await page.locator(".agenda-open", has_text="Báo cáo").first.click()
    await expect(page.locator(".room-side")).not_to_be_in_viewport()
    await expect(page.locator(".viewer-title")).to_have_text("Báo cáo nội bộ")


async def test_live_meeting_room_on_a_tablet(
    open_page: OpenAs, meeting: dict[str, Any], long_document: dict[str, Any], artifacts: Path
) -> None:
    """The delegate's tablet follows the chair, with notes on the page; then it pages away."""
    from tests.e2e.conftest import enter_room, wait_page_shown
    from tests.e2e.test_ink import draw, stroke_points, write_note

    doc = long_document["id"]
    chair = await open_page("chu")
    await enter_room(chair, meeting["a"], f"?doc={doc}&page=1")
    await chair.get_by_test_id("present").click()
    for orientation, (width, height) in TABLET.items():
        tablet = await open_page("dbieu1" if orientation == "landscape" else "dbieu2",
                                 viewport={"width": width, "height": height}, device_scale_factor=2,
                                 has_touch=True)
        await enter_room(tablet, meeting["a"])
        await wait_page_shown(tablet, 1)
        await expect(tablet.get_by_test_id("follow-text")).to_have_text("Đang theo Chủ tọa — trang 1")
        await expect(tablet.get_by_test_id("offline-text")).to_have_text(
            "Đã tải 10/10 trang để dùng khi mất mạng")
        if orientation == "landscape":
            await tablet.get_by_role("button", name="Bút", exact=True).click()
            await tablet.get_by_role("radio", name="Mọi người").click()
            await draw(tablet, await stroke_points(tablet, 0.12, 0.135, length=0.55))
            await tablet.get_by_role("button", name="Bút dạ quang").click()
            await draw(tablet, await stroke_points(tablet, 0.12, 0.25, length=0.4))
            await write_note(tablet, "Đề nghị bổ sung số liệu năm 2026", 0.55, 0.3)
            await expect(tablet.locator(".sticky-note")).to_have_count(1)
            await expect(tablet.locator(".sticky-note.is-pending")).to_have_count(0)
            # Both strokes stored too (the outbox sends in order, but say it here, where a
            # refused stroke would show, rather than on the other tablet).
            await expect(tablet.locator(".ink-layer path[data-id]:not(.is-pending)")
                         ).to_have_count(2)
            await tablet.get_by_role("button", name="Xem (không viết)").click()
            await tablet.locator(".viewer-stage").evaluate("stage => stage.scrollTo(0, 0)")
        else:
            await expect(tablet.locator(".ink-layer path[data-id]")).to_have_count(2)
        await wait_images(tablet)
        await tablet.screenshot(path=artifacts / f"room-follow-{orientation}.png")

    # The portrait tablet pages ahead: the banner offers the way back.
    await tablet.keyboard.press("ArrowRight")
    await expect(tablet.get_by_test_id("follow-text")).to_have_text("Chủ tọa đang ở trang 1")
    await wait_page_shown(tablet, 2)
    await wait_images(tablet)
    await tablet.screenshot(path=artifacts / "room-follow-away-portrait.png")
    await chair.get_by_role("tab", name="Thành phần").click()
    await expect(chair.locator('.people-panel li[data-username="dbieu2"]')).to_have_attribute(
        "data-following", "false")
    await chair.screenshot(path=artifacts / "room-chair-presenting.png")
