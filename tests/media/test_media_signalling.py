"""Video over the meeting websocket: signalling, floor control and the site agent.

Real server (uvicorn, in this loop), real websockets, real aiortc peers on 127.0.0.1.
The media path is the database-independent part of the server: SQLite only.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from media.agent import AgentOptions, SiteAgent
from tests.conftest import PASSWORD, LiveServer
from tests.helpers import CommandFailed, LiveClient, running, token_for, wait_for


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'phonghop.db'}"


async def live(server: LiveServer, username: str, meeting_id: int) -> LiveClient:
    async with server.client() as client:
        assert (await client.login(username, PASSWORD)).status_code == 200
        socket = await LiveClient.open(server.url, client)
    await socket.command("meeting.join", meeting_id)
    return socket


async def site_agent(server: LiveServer, meeting_id: int) -> SiteAgent:
    """The commune site's agent, sending a test pattern and a tone."""
    return SiteAgent(AgentOptions(server.url, await token_for(server, "xa"),
                                  meeting_id=meeting_id, test_pattern=True))


def source_of(state: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((s for s in state["sources"] if s["name"] == name), None)


def video_frames(agent: SiteAgent, source: str) -> int:
    received = agent.received.get(source)
    return received.frames["video"] if received else 0


async def test_sites_publish_and_receive_through_the_server_without_decoding(
        server: LiveServer, meeting: dict[str, Any]) -> None:
    meeting_id = meeting["a"]
    site = SiteAgent(AgentOptions(server.url, await token_for(server, "xa"),
                                  test_pattern=True, report_seconds=0.5))
    hall = SiteAgent(AgentOptions(server.url, await token_for(server, "chu"),
                                  meeting_id=meeting_id, test_pattern=True))
    chair = await live(server, "chu", meeting_id)
    async with running(site), running(hall):
        assert site.meeting_id == meeting_id  # found by itself: the site's one meeting
        state = (await chair.command("media.state", meeting_id))["state"]
        xa, hall_source = source_of(state, "Điểm cầu xã"), source_of(state, "Chủ Tọa")
        assert xa and hall_source and hall_source["hall"] and not xa["hall"]
        assert hall_source["heard"] and not xa["heard"]  # the hall is always heard

        # The site sees the hall at once; the hall sees the floor once the chair gives it.
        await wait_for(lambda: video_frames(site, hall_source["id"]) >= 30, timeout=20,
                       what="the hall's video at the site")
        assert video_frames(hall, "@floor") == 0
        await chair.command("media.floor", meeting_id, source=xa["id"])
        changed = await chair.wait_event(
            "media.changed", lambda e: e["data"]["floor"] == xa["id"])
        assert source_of(changed["data"], "Điểm cầu xã")["heard"]  # type: ignore[index]
        await wait_for(lambda: video_frames(hall, "@floor") >= 30, timeout=20,
                       what="the site's video at the hall")

        relay = server.services.media.room(meeting_id).relay
        streams = relay.stats()["streams"]
        assert {s["kind"] for s in streams} == {"audio", "video"}
        assert all(s["frames_decoded"] == 0 for s in streams)  # forwarded, never decoded

        # The site's link report and what the relay sees make its badge.
        room = server.services.media.room(meeting_id)
        await wait_for(lambda: site.last_report.get("health"), timeout=20,
                       what="the site's link report")

        def badge() -> dict[str, Any] | None:
            health = source_of(room.state(), "Điểm cầu xã")["health"]  # type: ignore[index]
            return health if health["fps"] and health["rtt_ms"] is not None else None

        health = await wait_for(badge, timeout=30, what="a badge with rtt and frame rate")
        assert health["level"] in ("good", "warn"), health

        # Mute reaches the media.
        await chair.command("media.mute", meeting_id, source=xa["id"], muted=True)
        assert not relay.heard(xa["id"])
        await chair.command("media.mute", meeting_id, source=xa["id"], muted=False)
        assert relay.heard(xa["id"])
        assert site.sessions == 1 and hall.sessions == 1  # no reconnects on the way

        # The counters, over HTTP, for the chair; not for a delegate.
        async with server.client() as http:
            await http.login("chu", PASSWORD)
            counters = (await http.get(f"/api/meetings/{meeting_id}/media")).json()
            await http.login("dbieu1", PASSWORD)
            refused = await http.get(f"/api/meetings/{meeting_id}/media")
        assert refused.status_code == 403
        video = next(s for s in counters["relay"]["streams"]
                     if s["site_id"] == xa["id"] and s["kind"] == "video")
        assert video["frames"] > 30 and video["bytes"] > 10_000 and video["subscribers"] == 1
        assert video["keyframe_requests"] >= 0 and video["fps"] > 0
        assert counters["state"]["floor"] == xa["id"]
    await chair.close()


async def test_audio_only_imposed_by_the_chair_stops_the_sites_video(
        server: LiveServer, meeting: dict[str, Any]) -> None:
    meeting_id = meeting["a"]
    site = await site_agent(server, meeting_id)
    chair = await live(server, "chu", meeting_id)
    async with running(site):
        xa = site.source_id
        relay = server.services.media.room(meeting_id).relay
        video = relay.publications[xa].streams["video"]
        await wait_for(lambda: video.counters.frames >= 10, what="the site's video")

        await chair.command("media.audio_only", meeting_id, source=xa, on=True)
        await wait_for(lambda: site._audio_only, what="the agent to go audio only")
        await asyncio.sleep(0.3)  # frames already on the wire
        before = video.counters.frames
        await asyncio.sleep(1.0)
        assert video.counters.frames - before <= 1  # the site stopped sending video
        assert relay.publications[xa].streams["audio"].counters.frames > 0

        # The site cannot lift what the chair imposed; the chair can.
        siteside = await live(server, "xa", meeting_id)
        with pytest.raises(CommandFailed) as refused:
            await siteside.command("media.audio_only", meeting_id, on=False)
        assert refused.value.code == "forbidden"
        await chair.command("media.audio_only", meeting_id, source=xa, on=False)
        await wait_for(lambda: not site._audio_only, what="video again")
        frames = video.counters.frames
        await wait_for(lambda: video.counters.frames > frames + 10, what="video again")
        await siteside.close()
    await chair.close()


async def test_the_agent_reconnects_by_itself_after_a_dropped_link(
        server: LiveServer, meeting: dict[str, Any]) -> None:
    meeting_id = meeting["a"]
    site = await site_agent(server, meeting_id)
    async with running(site):
        relay = server.services.media.room(meeting_id).relay
        first = relay.publications[site.source_id]  # type: ignore[index]
        # The link drops: the relay's end of the site's connection goes away.
        await first.pc.close()
        await wait_for(lambda: site.sessions >= 2 and site.connected.is_set(),
                       timeout=30, what="the agent to come back")
        second = relay.publications[site.source_id]  # type: ignore[index]
        assert second is not first
        frames = second.streams["video"].counters.frames
        await wait_for(lambda: second.streams["video"].counters.frames > frames + 15,
                       timeout=15, what="video after the reconnect")


async def test_floor_requests_and_who_may_do_what(
        server: LiveServer, meeting: dict[str, Any]) -> None:
    meeting_id = meeting["a"]
    site = await site_agent(server, meeting_id)
    chair = await live(server, "chu", meeting_id)
    delegate = await live(server, "dbieu1", meeting_id)
    other = await live(server, "b-chu", meeting["b"])
    async with running(site):
        siteside = await live(server, "xa", meeting_id)
        result = await siteside.command("media.request_floor", meeting_id, raised=True)
        assert result["requests"] == [site.source_id]
        event = await chair.wait_event(
            "media.changed", lambda e: e["data"]["requests"] == [site.source_id])
        assert source_of(event["data"], "Điểm cầu xã")["requesting"]  # type: ignore[index]
        await chair.command("media.floor", meeting_id, source=site.source_id)
        state = (await chair.command("media.state", meeting_id))["state"]
        assert state["floor"] == site.source_id and state["requests"] == []

        refusals = [
            (delegate, "media.publish", {"offer": "v=0"}, "forbidden"),
            (delegate, "media.floor", {"source": site.source_id}, "forbidden"),
            (siteside, "media.mute", {"source": site.source_id}, "forbidden"),
            (delegate, "media.audio_only", {"source": site.source_id}, "forbidden"),
            (chair, "media.floor", {"source": "p999999"}, "not_found"),
            (chair, "media.subscribe", {"offer": "not sdp", "source": "@floor"}, "bad_sdp"),
            (chair, "media.subscribe", {"offer": "v=0", "source": "../etc"}, "invalid"),
            (chair, "media.report", {"rtt_ms": -5}, "invalid"),
        ]
        for client, cmd, args, code in refusals:
            try:
                await client.command(cmd, meeting_id, **args)
            except CommandFailed as refused:
                assert refused.code == code, (cmd, args, refused)
            else:
                pytest.fail(f"{cmd} {args} was not refused")
        # Another meeting's chair cannot reach this meeting's media at all.
        with pytest.raises(CommandFailed) as refused:
            await other.command("media.floor", meeting_id, source=site.source_id)
        assert refused.value.code == "not_joined"
        state = (await chair.command("media.state", meeting_id))["state"]
        assert state["floor"] == site.source_id  # nothing refused changed anything
        await siteside.close()
    for client in (chair, delegate, other):
        await client.close()


async def test_a_bad_offer_changes_nothing(server: LiveServer, meeting: dict[str, Any]
                                           ) -> None:
    meeting_id = meeting["a"]
    siteside = await live(server, "xa", meeting_id)
    pc = RTCPeerConnection()  # an offer with nothing to publish in it
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    for offer in (pc.localDescription.sdp, "not sdp at all", "v=0\r\nm=video x"):
        with pytest.raises(CommandFailed) as refused:
            await siteside.command("media.publish", meeting_id, offer=offer)
        assert refused.value.code == "bad_sdp", offer
    await pc.close()
    state = (await siteside.command("media.state", meeting_id))["state"]
    assert state["sources"] == [] and not server.services.media.room(
        meeting_id).relay.publications
    await siteside.close()


def test_the_site_command_refuses_bad_arguments(tmp_path: Path) -> None:
    def site(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "server.cli", "site", *args],
                              capture_output=True, text=True, timeout=60)

    done = site("--server", "ftp://x", "--token", "t", "--test-pattern")
    assert done.returncode == 2 and "http(s)" in done.stderr
    done = site("--server", "http://x", "--token-file", str(tmp_path / "none"))
    assert done.returncode == 2 and "token file" in done.stderr
    done = site("--server", "http://x")  # no token at all
    assert done.returncode == 2 and "--token" in done.stderr


AGENT = """
import sys, aioice.ice
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
from server.cli import main
sys.exit(main(sys.argv[1:]))
"""


async def test_the_site_command_runs_as_a_process_and_delivers_frames(
        server: LiveServer, meeting: dict[str, Any], tmp_path: Path) -> None:
    meeting_id = meeting["a"]
    token_file = tmp_path / "token"
    token_file.write_text(await token_for(server, "xa") + "\n")
    # The real `phonghop site` entry point; only aioice is told to offer 127.0.0.1.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", AGENT, "site", "--server", server.url, "--token-file",
        str(token_file),
        "--test-pattern", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        relay = None

        def publishing() -> bool:
            nonlocal relay
            rooms = server.services.media.rooms
            relay = rooms[meeting_id].relay if meeting_id in rooms else None
            return bool(relay and any(
                s["kind"] == "video" and s["frames"] >= 60 for s in relay.stats()["streams"]))

        # A fresh interpreter importing aiortc and PyAV, then ICE: slow on a loaded machine.
        await wait_for(publishing, timeout=90, what="frames from the agent process")
        assert process.returncode is None
    finally:
        if process.returncode is None:
            process.terminate()
        try:  # wait, then read: a cancelled communicate() would lose what was read
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
        output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == 0, text
    assert "đã kết nối / connected" in text
