"""The relay between sites: real aiortc peers on 127.0.0.1, through a real `Relay`.

Site A publishes a test pattern and a tone; B and C watch the floor. Every wait is on a
condition with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from aiortc.codecs import h264, opus, vpx
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from media_sites import Subscriber, closing, publish, subscribe

from media.relay import FLOOR, Relay
from tests.helpers import wait_for

HERE = Path(__file__).resolve().parent


def stream(relay: Relay, site_id: str, kind: str) -> dict[str, object]:
    (found,) = [s for s in relay.stats()["streams"]
                if s["site_id"] == site_id and s["kind"] == kind]
    return found


async def steady(site: Subscriber, kind: str = "video", fps: float = 24.0,
                 window: float = 1.0, timeout: float = 10.0) -> None:
    """Wait until `site` has received `kind` at `fps` or more over the last `window` s."""
    await wait_for(lambda: site.fps(kind, window) >= fps, timeout=timeout,
                   what=f"{site.site_id} receiving {kind} at {fps}/s")


async def test_floor_video_reaches_two_sites_and_the_relay_never_decodes(
        relay: Relay, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded = {"n": 0}
    for decoder in (vpx.Vp8Decoder, h264.H264Decoder, opus.OpusDecoder):
        original = decoder.decode

        def counting(self, frame, original=original):  # type: ignore[no-untyped-def]
            decoded["n"] += 1
            return original(self, frame)

        monkeypatch.setattr(decoder, "decode", counting)

    a = await publish(relay, "A")
    relay.set_floor("A")
    b, c = await subscribe(relay, "B"), await subscribe(relay, "C")
    async with closing(a, b, c):
        await steady(b)
        await steady(c)
        await steady(b, "audio", fps=40)
        # The pattern keeps its size through the relay.
        assert b.sizes == {(640, 360)} and c.sizes == {(640, 360)}
        # B and C decode what they receive; the relay decodes nothing. Every decode in
        # this process is accounted for by a frame B or C received (a few may be in
        # flight between decoder and reader).
        received = sum(s.count(k) for s in (b, c) for k in ("video", "audio"))
        assert decoded["n"] <= received + 8, (decoded, received)
        video = stream(relay, "A", "video")
        assert video["frames_decoded"] == 0 and video["subscribers"] == 2
        assert stream(relay, "A", "audio")["frames_decoded"] == 0
        assert not any(t["transcoding"] for s in relay.stats()["subscriptions"]
                       for t in s["tracks"])


async def test_a_keyframe_request_from_c_reaches_a(relay: Relay) -> None:
    a = await publish(relay, "A")
    relay.set_floor("A")
    c = await subscribe(relay, "C")
    async with closing(a, c):
        await steady(c)
        before = a.keyframe_requests
        await c.ask_keyframe()
        await wait_for(lambda: a.keyframe_requests > before, timeout=5,
                       what="A's encoder asked for a keyframe")
        (track,) = [t for t in relay.tracks_of("C") if t.kind == "video"]
        assert track.counters.keyframe_requests >= 1
        assert stream(relay, "A", "video")["keyframe_requests_sent"] >= 1


async def test_floor_and_mute_reach_the_media(relay: Relay) -> None:
    a, d, hall = (await publish(relay, "A"), await publish(relay, "D"),
                  await publish(relay, "hall"))
    b = await subscribe(relay, "B")  # the floor
    b_hall = await subscribe(relay, "B", source="hall")
    async with closing(a, d, hall, b, b_hall):
        # Nobody has the floor: B's floor slot is quiet; the hall is always heard.
        await steady(b_hall, "audio", fps=40)
        assert b.count("video") == 0 and b.count("audio") == 0

        relay.set_floor("A")
        await steady(b)
        await steady(b, "audio", fps=40)
        assert stream(relay, "D", "audio")["heard"] is False

        relay.set_floor("D")  # the floor moves: B's slot now carries D
        await wait_for(lambda: stream(relay, "D", "video")["subscribers"] == 1, timeout=5)
        assert stream(relay, "A", "video")["subscribers"] == 0
        await steady(b)
        await steady(b, "audio", fps=40)

        relay.mute("D")  # the chair mutes D: B hears nothing, still sees D
        await wait_for(lambda: b.fps("audio", 0.5) == 0, timeout=5, what="D silenced")
        await steady(b)
        silenced = stream(relay, "D", "audio")["frames_silenced"]
        await wait_for(lambda: stream(relay, "D", "audio")["frames_silenced"] > silenced + 10,
                       timeout=5, what="D's audio read and dropped at the relay")
        await steady(b_hall, "audio", fps=40)  # the hall is not affected

        relay.mute("D", False)
        await steady(b, "audio", fps=40)


async def test_a_site_vanishing_without_a_goodbye_leaves_the_others_flowing(
        relay: Relay) -> None:
    a = await publish(relay, "A")
    relay.set_floor("A")
    b = await subscribe(relay, "B")
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "media_vanishing_site.py"),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(HERE.parent.parent)})
    assert child.stdin is not None and child.stdout is not None
    try:
        async with closing(a, b):
            offer = json.loads(await asyncio.wait_for(child.stdout.readline(), 20))["offer"]
            answer = await relay.subscribe("C", offer)
            child.stdin.write((json.dumps({"answer": answer}) + "\n").encode())
            await child.stdin.drain()

            async def c_received() -> bool:
                line = await asyncio.wait_for(child.stdout.readline(), 5)  # type: ignore[union-attr]
                return bool(json.loads(line)["video"] >= 15)

            await wait_for(c_received, timeout=15, what="C receiving video")
            await steady(b)

            child.send_signal(signal.SIGKILL)  # no BYE, no DTLS close: C is simply gone
            await child.wait()
            killed = time.monotonic()
            await wait_for(lambda: ("C", FLOOR) not in relay.subscriptions, timeout=10,
                           what="the relay dropping C")
            assert time.monotonic() - killed < relay.config.silence_timeout + 3
            await steady(b)  # B never noticed
            assert stream(relay, "A", "video")["subscribers"] == 1
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def test_a_site_resubscribes_and_resumes(relay: Relay) -> None:
    a = await publish(relay, "A")
    relay.set_floor("A")
    b, c = await subscribe(relay, "B"), await subscribe(relay, "C")
    async with closing(a, b, c):
        await steady(c)
        # C reconnects (new peer connection, no goodbye for the old one).
        c2 = await subscribe(relay, "C")
        async with closing(c2):
            await steady(c2)
            await steady(b)
            assert len([k for k in relay.subscriptions if k[0] == "C"]) == 1
            assert stream(relay, "A", "video")["subscribers"] == 2


async def test_a_publisher_reconnects_and_its_subscribers_resume(relay: Relay) -> None:
    a = await publish(relay, "A")
    relay.set_floor("A")
    b = await subscribe(relay, "B")
    async with closing(a, b):
        await steady(b)
        a2 = await publish(relay, "A")  # the site's link dropped; its agent came back
        async with closing(a2):
            await a.close()
            moved = time.monotonic()
            await wait_for(lambda: b.count("video", moved + 0.5) >= 20, timeout=10,
                           what="B receiving the new A")
            await steady(b)
            assert len(relay.publications) == 1


async def test_a_subscriber_that_cannot_take_the_codec_is_transcoded(relay: Relay) -> None:
    a = await publish(relay, "A")  # VP8
    relay.set_floor("A")
    b = await subscribe(relay, "B")
    h264_only = await subscribe(relay, "H", codecs=[RTCRtpCodecCapability(
        mimeType="video/H264", clockRate=90000,
        parameters={"packetization-mode": "1", "level-asymmetry-allowed": "1",
                    "profile-level-id": "42e01f"})])
    async with closing(a, b, h264_only):
        await steady(h264_only, fps=15, timeout=20)
        await steady(b)
        (track,) = [t for t in relay.tracks_of("H") if t.kind == "video"]
        assert track.transcoding and track.codec is not None
        assert track.codec.mimeType == "video/H264"
        assert stream(relay, "A", "video")["frames_decoded"] > 0
        # B is still forwarded, not transcoded.
        (forwarded,) = [t for t in relay.tracks_of("B") if t.kind == "video"]
        assert not forwarded.transcoding


async def test_the_health_badge_reads_rates_and_link_quality_from_stats(relay: Relay) -> None:
    a = await publish(relay, "A")
    relay.set_floor("A")
    b, c = await subscribe(relay, "B"), await subscribe(relay, "C")
    async with closing(a, b, c):
        await steady(b)
        await steady(c)
        video = stream(relay, "A", "video")
        assert video["subscribers"] == 2 and video["fps"] > 0
        assert video["frames"] > 0 and video["bytes"] > 0 and video["keyframe_requests"] >= 2

        def tracks() -> list[dict[str, object]]:
            return [t for s in relay.stats()["subscriptions"] for t in s["tracks"]
                    if t["kind"] == "video"]

        # Round trips come from the sites' receiver reports about our sender reports.
        await wait_for(lambda: all(t["rtt_ms"] is not None for t in tracks()), timeout=10,
                       what="a round trip to B and to C")
        assert all(t["frames"] > 0 and t["bytes"] > 0 and t["rtt_ms"] >= 0  # type: ignore[operator]
                   for t in tracks())
