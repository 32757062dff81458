"""Following the presenter: the chair turns pages, the delegates' tablets turn with them;
a delegate who pages away stops following and comes back with one tap."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.conftest import OpenAs, enter_room, wait_page_shown


async def test_delegates_follow_the_chair_and_come_back(
    open_page: OpenAs, meeting: dict[str, Any], long_document: dict[str, Any]
) -> None:
    doc = long_document["id"]
    chair = await open_page("chu")
    await enter_room(chair, meeting["a"], f"?doc={doc}&page=1")
    delegates = [await open_page("dbieu1"), await open_page("dbieu2")]
    for delegate in delegates:
        await enter_room(delegate, meeting["a"])

    # The chair presents the document, then turns to page 3.
    await chair.get_by_test_id("present").click()
    await expect(chair.get_by_test_id("present")).to_have_attribute("aria-pressed", "true")
    for delegate in delegates:
        await expect(delegate.locator(".viewer-title")).to_have_text("Dự thảo nghị quyết")
    await chair.get_by_role("button", name="Trang sau").click()
    await chair.get_by_role("button", name="Trang sau").click()
    await wait_page_shown(chair, 3)
    for delegate in delegates:
        await wait_page_shown(delegate, 3, timeout=2_000)
        await expect(delegate.get_by_test_id("follow-text")).to_have_text("Đang theo Chủ tọa — trang 3")

    # The chair sees both delegates follow.
    await chair.get_by_role("tab", name="Thành phần").click()
    people = chair.locator(".people-panel")
    await expect(chair.get_by_test_id("follow-count")).to_have_text("2/2 người đang theo dõi")
    await expect(people.locator('li[data-username="dbieu1"]')).to_have_attribute("data-following", "true")

    # Delegate 1 pages ahead: it stops following, and the chair's list says so.
    one = delegates[0]
    await one.get_by_role("button", name="Trang sau").click()
    await wait_page_shown(one, 4)
    await expect(one.get_by_test_id("follow-banner")).to_have_attribute("data-mode", "away")
    await expect(one.get_by_test_id("follow-text")).to_have_text("Chủ tọa đang ở trang 3")
    await expect(people.locator('li[data-username="dbieu1"]')).to_have_attribute("data-following", "false")
    await expect(people.locator('li[data-username="dbieu1"]')).to_contain_text("Xem riêng — trang 4")
    await expect(chair.get_by_test_id("follow-count")).to_have_text("1/2 người đang theo dõi")

    # The chair moves on; delegate 1 stays where it is, delegate 2 follows.
    await chair.get_by_role("button", name="Trang sau").click()
    await wait_page_shown(delegates[1], 4, timeout=2_000)
    await expect(one.get_by_test_id("follow-text")).to_have_text("Chủ tọa đang ở trang 4")
    await chair.get_by_role("button", name="Trang sau").click()
    await wait_page_shown(delegates[1], 5, timeout=2_000)
    await expect(one.get_by_test_id("follow-text")).to_have_text("Chủ tọa đang ở trang 5")
    await wait_page_shown(one, 4)

    # One tap brings it back to the chair's page, following again.
    await one.get_by_test_id("follow-back").click()
    await wait_page_shown(one, 5)
    await expect(one.get_by_test_id("follow-banner")).to_have_attribute("data-mode", "following")
    await expect(people.locator('li[data-username="dbieu1"]')).to_have_attribute("data-following", "true")


async def pinch(page: Page, spread: float) -> None:
    """Two fingers on the page move apart: real touch events through the DevTools protocol."""
    box = await page.locator(".viewer-stage").bounding_box()
    assert box
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = await page.context.new_cdp_session(page)

    def touches(d: float) -> list[dict[str, float]]:
        return [{"x": x - d, "y": y, "id": 1}, {"x": x + d, "y": y, "id": 2}]

    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": touches(40)})
    for step in range(1, 9):
        await cdp.send("Input.dispatchTouchEvent",
                       {"type": "touchMove", "touchPoints": touches(40 + 40 * (spread - 1) * step / 8)})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await cdp.detach()


async def test_a_follower_who_pinches_keeps_up_and_sees_the_pointer(
    open_page: OpenAs, meeting: dict[str, Any], long_document: dict[str, Any]
) -> None:
    doc = long_document["id"]
    chair = await open_page("chu")
    await enter_room(chair, meeting["a"], f"?doc={doc}&page=2")
    tablet = await open_page("dbieu2", viewport={"width": 820, "height": 1180}, has_touch=True,
                             is_mobile=True)
    await enter_room(tablet, meeting["a"])
    await chair.get_by_test_id("present").click()
    await wait_page_shown(tablet, 2)

    # Two fingers zoom the page in on the tablet: it still follows.
    fit = (await tablet.locator(".page-frame").bounding_box() or {})["width"]
    await pinch(tablet, 1.8)
    await tablet.wait_for_function(
        "w => document.querySelector('.page-frame').getBoundingClientRect().width > w * 1.3", arg=fit)
    await expect(tablet.get_by_test_id("follow-banner")).to_have_attribute("data-mode", "following")

    # The chair turns the page: the tablet turns with it.
    await chair.get_by_role("button", name="Trang sau").click()
    await wait_page_shown(tablet, 3, timeout=2_000)

    # The chair zooms in: the follower's page zooms too.
    await chair.get_by_role("button", name="Vừa chiều ngang").click()
    await tablet.wait_for_function(
        "w => Math.abs(document.querySelector('.page-frame').getBoundingClientRect().width - w) < 2", arg=fit)
    await chair.get_by_role("button", name="Phóng to").click()
    await tablet.wait_for_function(
        "w => document.querySelector('.page-frame').getBoundingClientRect().width > w * 1.2", arg=fit)

    # The laser pointer: the follower sees a red dot where the chair points.
    await chair.get_by_role("button", name="Vừa chiều ngang").click()
    await chair.get_by_test_id("laser").click()
    frame = await chair.locator(".page-frame").bounding_box()
    assert frame
    await chair.mouse.move(frame["x"] + frame["width"] * 0.25, frame["y"] + frame["height"] * 0.2)
    await chair.mouse.move(frame["x"] + frame["width"] * 0.5, frame["y"] + frame["height"] * 0.3, steps=5)
    dot = tablet.locator(".laser-dot")
    await expect(dot).to_be_visible()
    await tablet.wait_for_function("""() => {
        const d = document.querySelector('.laser-dot').style;
        return Math.abs(parseFloat(d.left) - 50) < 3 && Math.abs(parseFloat(d.top) - 30) < 3; }""")


async def test_the_chair_hands_the_presenter_role_over(
    open_page: OpenAs, meeting: dict[str, Any], long_document: dict[str, Any]
) -> None:
    doc = long_document["id"]
    chair = await open_page("chu")
    await enter_room(chair, meeting["a"], f"?doc={doc}&page=1")
    delegate = await open_page("dbieu1")
    await enter_room(delegate, meeting["a"])
    follower = await open_page("dbieu2")
    await enter_room(follower, meeting["a"])
    await chair.get_by_test_id("present").click()
    await wait_page_shown(follower, 1)

    await chair.get_by_role("tab", name="Thành phần").click()
    await chair.get_by_role("button", name="Trao quyền trình chiếu cho Đại Biểu Một").click()
    await expect(follower.get_by_test_id("follow-text")).to_have_text("Đang theo Đại Biểu Một — trang 1")
    await expect(delegate.get_by_test_id("present")).to_be_visible()
    await delegate.get_by_test_id("present").click()
    await delegate.get_by_role("button", name="Trang sau").click()
    await wait_page_shown(follower, 2, timeout=2_000)
    await wait_page_shown(chair, 2, timeout=2_000)

    # The chair takes it back.
    await chair.get_by_test_id("take-back").click()
    await expect(follower.get_by_test_id("follow-text")).to_have_text("Đang theo Chủ tọa — trang 2")
    await expect(delegate.get_by_test_id("present")).to_be_hidden()
