"""RTP payloads for forwarded frames, made once per frame and shared by every subscriber.

aiortc's sender turns what its track yields into RTP payloads with its encoder's
`pack()`, one sender at a time: K subscribers of a stream meant K copies of each frame
into an `av.Packet` and K packetizations of it. A `ForwardingEncoder` stands in that
sender's encoder (see `media/seams.py`) and packs a `Relayed` frame from payloads cached
on the frame itself, so the work is done once per frame and codec:

- Opus: the frame is the payload.
- H.264: aiortc's own packetizer (STAP-A/FU-A), once; nothing in it is per subscriber.
- VP8: the frame is cut once into bodies; each subscriber puts its own 4-byte payload
  descriptor in front, because the picture id in it must count that subscriber's frames
  one by one (a receiver takes a gap for a lost frame).

Decoded frames (a subscriber being transcoded for) go to a stock aiortc encoder, made
the first time one comes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from aiortc.codecs import get_encoder
from aiortc.codecs.base import Encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from av.frame import Frame

from media import seams
from media.frames import EncodedFrame

PAYLOAD_MAX = 1300  # bytes of RTP payload, as aiortc's packetizers cut them
VP8_DESCRIPTOR = 4  # X, I and a 15-bit picture id: what aiortc's receivers expect
PICTURE_IDS = 1 << 15


@dataclass(frozen=True, slots=True)
class Relayed:
    """What a forwarding track yields: a published frame, on this subscriber's timeline."""

    frame: EncodedFrame
    pts: int  # in the codec's clock, so that packing converts nothing


def vp8_bodies(data: bytes) -> list[bytes]:
    """A VP8 frame cut into the parts that follow each packet's payload descriptor."""
    size = PAYLOAD_MAX - VP8_DESCRIPTOR
    return [data[pos:pos + size] for pos in range(0, len(data), size)]


class ForwardingEncoder:
    """One subscriber sender's encoder: packs relayed frames, encodes decoded ones."""

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self.codec = codec
        self.name = codec.name.lower()
        self.picture_id = random.randrange(PICTURE_IDS)
        self._encoder: Encoder | None = None
        self._target_bitrate: int | None = None

    def pack(self, relayed: Relayed) -> tuple[list[bytes], int]:
        frame = relayed.frame
        if self.name == "vp8":
            bodies = frame.shared("vp8", vp8_bodies)
            if not bodies:
                return [], relayed.pts  # nothing to send: the sender skips it
            picture_id, self.picture_id = self.picture_id, (self.picture_id + 1) % PICTURE_IDS
            tail = bytes((0x80, 0x80, 0x80 | picture_id >> 8, picture_id & 0xFF))
            head = bytes((0x90, *tail[1:]))  # S: this packet starts the frame
            return [head + bodies[0], *(tail + body for body in bodies[1:])], relayed.pts
        if self.name == "h264":
            return frame.shared("h264", seams.h264_payloads), relayed.pts
        return [frame.data], relayed.pts

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        if self._encoder is None:
            self._encoder = get_encoder(self.codec)
            if self._target_bitrate is not None:
                self.target_bitrate = self._target_bitrate
        return self._encoder.encode(frame, force_keyframe)

    # The sender sets this from the subscriber's REMB; only an encoder can act on it.
    @property
    def target_bitrate(self) -> int | None:
        return self._target_bitrate

    @target_bitrate.setter
    def target_bitrate(self, bitrate: int) -> None:
        self._target_bitrate = bitrate
        if self._encoder is not None and hasattr(self._encoder, "target_bitrate"):
            self._encoder.target_bitrate = bitrate
