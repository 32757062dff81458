"""Every place where the relay reaches into aiortc's internals, and nowhere else.

Stock aiortc decodes each received frame in the receiver's decoder thread and encodes it
again in each sender. The relay forwards encoded frames instead, through three seams:

1. The receiver's jitter buffer (`RTCRtpReceiver.__jitter_buffer`). `_handle_rtp_packet`
   depayloads each RTP packet into `packet._data` and calls `jitter_buffer.add(packet)`,
   which answers `(pli_flag, frame_or_None)`; a frame it returns goes to the decoder
   thread. We put a buffer of our own in its place: it hands every complete encoded frame
   to the relay and returns a frame to aiortc only when someone needs it decoded.
2. The receiver's `_send_rtcp_pli(media_ssrc)`: how the relay asks a publisher for a
   keyframe when a subscriber asked the relay for one.
3. The sender's `_handle_rtcp_packet(packet)`, which the DTLS transport awaits for every
   RTCP packet routed to the sender. We wrap it per sender to see a subscriber's PLI/FIR
   (stock senders only flag their own encoder) and its receiver reports (liveness).

4. The sender's encoder (`RTCRtpSender.__encoder`), made on the first frame only if
   none is there. A sender whose track yields anything but an `av.Frame` hands it to
   the encoder's `pack()` without encoding (documented for `av.Packet`); we put a
   `media.packing.ForwardingEncoder` there, whose `pack()` takes a relayed frame and
   returns payloads packetized once for every subscriber. For H.264 those come from
   aiortc's own packetizer (`H264Encoder._split_bitstream` and `_packetize`).
5. `RTCRtpTransceiver._codecs`: where the negotiated codecs live.

aiortc is pinned exactly in pyproject.toml. `check()` runs when a `Relay` is made and
`tests/media/test_media_seams.py` runs it too: an upgrade that moves any of these fails
loudly, at start-up and in CI, instead of silently decoding again (or forwarding nothing).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import aiortc
from aiortc import RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import base as codecs_base
from aiortc.codecs.h264 import H264Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import AnyRtcpPacket, RtpPacket

# The version whose internals the seams below were written against (pyproject pins it).
AIORTC_VERSION = "1.16.0"

_JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"
_ENCODER_ATTR = "_RTCRtpSender__encoder"

__all__ = [
    "AIORTC_VERSION",
    "JitterBuffer",
    "JitterFrame",
    "RtpPacket",
    "SeamError",
    "check",
    "h264_payloads",
    "hook_sender_rtcp",
    "negotiated_codecs",
    "replace_encoder",
    "replace_jitter_buffer",
    "request_keyframe",
]


class SeamError(RuntimeError):
    """aiortc no longer looks the way the relay was written against."""


def replace_jitter_buffer(receiver: RTCRtpReceiver, buffer: Any) -> JitterBuffer:
    """Put `buffer` (with `add(packet) -> (pli, frame | None)`) in the receiver's
    jitter buffer's place; return the stock buffer it replaced."""
    stock = getattr(receiver, _JITTER_ATTR, None)
    if not isinstance(stock, JitterBuffer):
        raise SeamError(f"RTCRtpReceiver has no {_JITTER_ATTR}: aiortc's receiver changed")
    setattr(receiver, _JITTER_ATTR, buffer)
    return stock


def replace_encoder(sender: RTCRtpSender, encoder: Any) -> None:
    """Make `encoder` (with `pack()` and `encode()`) the one `sender` uses; call it
    before the sender's first frame."""
    if getattr(sender, _ENCODER_ATTR, False) is not None:
        raise SeamError(f"RTCRtpSender has no empty {_ENCODER_ATTR}: aiortc's sender changed")
    setattr(sender, _ENCODER_ATTR, encoder)


def h264_payloads(data: bytes) -> list[bytes]:
    """An Annex B H.264 frame as RTP payloads, cut as aiortc's H.264 encoder cuts them."""
    return H264Encoder._packetize(H264Encoder._split_bitstream(data))


async def request_keyframe(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send the publisher a Picture Loss Indication for `media_ssrc`."""
    await receiver._send_rtcp_pli(media_ssrc)


def hook_sender_rtcp(sender: RTCRtpSender,
                     hook: Callable[[AnyRtcpPacket], None]) -> None:
    """Call `hook(packet)` for every RTCP packet routed to `sender`, before aiortc's own
    handling (which still runs: reports, NACK retransmissions, REMB)."""
    original: Callable[[AnyRtcpPacket], Awaitable[None]] = sender._handle_rtcp_packet

    async def handle(packet: AnyRtcpPacket) -> None:
        hook(packet)
        await original(packet)

    # An instance attribute shadows the method: the DTLS transport looks it up per packet.
    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[RTCRtpCodecParameters]:
    """The codecs negotiated for a transceiver, preferred first, without RTX."""
    codecs = getattr(transceiver, "_codecs", None)
    if not isinstance(codecs, list):
        raise SeamError("RTCRtpTransceiver has no _codecs list: aiortc changed")
    return [c for c in codecs if c.name.lower() != "rtx"]


def check() -> None:
    """Fail loudly if any seam moved. Cheap: reads source and attributes only."""
    if aiortc.__version__ != AIORTC_VERSION:
        raise SeamError(f"the relay was written against aiortc {AIORTC_VERSION}, found "
                        f"{aiortc.__version__}: re-check media/seams.py, then the pin")
    _expect(RTCRtpReceiver, "_handle_rtp_packet", "packet._data = depayload(",
            "self.__jitter_buffer.add(packet)",
            "self.__decoder_queue.put((codec, encoded_frame))", "await self._send_rtcp_pli(")
    _expect(RTCRtpReceiver, "__init__", "self.__jitter_buffer = JitterBuffer(")
    if list(inspect.signature(RTCRtpReceiver._send_rtcp_pli).parameters) != [
            "self", "media_ssrc"]:
        raise SeamError("RTCRtpReceiver._send_rtcp_pli(media_ssrc) changed")
    _expect(RTCRtpSender, "_next_encoded_frame", "if self.__encoder is None:",
            "if isinstance(data, Frame):", "self.__encoder.pack(data)")
    _expect(RTCRtpSender, "__init__", "self.__encoder: Optional[Encoder] = None")
    for name in ("_split_bitstream", "_packetize"):
        if not callable(getattr(H264Encoder, name, None)):
            raise SeamError(f"aiortc's H264Encoder lost {name}()")
    if list(inspect.signature(RTCRtpSender._handle_rtcp_packet).parameters) != [
            "self", "packet"]:
        raise SeamError("RTCRtpSender._handle_rtcp_packet(packet) changed")
    from aiortc import rtcdtlstransport
    _expect(rtcdtlstransport.RTCDtlsTransport, "_handle_rtcp_data",
            "await recipient._handle_rtcp_packet(packet)")
    if not hasattr(codecs_base.Encoder, "pack"):
        raise SeamError("aiortc encoders lost pack()")
    _expect(RTCRtpTransceiver, "__init__", "_codecs")


def _expect(owner: type, method: str, *needles: str) -> None:
    """Fail unless each needle is in the source of `owner.method`."""
    source = inspect.getsource(getattr(owner, method))
    for needle in needles:
        if needle not in source:
            raise SeamError(f"{owner.__name__}.{method} no longer does {needle!r}")
