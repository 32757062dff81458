"""Writing on the page: a pen with pressure, shared strokes seen live by the others,
private ones by no one else; undo and redo; notes survive a reload and an offline spell,
and arrive exactly once."""

from __future__ import annotations

from typing import Any

from playwright.async_api import CDPSession, Page, expect

from tests.e2e.conftest import OpenAs, enter_room, wait_page_shown

SAVED = ".ink-layer path[data-id]"


async def pen(page: Page) -> CDPSession:
    return await page.context.new_cdp_session(page)


async def pen_event(cdp: CDPSession, kind: str, x: float, y: float, force: float) -> None:
    await cdp.send("Input.dispatchMouseEvent", {
        "type": kind, "x": x, "y": y, "button": "left", "buttons": 0 if kind == "mouseReleased" else 1,
        "clickCount": 1, "pointerType": "pen", "force": force})


async def stroke_points(page: Page, fx: float, fy: float, length: float = 0.3) -> list[tuple[float, float, float]]:
    """A wavy line across the page from (fx, fy), as fractions of the page frame."""
    box = await page.locator(".page-frame").bounding_box()
    assert box
    steps = 16
    return [(box["x"] + box["width"] * (fx + length * i / steps),
             box["y"] + box["height"] * fy + (6 if i % 2 else -6), 0.2 + 0.7 * i / steps)
            for i in range(steps + 1)]


async def draw(page: Page, points: list[tuple[float, float, float]], before_release: Any = None) -> None:
    cdp = await pen(page)
    (x, y, force), *rest = points
    await pen_event(cdp, "mousePressed", x, y, force)
    for x, y, force in rest:
        await pen_event(cdp, "mouseMoved", x, y, force)
    if before_release:
        await before_release()
    await pen_event(cdp, "mouseReleased", x, y, 0)
    await cdp.detach()


async def annotations(page: Page, document_id: int, number: int) -> list[dict[str, Any]]:
    """What the server holds for this user on the page (GET …/annotations?page=N)."""
    return await page.evaluate(
        "([d, n]) => fetch(`/api/documents/${d}/annotations?page=${n}`).then(r => r.json())",
        [document_id, number])


async def write_note(page: Page, text: str, fx: float, fy: float) -> None:
    await page.get_by_role("button", name="Ghi chú chữ").click()
    box = await page.locator(".page-frame").bounding_box()
    assert box
    await page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    await page.get_by_role("textbox", name="Nội dung ghi chú").fill(text)
    await page.get_by_role("button", name="Lưu ghi chú").click()


async def test_pen_strokes_shared_live_private_stay_private_and_survive(
    open_page: OpenAs, meeting: dict[str, Any], long_document: dict[str, Any]
) -> None:
    doc = long_document["id"]
    query = f"?doc={doc}&page=2"
    one = await open_page("dbieu1")
    await enter_room(one, meeting["a"], query)
    two = await open_page("dbieu2")
    await enter_room(two, meeting["a"], query)
    for page in (one, two):
        await wait_page_shown(page, 2)
        await page.get_by_role("button", name="Vừa cả trang").click()

    # A shared stroke with the pen: the other delegate sees it while it is drawn, then saved.
    await one.get_by_role("button", name="Bút", exact=True).click()
    await one.get_by_role("radio", name="Mọi người").click()

    async def seen_live() -> None:
        await expect(two.locator(".ink-layer path[data-live]")).to_have_count(1)

    await draw(one, await stroke_points(one, 0.15, 0.3), before_release=seen_live)
    await expect(two.locator(SAVED)).to_have_count(1)
    await expect(two.locator(".ink-layer path[data-live]")).to_have_count(0)
    await expect(two.locator(SAVED)).to_have_attribute("data-visibility", "shared")
    # The pressure of the pen is kept, point by point, in page coordinates.
    saved = [a for a in await annotations(one, doc, 2) if a["kind"] == "ink"]
    assert len(saved) == 1
    points = saved[0]["data"]["points"]
    assert len(points) >= 10
    assert points[0][2] < 0.35 < 0.75 < points[-1][2]
    assert all(0 <= x <= 595 and 0 <= y <= 842 for x, y, _ in points)

    # A private stroke: only its author sees it. A shared note written after it is the
    # marker that everything before it has reached the other tablet.
    await one.get_by_role("radio", name="Riêng tôi").click()
    await draw(one, await stroke_points(one, 0.2, 0.5))
    await expect(one.locator(SAVED)).to_have_count(2)
    await one.get_by_role("radio", name="Mọi người").click()
    await write_note(one, "Đề nghị làm rõ số liệu", 0.6, 0.15)
    await expect(two.locator(".sticky-note")).to_have_text(["Đề nghị làm rõ số liệuĐại Biểu Một"])
    await expect(two.locator(SAVED)).to_have_count(1)
    assert len(await annotations(two, doc, 2)) == 2

    # Undo takes the note away for everyone; redo puts it back.
    await one.get_by_role("button", name="Hoàn tác").click()
    await expect(two.locator(".sticky-note")).to_have_count(0)
    await one.get_by_role("button", name="Làm lại").click()
    await expect(two.locator(".sticky-note")).to_have_count(1)

    # The eraser removes the private stroke.
    await one.get_by_role("button", name="Tẩy").click()
    points = await stroke_points(one, 0.2, 0.5)
    await one.mouse.move(points[4][0], points[4][1])
    await one.mouse.down()
    await one.mouse.move(points[6][0], points[6][1], steps=3)
    await one.mouse.up()
    await expect(one.locator(SAVED)).to_have_count(1)

    # A reload: every note is still there.
    await one.reload()
    await expect(one.get_by_test_id("connection")).to_have_attribute("data-state", "connected")
    await wait_page_shown(one, 2)
    await expect(one.locator(SAVED)).to_have_count(1)
    await expect(one.locator(".sticky-note")).to_have_count(1)


async def test_a_note_written_offline_arrives_once(
    open_page: OpenAs, meeting: dict[str, Any], long_document: dict[str, Any]
) -> None:
    doc = long_document["id"]
    query = f"?doc={doc}&page=3"
    one = await open_page("dbieu1")
    await enter_room(one, meeting["a"], query)
    two = await open_page("dbieu2")
    await enter_room(two, meeting["a"], query)
    for page in (one, two):
        await wait_page_shown(page, 3)
        await page.get_by_role("button", name="Vừa cả trang").click()
    await one.get_by_role("radio", name="Mọi người").click()

    await one.context.set_offline(True)
    await expect(one.get_by_test_id("connection")).to_have_attribute("data-state", "offline")
    await write_note(one, "Viết khi mất mạng", 0.3, 0.4)
    await expect(one.get_by_test_id("connection")).to_contain_text("1 ghi chú chờ gửi")
    await expect(one.locator(".sticky-note.is-pending")).to_have_count(1)

    # Back online: the note goes out by itself, once.
    await one.context.set_offline(False)
    await expect(one.get_by_test_id("connection")).to_have_attribute("data-state", "connected")
    await expect(two.locator(".sticky-note")).to_have_count(1)
    await expect(one.get_by_test_id("connection")).not_to_contain_text("chờ gửi")
    await expect(one.locator(".sticky-note.is-pending")).to_have_count(0)
    notes = [a for a in await annotations(two, doc, 3) if a["kind"] == "note"]
    assert [n["data"]["text"] for n in notes] == ["Viết khi mất mạng"]
    # A reload does not send it again.
    await one.reload()
    await expect(one.get_by_test_id("connection")).to_have_attribute("data-state", "connected")
    await expect(one.locator(".sticky-note")).to_have_count(1)
    assert len([a for a in await annotations(one, doc, 3) if a["kind"] == "note"]) == 1
    await expect(two.locator(".sticky-note")).to_have_count(1)
