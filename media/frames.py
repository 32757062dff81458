"""Encoded frames as the relay moves them: bytes, a timeline, and whether it is a key."""

from __future__ import annotations

from dataclasses import dataclass

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

    def __post_init__(self) -> None:
        if self.timestamp < 0:
            raise ValueError(f"frame timestamp {self.timestamp} is before its stream began")


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
    """RTP timestamps (32-bit, random start) to a count from the first one."""

    def __init__(self) -> None:
        self._last: int | None = None
        self._value = 0

    def __call__(self, rtp_timestamp: int) -> int:
        if self._last is not None:
            delta = (rtp_timestamp - self._last) & 0xFFFFFFFF
            if delta >= 1 << 31:
                delta -= 1 << 32  # late or reordered: a step back
            self._value += delta
        self._last = rtp_timestamp
        return self._value
