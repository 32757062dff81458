"""One subscriber's copy of a published stream, written out or read by its sender.

A `RelayedTrack` whose subscriber took the publisher's codec writes each frame the
moment it comes in, through its `PacketWriter` (`media/sending.py`), from payloads made
once for every subscriber (`media/packing.py`): the relay's whole cost per subscriber
is an RTP header, SRTP and a socket write. Until the sender has started (and in tests,
without one) such frames are queued as `Relayed` for the sender to read instead. A
subscriber that could not take the codec (say, H.264 only from a VP8 publisher) gets
decoded frames, which its aiortc sender reads and encodes as stock aiortc does.

The source may change under a live track (the floor moves to another site): frames are
re-timed onto one continuous timeline per track, and a switch waits for a keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
)
from av.frame import Frame

from media.frames import EncodedFrame
from media.packing import Relayed

if TYPE_CHECKING:
    from media.sending import PacketWriter
    from media.stream import Stream

log = logging.getLogger(__name__)

VIDEO_QUEUE = 30  # one second of frames; a sender that far behind has stalled
AUDIO_QUEUE = 25  # half a second of 20 ms frames
VIDEO_STEP = 3000  # 1/30 s at 90 kHz: the gap put between two sources' timelines
AUDIO_STEP = 960  # 20 ms at 48 kHz
NTP_EPOCH = 2_208_988_800  # seconds from 1900, where NTP counts from, to 1970


@dataclass
class TrackCounters:
    frames: int = 0
    bytes: int = 0
    frames_dropped: int = 0  # waiting for a keyframe, or the sender fell behind
    keyframe_requests: int = 0  # PLI/FIR from this subscriber


Item = tuple[int, EncodedFrame | Frame, int]  # (epoch, frame, timestamp in the codec's clock)


class RelayedTrack(MediaStreamTrack):
    """One subscriber's copy of a stream, fed by the relay, read by an aiortc sender."""

    def __init__(self, kind: str, subscriber_id: str) -> None:
        super().__init__()
        self.kind = kind
        self.subscriber_id = subscriber_id
        self.codec: RTCRtpCodecParameters | None = None  # what the subscriber negotiated
        self.source: Stream | None = None
        self.transcoding = False
        self.counters = TrackCounters()
        self.last_report = time.monotonic()  # the subscriber's last RTCP packet
        self.last_sent = 0.0  # when the sender last took a frame
        self.fraction_lost = 0.0  # from the subscriber's receiver reports
        self.rtt: float | None = None  # seconds, from the same reports
        self.writer: PacketWriter | None = None  # once the subscriber's sender started
        self._write_failed = False
        self._queue: asyncio.Queue[Item | None] = asyncio.Queue(
            VIDEO_QUEUE if kind == "video" else AUDIO_QUEUE)
        self._epoch = 0
        self._waiting_keyframe = kind == "video"
        # Re-timing: out = in + offset, re-based whenever the epoch changes.
        self._out_epoch = -1
        self._offset = 0
        self._last_out: int | None = None

    def __repr__(self) -> str:
        return f"<RelayedTrack {self.kind} to {self.subscriber_id}>"

    @property
    def clock_rate(self) -> int:
        if self.codec is not None:
            return self.codec.clockRate
        return 90_000 if self.kind == "video" else 48_000

    def set_source(self, stream: Stream | None) -> None:
        """Feed this track from `stream` (None: from nothing) from its next keyframe."""
        if self.source is not None:
            self.source.detach(self, decoded=self.transcoding)
        self.source = stream
        self._epoch += 1
        self._waiting_keyframe = self.kind == "video"
        self.transcoding = False
        if stream is None:
            return
        if stream.codec is not None and self.codec is not None:
            self.transcoding = stream.codec.mimeType.lower() != self.codec.mimeType.lower()
        if self.transcoding:
            log.info("%r transcodes %s to %s", self, stream.codec and stream.codec.mimeType,
                     self.codec and self.codec.mimeType)
        stream.attach(self, decoded=self.transcoding)

    def start_writing(self, writer: PacketWriter) -> None:
        """Write forwarded frames through `writer` from the next keyframe on. Frames
        queued before are dropped: the sender would number them on a sequence and
        timeline of its own, and the writer's would then jump."""
        self.writer = writer
        while not self._queue.empty():
            if isinstance(self._queue.get_nowait(), tuple):
                self.counters.frames_dropped += 1
        if self.kind == "video":
            self._waiting_keyframe = True
            if self.source is not None and not self.transcoding:
                self.source.request_keyframe()

    # -- fed by the stream ------------------------------------------------------------

    def push_encoded(self, stream: Stream, frame: EncodedFrame) -> None:
        if stream is not self.source or self.transcoding:
            return
        if self._waiting_keyframe:
            if not frame.keyframe:
                self.counters.frames_dropped += 1
                return
            self._waiting_keyframe = False
        if self.writer is None:
            self._put((self._epoch, frame, frame.timestamp))
        else:
            self._write(self.writer, frame)

    def _write(self, writer: PacketWriter, frame: EncodedFrame) -> None:
        if not writer.ready or writer.backlogged():
            # Its link or our process cannot keep up: what a full queue means below.
            self._drop_behind()
            return
        self._mark_sent()
        self.counters.frames += 1
        self.counters.bytes += len(frame.data)
        try:
            writer.write(Relayed(frame, self._retime(self._epoch, frame.timestamp)))
        except Exception:
            # Whatever went wrong is this subscriber's; the stream's other sinks go on.
            if not self._write_failed:
                log.exception("%r could not write a frame", self)
            self._write_failed = True

    def push_decoded(self, stream: Stream, frame: Frame) -> None:
        if stream is not self.source or not self.transcoding:
            return
        timestamp = 0
        if frame.pts is not None and frame.time_base is not None:
            timestamp = int(frame.pts * frame.time_base * self.clock_rate)
        self._put((self._epoch, frame, timestamp))

    def _put(self, item: Item) -> None:
        try:
            self._queue.put_nowait(item)
            return
        except asyncio.QueueFull:
            pass
        if self.kind == "audio":
            self._queue.get_nowait()  # the oldest sound is the least worth playing
            self.counters.frames_dropped += 1
            self._queue.put_nowait(item)
            return
        while not self._queue.empty():
            self._queue.get_nowait()
            self.counters.frames_dropped += 1
        self._drop_behind()

    def _drop_behind(self) -> None:
        """Drop a frame for a subscriber that fell behind. Video: dropping one frame
        would break every frame after it until a keyframe, so start again from one."""
        self.counters.frames_dropped += 1
        if self.kind == "video" and not self._waiting_keyframe:
            self._waiting_keyframe = True
            if self.source is not None:
                self.source.request_keyframe()

    # -- read by the sender -----------------------------------------------------------

    async def recv(self) -> Frame | Relayed:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._queue.get()
        if item is None:
            raise MediaStreamError
        epoch, frame, timestamp = item
        self._mark_sent()
        pts = self._retime(epoch, timestamp)
        self.counters.frames += 1
        if isinstance(frame, Frame):
            frame.pts, frame.time_base = pts, fractions.Fraction(1, self.clock_rate)
            return frame
        self.counters.bytes += len(frame.data)
        return Relayed(frame, pts)

    def _mark_sent(self) -> None:
        now = time.monotonic()
        if not self.last_sent:
            self.last_report = now  # silence is counted from the first frame sent
        self.last_sent = now

    def _retime(self, epoch: int, timestamp: int) -> int:
        if epoch != self._out_epoch:
            step = VIDEO_STEP if self.kind == "video" else AUDIO_STEP
            start = 0 if self._last_out is None else self._last_out + step
            self._offset = start - timestamp
            self._out_epoch = epoch
        out = timestamp + self._offset
        if self._last_out is not None and out <= self._last_out:
            out = self._last_out + 1
        self._last_out = out
        return out

    # -- the subscriber's RTCP, seen before aiortc's sender handles it ----------------

    def on_rtcp(self, packet: AnyRtcpPacket) -> None:
        self.last_report = time.monotonic()
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            self.counters.keyframe_requests += 1
            if self.source is not None and not self.transcoding:
                # Forwarded frames come from the publisher's encoder, not ours.
                self.source.request_keyframe()
        elif isinstance(packet, RtcpRrPacket | RtcpSrPacket) and packet.reports:
            report = packet.reports[0]
            self.fraction_lost = report.fraction_lost / 256
            if report.lsr:  # it has had one of our sender reports: RFC 3550 6.4.1
                now = int((time.time() + NTP_EPOCH) * 65536) & 0xFFFFFFFF
                rtt = ((now - report.lsr - report.dlsr) & 0xFFFFFFFF) / 65536
                if rtt < 60:  # anything longer is a clock step, not a round trip
                    self.rtt = rtt

    def stop(self) -> None:
        if self.readyState == "live":
            self.set_source(None)
            self.writer = None
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)
        super().stop()

    def stats(self) -> dict[str, object]:
        return {"subscriber_id": self.subscriber_id, "kind": self.kind,
                "source": self.source.site_id if self.source else None,
                "codec": self.codec.mimeType if self.codec else None,
                "transcoding": self.transcoding, "fraction_lost": self.fraction_lost,
                "rtt_ms": None if self.rtt is None else round(1000 * self.rtt, 1),
                **asdict(self.counters)}
