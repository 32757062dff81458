"""One track a site publishes: encoded frames in, fanned out to subscribers' tracks.

A `Stream` takes the place of its receiver's jitter buffer (see `media/seams.py`): aiortc
depayloads each RTP packet and hands it to `ForwardingBuffer.add`, which assembles whole
frames and gives each to every subscriber track as it is — no decoding. Only when some
subscriber cannot take the publisher's codec does a frame go back to aiortc to be decoded
(once, shared by every such subscriber) and re-encoded by that subscriber's sender.

The received track is always read (`drain`), decoding or not: aiortc queues decoded
frames without bound, and an unread track grows by hundreds of MB a minute.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from aiortc import RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.frame import Frame

from media import seams
from media.frames import EncodedFrame, FrameAssembler, Unwrapper, is_keyframe
from media.seams import JitterFrame, RtpPacket

if TYPE_CHECKING:
    from media.track import RelayedTrack

log = logging.getLogger(__name__)


@dataclass
class StreamCounters:
    """What a published stream has carried; `stats()` reports these."""

    packets: int = 0
    bytes: int = 0
    frames: int = 0
    keyframes: int = 0
    # Keyframe requests from subscribers, and those actually sent on to the publisher
    # (several within `keyframe_interval` become one).
    keyframe_requests: int = 0
    keyframe_requests_sent: int = 0
    frames_decoded: int = 0
    frames_silenced: int = 0  # audio not forwarded: no floor, or muted


class Stream:
    """A published audio or video track and the subscriber tracks it feeds."""

    def __init__(self, site_id: str, kind: str, receiver: RTCRtpReceiver,
                 codecs: list[RTCRtpCodecParameters], *, keyframe_interval: float = 0.3,
                 on_media: Callable[[], None] | None = None) -> None:
        self.site_id = site_id
        self.kind = kind
        self.receiver = receiver
        self.codecs = {c.payloadType: c for c in codecs}
        self.codec: RTCRtpCodecParameters | None = codecs[0] if codecs else None
        self.heard = True  # audio only: the relay sets it from floor and mute
        self.counters = StreamCounters()
        self.sinks: set[RelayedTrack] = set()
        self.last_media = time.monotonic()
        self._on_media = on_media
        self._keyframe_interval = keyframe_interval
        self._last_keyframe_request = -1e9
        self._keyframe_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._media_ssrc: int | None = None
        self._decoders_wanted = 0
        self._decoding = False
        self._fps_window: list[float] = []
        self.buffer = ForwardingBuffer(self)
        seams.replace_jitter_buffer(receiver, self.buffer)
        self._drain: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<Stream {self.site_id}/{self.kind}>"

    # -- frames in --------------------------------------------------------------------

    def on_packet(self, packet: RtpPacket) -> None:
        self._media_ssrc = packet.ssrc
        self.counters.packets += 1
        self.counters.bytes += len(packet.payload)
        self.last_media = time.monotonic()
        codec = self.codecs.get(packet.payload_type)
        if codec is not None and codec.name.lower() != "rtx" and codec != self.codec:
            log.info("%r switched codec to %s", self, codec.mimeType)
            self.codec = codec
            for sink in list(self.sinks):
                sink.set_source(self)  # re-decide forward or transcode
        if self._on_media is not None:
            self._on_media()

    def on_frame(self, frame: EncodedFrame) -> bool:
        """Fan a complete frame out; answer whether aiortc should decode it too."""
        self.counters.frames += 1
        self.counters.keyframes += frame.keyframe
        now = time.monotonic()
        self._fps_window.append(now)
        if len(self._fps_window) > 64:
            del self._fps_window[:32]
        if self.kind == "audio" and not self.heard:
            self.counters.frames_silenced += 1
            return False
        for sink in self.sinks:
            sink.push_encoded(self, frame)
        if self._decoders_wanted and not self._decoding and frame.keyframe:
            self._decoding = True  # a decoder must start on a keyframe
        return self._decoding

    @property
    def fps(self) -> float:
        now = time.monotonic()
        recent = [t for t in self._fps_window if now - t <= 2.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)

    # -- subscribers ------------------------------------------------------------------

    def attach(self, sink: RelayedTrack, *, decoded: bool) -> None:
        self.sinks.add(sink)
        if decoded:
            self._decoders_wanted += 1
        if self.kind == "video":
            self.request_keyframe()

    def detach(self, sink: RelayedTrack, *, decoded: bool) -> None:
        self.sinks.discard(sink)
        if decoded:
            self._decoders_wanted -= 1
            if not self._decoders_wanted:
                self._decoding = False

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most once per `keyframe_interval`: a
        request inside the interval is sent at its end, so none is lost."""
        self.counters.keyframe_requests += 1
        if self.kind != "video" or self._keyframe_timer is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_keyframe_request + self._keyframe_interval - loop.time()
        if wait > 0:
            self._keyframe_timer = loop.call_later(wait, self._send_keyframe_request)
        else:
            self._send_keyframe_request()

    def _send_keyframe_request(self) -> None:
        self._keyframe_timer = None
        if self._media_ssrc is None:
            return  # nothing received yet: the publisher's first frame is a keyframe
        self._last_keyframe_request = asyncio.get_running_loop().time()
        self.counters.keyframe_requests_sent += 1
        self._spawn(seams.request_keyframe(self.receiver, self._media_ssrc))

    # -- the received track, always read ----------------------------------------------

    def start(self, track: MediaStreamTrack) -> None:
        self._drain = asyncio.create_task(self._read(track), name=f"drain-{self!r}")

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, Frame):
                self.counters.frames_decoded += 1
                for sink in list(self.sinks):
                    sink.push_decoded(self, frame)

    async def close(self) -> None:
        if self._keyframe_timer is not None:
            self._keyframe_timer.cancel()
        for sink in list(self.sinks):
            sink.set_source(None)
        tasks = [t for t in (self._drain, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stats(self) -> dict[str, object]:
        return {"site_id": self.site_id, "kind": self.kind,
                "codec": self.codec.mimeType if self.codec else None,
                "subscribers": len(self.sinks), "fps": round(self.fps, 1),
                "heard": self.heard, **asdict(self.counters)}

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class ForwardingBuffer:
    """Stands where aiortc's jitter buffer was (`add(packet) -> (pli, frame | None)`).

    Video goes through a `FrameAssembler`, which orders packets and gives up each frame
    the moment its last packet is in; the stock buffer would hold it until the next
    frame began. Audio skips assembly: an Opus packet is a whole frame, and the stock
    audio buffer holds four of them back (80 ms) before giving up the first.
    """

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self._assembler = FrameAssembler()
        self._unwrap = Unwrapper()
        self._last: int | None = None
        # Frames aiortc should decode, one per call (the stock contract); several come
        # together only when a retransmitted packet completes frames held behind it.
        self._to_decode: collections.deque[JitterFrame] = collections.deque(maxlen=8)

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        stream = self.stream
        stream.on_packet(packet)
        if stream.kind == "audio":
            frames, lost = [JitterFrame(packet._data, packet.timestamp)], False  # type: ignore[attr-defined]
        else:
            frames, lost = self._assembler.add(packet)
        for frame in frames:
            if frame.data and self._forward(frame):
                self._to_decode.append(frame)
        return lost, self._to_decode.popleft() if self._to_decode else None

    def _forward(self, frame: JitterFrame) -> bool:
        """Hand one whole frame to the stream; answer whether aiortc should decode it."""
        timestamp = self._unwrap(frame.timestamp)
        if self._last is not None and timestamp <= self._last:
            return False  # late audio packet: its moment has passed
        self._last = timestamp
        codec = self.stream.codec.name if self.stream.codec else ""
        return self.stream.on_frame(EncodedFrame(bytes(frame.data), timestamp,
                                                 is_keyframe(codec, frame.data)))
