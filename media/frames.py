"""Encoded frames as the relay moves them: bytes, a timeline, and whether it is a key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from media.seams import JitterFrame, RtpPacket

VIDEO_CLOCK = 90_000
OPUS_CLOCK = 48_000

H264_IDR = 5
H264_SPS = 7


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One complete encoded frame of a published stream.

    `timestamp` counts the codec's clock from the stream's first frame, unwrapped (RTP
    timestamps wrap at 2**32 and start at a random value).
    """

    data: bytes
    timestamp: int
    keyframe: bool
    # RTP payloads by codec, made by the first subscriber's sender for all the others.
    _payloads: dict[str, list[bytes]] = field(default_factory=dict, compare=False,
                                              repr=False)

    def __post_init__(self) -> None:
        if self.timestamp < 0:
            raise ValueError(f"frame timestamp {self.timestamp} is before its stream began")

    def shared(self, codec: str, packetize: Callable[[bytes], list[bytes]]) -> list[bytes]:
        """This frame's payloads for `codec`, packetized on the first call only."""
        payloads = self._payloads.get(codec)
        if payloads is None:
            payloads = self._payloads[codec] = packetize(self.data)
        return payloads


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether a depayloaded frame can be decoded on its own."""
    name = codec_name.lower()
    if name == "vp8":
        # RFC 6386 9.1: bit 0 of the frame tag is the inverse keyframe flag.
        return bool(data) and not data[0] & 0x01
    if name == "h264":
        return any(nal_type in (H264_IDR, H264_SPS) for nal_type in _h264_nal_types(data))
    return True  # audio: every frame stands alone


def _h264_nal_types(data: bytes) -> list[int]:
    """NAL unit types in an Annex B bitstream (aiortc's depayloader writes start codes)."""
    types = []
    start = data.find(b"\x00\x00\x01")
    while start != -1 and start + 3 < len(data):
        types.append(data[start + 3] & 0x1F)
        start = data.find(b"\x00\x00\x01", start + 3)
    return types


class Unwrapper:
    """RTP timestamps (32-bit) or sequence numbers (16-bit), which wrap and start at a
    random value, to a count from the first one."""

    def __init__(self, bits: int = 32) -> None:
        self._last: int | None = None
        self._value = 0
        self._bits = bits

    def __call__(self, rtp_value: int) -> int:
        if self._last is not None:
            delta = (rtp_value - self._last) & ((1 << self._bits) - 1)
            if delta >= 1 << (self._bits - 1):
                delta -= 1 << self._bits  # late or reordered: a step back
            self._value += delta
        self._last = rtp_value
        return self._value


class FrameAssembler:
    """Video RTP packets, in any order, to whole frames as soon as each is whole.

    A frame is whole when every packet from its first to its last is in; the last is the
    one with the marker bit (or, from a sender that sets none, the one before the next
    frame's first packet). aiortc's jitter buffer always waits for the next frame's first
    packet, which would add a frame interval (33 ms at 30 fps) to every site's delay.
    A lost packet holds back the frames after it (a forwarded frame must be decodable)
    until it is retransmitted or `capacity` packets have come since; then the frames
    before the gap are given up on and the caller should ask for a keyframe.
    """

    def __init__(self, capacity: int = 512, max_misorder: int = 100) -> None:
        self.capacity = capacity
        self.max_misorder = max_misorder  # a packet further back: the sender restarted
        self._sequence = Unwrapper(bits=16)
        self._packets: dict[int, RtpPacket] = {}
        self._start: int | None = None  # the first packet of the oldest frame still held

    def add(self, packet: RtpPacket) -> tuple[list[JitterFrame], bool]:
        """Take a depayloaded packet (`packet._data`); return the frames it completed,
        oldest first, and whether packets were given up on."""
        sequence = self._sequence(packet.sequence_number)
        lost = False
        if self._start is None:
            self._start = sequence
        elif sequence < self._start:
            if self._start - sequence < self.max_misorder:
                return [], False  # late or repeated: its frame is out, or was given up
            self._packets.clear()
            self._start, lost = sequence, True
        elif sequence - self._start >= self.capacity:
            self._give_up(sequence - self.capacity + 1)
            lost = True
        self._packets[sequence] = packet
        return self._whole_frames(), lost

    def _whole_frames(self) -> list[JitterFrame]:
        frames: list[JitterFrame] = []
        assert self._start is not None
        while (first := self._packets.get(self._start)) is not None:
            parts, last = [first], self._start
            while not parts[-1].marker:
                following = self._packets.get(last + 1)
                if following is None:
                    return frames  # a packet of this frame is still on its way
                if following.timestamp != first.timestamp:
                    break  # no marker, but the next frame has begun: this one is whole
                parts.append(following)
                last += 1
            for sequence in range(self._start, last + 1):
                del self._packets[sequence]
            self._start = last + 1
            frames.append(JitterFrame(b"".join(p._data for p in parts),  # type: ignore[attr-defined]
                                      first.timestamp))
        return frames

    def _give_up(self, before: int) -> None:
        """Drop every packet before `before`, then go on from the oldest packet held."""
        for sequence in [s for s in self._packets if s < before]:
            del self._packets[sequence]
        self._start = min(self._packets, default=before)
