"""Video in a real browser: Chromium's fake camera publishes from the web client and an
aiortc peer receives it through the relay; a commune site's test pattern shows in the
browser, and the chair's buttons reach the media."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aioice.ice
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from media.agent import AgentOptions, SiteAgent
from tests.conftest import PASSWORD, LiveServer
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, enter_room, sign_in
from tests.helpers import LiveClient, running, token_for, wait_for
from tests.media.media_sites import Subscriber, loopback_only, receiving

FAKE_MEDIA = [
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    # Everything is on loopback here: let WebRTC use it, and show real addresses.
    "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
]


@pytest.fixture(autouse=True)
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # The relay (in this process) and the aiortc peers offer 127.0.0.1 only.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", loopback_only)


@pytest.fixture
async def camera_browser() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make test` should have installed it")
        pytest.skip(f"{CHROMIUM} is missing: run `make test-deps`")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                   args=[*CHROMIUM_ARGS, *FAKE_MEDIA])
        try:
            yield browser
        finally:
            await browser.close()


async def chair_page(browser: Browser, server: LiveServer) -> Page:
    context = await browser.new_context(base_url=server.url, locale="vi-VN",
                                        timezone_id="Asia/Ho_Chi_Minh",
                                        viewport={"width": 1400, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto("/")
    await sign_in(page, "chu")
    return page


async def receive(server: LiveServer, meeting_id: int, username: str, source: str
                  ) -> tuple[LiveClient, Subscriber]:
    """An aiortc participant receiving one source through the relay, signalled over the
    meeting websocket."""
    async with server.client() as client:
        assert (await client.login(username, PASSWORD)).status_code == 200
        socket = await LiveClient.open(server.url, client)
    await socket.command("meeting.join", meeting_id)

    async def answer_for(offer: str) -> str:
        result = await socket.command("media.subscribe", meeting_id, offer=offer,
                                      source=source)
        return str(result["answer"])

    return socket, await receiving(username, source, answer_for)


async def test_the_chair_publishes_from_the_browser_and_a_site_receives_it(
        camera_browser: Browser, server: LiveServer, meeting: dict[str, Any]) -> None:
    meeting_id = meeting["a"]
    page = await chair_page(camera_browser, server)
    await enter_room(page, meeting_id)
    panel = page.get_by_test_id("video-panel")
    await expect(panel).to_be_visible()  # the chair's panel opens by itself
    await expect(panel).to_contain_text("Chưa có điểm cầu nào phát hình")
    await panel.get_by_test_id("publish").click()

    room = server.services.media.room(meeting_id)

    def chair_source() -> str | None:
        return next((s["id"] for s in room.state()["sources"]
                     if s["name"] == "Chủ Tọa" and "video" in s["kinds"]), None)

    source = await wait_for(chair_source, timeout=20, what="the browser's publication")
    socket, site = await receive(server, meeting_id, "xa", source)
    try:
        await wait_for(lambda: len(site.frames["video"]) >= 30, timeout=30,
                       what="frames from the browser's camera at the site")
        assert site.frames["audio"], "the browser's microphone reached the site"
        streams = [s for s in room.relay.stats()["streams"] if s["site_id"] == source]
        video = next(s for s in streams if s["kind"] == "video")
        assert video["frames_decoded"] == 0 and video["subscribers"] == 1
        # The browser reports its own link; the chair's badge for itself is measured.
        await wait_for(lambda: room.sources[source].reported_at > 0, timeout=15,
                       what="the browser's link report")
        # Its own tile shows its own camera.
        own = page.locator(".video-strip [data-testid=video-tile] video")
        await page.wait_for_function(
            "el => el.videoWidth > 0", arg=await own.element_handle(), timeout=TIMEOUT_MS)

        # Stopping takes it off the relay.
        await panel.get_by_test_id("stop-publishing").click()
        await wait_for(lambda: source not in room.relay.publications, timeout=10,
                       what="the publication to end")
    finally:
        await site.close()
        await socket.close()
    assert not page.errors  # type: ignore[attr-defined]
    await page.context.close()


async def test_a_sites_video_shows_in_the_browser_and_the_chair_controls_it(
        camera_browser: Browser, server: LiveServer, meeting: dict[str, Any],
        artifacts: Path) -> None:
    meeting_id = meeting["a"]
    site = SiteAgent(AgentOptions(server.url, await token_for(server, "xa"),
                                  meeting_id=meeting_id, test_pattern=True))
    page = await chair_page(camera_browser, server)
    async with running(site):
        await enter_room(page, meeting_id)
        panel = page.get_by_test_id("video-panel")
        tile = panel.locator(f"[data-testid=video-tile][data-source={site.source_id}]")
        await expect(tile).to_contain_text("Điểm cầu xã")
        # The site's pictures play in the browser.
        video = tile.locator("video")
        await page.wait_for_function("el => el.videoWidth === 640 && !el.paused",
                                     arg=await video.element_handle(), timeout=20_000)
        await expect(tile.get_by_test_id("health")).not_to_have_attribute("data-level",
                                                                          "unknown",
                                                                          timeout=20_000)

        # The site asks for the floor; the chair gives it from the queue: shown large.
        siteside = await LiveClient.open(server.url, headers={
            "Authorization": f"Bearer {site.options.token}"})
        await siteside.command("meeting.join", meeting_id)
        await siteside.command("media.request_floor", meeting_id)
        requests = panel.locator(".video-requests")
        await expect(requests).to_contain_text("Đăng ký phát biểu (1)")
        await requests.get_by_role("button", name="Trao quyền phát biểu").click()
        room = server.services.media.room(meeting_id)
        await wait_for(lambda: room.relay.floor == site.source_id, what="the floor")
        stage_tile = page.get_by_test_id("video-stage").get_by_test_id("video-tile")
        await expect(stage_tile).to_have_attribute("data-source", site.source_id or "")
        await expect(stage_tile).to_contain_text("Đang phát biểu")
        await page.screenshot(path=artifacts / "video-floor.png")

        # Mute, then audio only: both reach the relay and the site.
        await stage_tile.get_by_test_id("mute").click()
        await wait_for(lambda: site.source_id in room.relay.muted, what="the mute")
        await expect(stage_tile).to_contain_text("Đã tắt tiếng")
        await stage_tile.get_by_test_id("impose-audio-only").click()
        await wait_for(lambda: site._audio_only, what="the site to go audio only")
        await expect(stage_tile).to_contain_text("Chỉ âm thanh (chủ tọa chọn)")
        await siteside.close()
    assert not page.errors  # type: ignore[attr-defined]
    await page.context.close()


async def test_a_delegates_tablet_receives_only_the_source_shown_large(
        camera_browser: Browser, server: LiveServer, meeting: dict[str, Any]) -> None:
    meeting_id = meeting["a"]
    site = SiteAgent(AgentOptions(server.url, await token_for(server, "xa"),
                                  meeting_id=meeting_id, test_pattern=True))
    hall = SiteAgent(AgentOptions(server.url, await token_for(server, "chu"),
                                  meeting_id=meeting_id, test_pattern=True))
    context = await camera_browser.new_context(base_url=server.url, locale="vi-VN",
                                               viewport={"width": 1280, "height": 800})
    tablet = await context.new_page()
    await tablet.goto("/")
    await sign_in(tablet, "dbieu1")
    room = server.services.media.room(meeting_id)

    def delegate_receives() -> set[str]:
        agents = {site.source_id, hall.source_id}
        return {source for (who, source) in room.relay.subscriptions if who not in agents}

    async with running(site), running(hall):
        await enter_room(tablet, meeting_id)
        panel = tablet.get_by_test_id("video-panel")
        # Someone is on screen: the speaker opens in a small window over the page.
        await expect(panel).to_be_visible()
        assert await panel.evaluate("el => el.classList.contains('is-overlay')")
        stage = tablet.get_by_test_id("video-stage").get_by_test_id("video-tile")
        await expect(stage).to_have_attribute("data-source", hall.source_id or "")
        await tablet.wait_for_function("el => el.videoWidth === 640",
                                       arg=await stage.locator("video").element_handle())
        await wait_for(lambda: delegate_receives() == {hall.source_id},
                       what="the tablet to receive the hall alone")
        await expect(panel.locator(".video-strip")).to_be_hidden()  # the speaker only

        chair = await LiveClient.open(server.url, headers={
            "Authorization": f"Bearer {hall.options.token}"})
        await chair.command("meeting.join", meeting_id)
        await chair.command("media.floor", meeting_id, source=site.source_id)
        await expect(stage).to_have_attribute("data-source", site.source_id or "")
        await tablet.wait_for_function("el => el.videoWidth === 640",
                                       arg=await stage.locator("video").element_handle())
        await wait_for(lambda: delegate_receives() == {site.source_id}, timeout=20,
                       what="the tablet to switch to the floor alone")
        await chair.close()
    # Nobody on screen any more: the window closes by itself.
    await expect(panel).to_be_hidden(timeout=20_000)
    await context.close()
