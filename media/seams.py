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

A fourth is documented behaviour rather than an internal, but we depend on it as much:
an `RTCRtpSender` whose track yields `av.Packet` instead of frames packs it with the
negotiated codec's `Encoder.pack()` without encoding. And `RTCRtpTransceiver._codecs` is
where the negotiated codecs live.

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
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import AnyRtcpPacket, RtpPacket

# The version whose internals the seams below were written against (pyproject pins it).
AIORTC_VERSION = "1.16.0"

_JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"

__all__ = [
    "AIORTC_VERSION",
    "JitterBuffer",
    "JitterFrame",
    "RtpPacket",
    "SeamError",
    "check",
    "hook_sender_rtcp",
    "negotiated_codecs",
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
    rtp_source = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    for needle in ("packet._data = depayload(", "self.__jitter_buffer.add(packet)",
                   "self.__decoder_queue.put((codec, encoded_frame))",
                   "await self._send_rtcp_pli("):
        if needle not in rtp_source:
            raise SeamError(f"RTCRtpReceiver._handle_rtp_packet no longer does {needle!r}")
    if "self.__jitter_buffer = JitterBuffer(" not in inspect.getsource(
            RTCRtpReceiver.__init__):
        raise SeamError("RTCRtpReceiver.__init__ no longer makes its jitter buffer")
    if list(inspect.signature(RTCRtpReceiver._send_rtcp_pli).parameters) != [
            "self", "media_ssrc"]:
        raise SeamError("RTCRtpReceiver._send_rtcp_pli(media_ssrc) changed")
    sender_source = inspect.getsource(RTCRtpSender._next_encoded_frame)
    if "self.__encoder.pack(data)" not in sender_source:
        raise SeamError("RTCRtpSender no longer packs pre-encoded av.Packet data")
    if list(inspect.signature(RTCRtpSender._handle_rtcp_packet).parameters) != [
            "self", "packet"]:
        raise SeamError("RTCRtpSender._handle_rtcp_packet(packet) changed")
    from aiortc import rtcdtlstransport
    if "await recipient._handle_rtcp_packet(packet)" not in inspect.getsource(
            rtcdtlstransport.RTCDtlsTransport._handle_rtcp_data):
        raise SeamError("the DTLS transport no longer hands RTCP to _handle_rtcp_packet")
    if not hasattr(codecs_base.Encoder, "pack"):
        raise SeamError("aiortc encoders lost pack()")
    if "_codecs" not in inspect.getsource(RTCRtpTransceiver.__init__):
        raise SeamError("RTCRtpTransceiver._codecs is gone")
