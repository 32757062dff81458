"""Sites as the relay's tests see them: real aiortc peers on 127.0.0.1, in this loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from media.relay import FLOOR, Relay
from media.sources import TestPattern, Tone


def loopback_only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """aioice leaves 127.0.0.1 out of its host candidates; tests want nothing else."""
    return ["127.0.0.1"]


@dataclass
class Publisher:
    """A site sending a test pattern and a tone to the relay."""

    site_id: str
    pc: RTCPeerConnection
    video: TestPattern
    audio: Tone
    keyframe_requests: int = 0

    async def close(self) -> None:
        await self.pc.close()


async def publish(relay: Relay, site_id: str) -> Publisher:
    pc = RTCPeerConnection()
    video, audio = TestPattern(), Tone()
    video_sender = pc.addTrack(video)
    pc.addTrack(audio)
    site = Publisher(site_id, pc, video, audio)
    # Count the relay's keyframe requests as they reach this site's encoder.
    original = video_sender._send_keyframe

    def send_keyframe() -> None:
        site.keyframe_requests += 1
        original()

    video_sender._send_keyframe = send_keyframe  # type: ignore[method-assign]
    await pc.setLocalDescription(await pc.createOffer())
    answer = await relay.publish(site_id, pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return site


@dataclass
class Subscriber:
    """A site receiving one source from the relay, decoding it as a site would."""

    site_id: str
    source: str
    pc: RTCPeerConnection
    frames: dict[str, list[float]] = field(default_factory=lambda: {"video": [],
                                                                     "audio": []})
    sizes: set[tuple[int, int]] = field(default_factory=set)
    receivers: dict[str, RTCRtpReceiver] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def count(self, kind: str, since: float = 0.0) -> int:
        return sum(1 for t in self.frames[kind] if t >= since)

    def fps(self, kind: str, seconds: float) -> float:
        return self.count(kind, time.monotonic() - seconds) / seconds

    async def ask_keyframe(self) -> None:
        """Send the relay a Picture Loss Indication, as a decoder that lost its way does."""
        receiver = self.receivers["video"]
        (source,) = receiver.getSynchronizationSources()
        await receiver._send_rtcp_pli(source.source)

    async def close(self) -> None:
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def subscribe(relay: Relay, site_id: str, source: str = FLOOR,
                    codecs: list[RTCRtpCodecCapability] | None = None) -> Subscriber:
    """A site that receives `source`; `codecs` narrows the video codecs it accepts."""
    return await receiving(site_id, source, lambda offer: relay.subscribe(
        site_id, offer, source), codecs)


async def receiving(site_id: str, source: str,
                    answer_for: Callable[[str], Awaitable[str]],
                    codecs: list[RTCRtpCodecCapability] | None = None) -> Subscriber:
    """A receiving peer whose offer `answer_for` takes to the relay, however it gets
    there (directly, or over the meeting websocket)."""
    pc = RTCPeerConnection()
    site = Subscriber(site_id, source, pc)
    for kind in ("video", "audio"):
        transceiver = pc.addTransceiver(kind, direction="recvonly")
        if kind == "video" and codecs is not None:
            transceiver.setCodecPreferences(codecs)
        site.receivers[kind] = transceiver.receiver

    async def read(track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            site.frames[track.kind].append(time.monotonic())
            if track.kind == "video":
                site.sizes.add((frame.width, frame.height))

    pc.on("track", lambda track: site.tasks.append(asyncio.create_task(read(track))))
    await pc.setLocalDescription(await pc.createOffer())
    answer = await answer_for(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return site


@contextlib.asynccontextmanager
async def closing(*peers: Publisher | Subscriber):  # type: ignore[no-untyped-def]
    try:
        yield
    finally:
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
