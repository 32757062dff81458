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

A forwarded frame skips the sender's own send loop (`media/sending.py` writes its
packets), which needs four more:

6. `RTCRtpSender.send(parameters)`, wrapped per sender: when it returns, the sender is
   registered with its transport and knows its codecs, header extensions and mid.
7. The DTLS transport's SRTP session (`_tx_srtp`) and the ICE connection's nominated
   pair (`_nominated[1]`: a datagram transport and the site's address), so that a packet
   goes `protect()` then `sendto()` with no coroutine between — what
   `RTCDtlsTransport._send_rtp` and aioice's `StunProtocol.send_data` do. A pair through
   TURN has no plain socket; its packets go through `_send_rtp` as before.
8. The counters the sender's RTCP sender reports and `getStats()` read
   (`__packet_count`, `__octet_count`, `__rtp_timestamp`, `__ntp_timestamp`), and the
   DTLS transport's own (`__tx_packets`, `__tx_bytes`).
9. The sender's retransmission history (`__rtp_history`, read by `_retransmit` on a
   NACK): a packet we wrote is parsed into it when a NACK names it, so aiortc's own RTX
   wrapping and sending still answer the NACK.

aiortc is pinned exactly in pyproject.toml. `check()` runs when a `Relay` is made and
`tests/media/test_media_seams.py` runs it too: an upgrade that moves any of these fails
loudly, at start-up and in CI, instead of silently decoding again (or forwarding nothing).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aioice.ice
import aiortc
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.codecs import base as codecs_base
from aiortc.codecs.h264 import H264Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtp import RTP_HISTORY_SIZE, AnyRtcpPacket, RtpPacket
from pylibsrtp import Session

# The version whose internals the seams below were written against (pyproject pins it).
AIORTC_VERSION = "1.16.0"

_JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"
_ENCODER_ATTR = "_RTCRtpSender__encoder"
_SENDER = "_RTCRtpSender__"
_DTLS = "_RTCDtlsTransport__"

__all__ = [
    "AIORTC_VERSION",
    "JitterBuffer",
    "JitterFrame",
    "RtpPacket",
    "SeamError",
    "UdpRoute",
    "UdpSocket",
    "check",
    "count_sent",
    "h264_payloads",
    "hook_retransmit",
    "hook_sender_rtcp",
    "hook_sender_start",
    "negotiated_codecs",
    "replace_encoder",
    "replace_jitter_buffer",
    "request_keyframe",
    "srtp_session",
    "udp_route",
]



class UdpSocket(Protocol):
    """What we use of asyncio's datagram transport under an ICE candidate pair."""

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None: ...

    def get_write_buffer_size(self) -> int: ...


# Where a packet goes when nothing stands between SRTP and the socket.
UdpRoute = tuple[UdpSocket, tuple[str, int]]


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


def hook_sender_start(sender: RTCRtpSender,
                      on_start: Callable[[RTCRtpSendParameters], None]) -> None:
    """Call `on_start(parameters)` once `sender.send(parameters)` has started it."""
    original: Callable[[RTCRtpSendParameters], Awaitable[None]] = sender.send

    async def send(parameters: RTCRtpSendParameters) -> None:
        await original(parameters)
        on_start(parameters)

    sender.send = send  # type: ignore[method-assign]


def srtp_session(transport: RTCDtlsTransport) -> Session:
    """The session that protects what `transport` sends (there once it is connected)."""
    session: Session = transport._tx_srtp
    return session


def udp_route(transport: RTCDtlsTransport) -> UdpRoute | None:
    """The plain UDP socket and address `transport`'s packets leave by, or None (not
    connected, or through TURN, whose sending is a coroutine of its own)."""
    connection = transport.transport._connection
    pair = connection._nominated.get(1)
    if pair is None or type(pair.protocol) is not aioice.ice.StunProtocol:
        return None
    # A selector datagram transport: it has the write buffer the stubs leave out.
    socket: UdpSocket = pair.protocol.transport  # type: ignore[assignment]
    return socket, pair.remote_addr


def count_sent(sender: RTCRtpSender, *, packets: int, octets: int, wire_packets: int,
               wire_octets: int, rtp_timestamp: int, ntp_timestamp: int) -> None:
    """Count packets written past the sender as its own: its sender reports and stats
    (payload octets, RFC 3550 6.4.1) and its transport's (bytes on the wire)."""
    setattr(sender, _SENDER + "packet_count", getattr(sender, _SENDER + "packet_count")
            + packets)
    setattr(sender, _SENDER + "octet_count", getattr(sender, _SENDER + "octet_count")
            + octets)
    setattr(sender, _SENDER + "rtp_timestamp", rtp_timestamp)
    setattr(sender, _SENDER + "ntp_timestamp", ntp_timestamp)
    transport = sender.transport
    setattr(transport, _DTLS + "tx_packets", getattr(transport, _DTLS + "tx_packets")
            + wire_packets)
    setattr(transport, _DTLS + "tx_bytes", getattr(transport, _DTLS + "tx_bytes")
            + wire_octets)


def hook_retransmit(sender: RTCRtpSender, written: Callable[[int], bytes | None]) -> None:
    """On a NACK for a packet we wrote (`written(sequence_number)` gives its plain RTP
    bytes, or None), put it in the sender's history so that its `_retransmit` resends
    it as it would its own (wrapped in RTX if negotiated)."""
    original: Callable[[int], Awaitable[None]] = sender._retransmit
    history: dict[int, RtpPacket] = getattr(sender, _SENDER + "rtp_history")
    extensions = getattr(sender, _SENDER + "rtp_header_extensions_map")

    async def retransmit(sequence_number: int) -> None:
        data = written(sequence_number)
        if data is not None:
            history[sequence_number % RTP_HISTORY_SIZE] = RtpPacket.parse(data, extensions)
        await original(sequence_number)

    sender._retransmit = retransmit  # type: ignore[method-assign]


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
    _check_sending()


def _check_sending() -> None:
    """Seams 6-9: what `media/sending.py` does in place of the sender's send loop."""
    _expect(RTCRtpSender, "send", "self.__transport._register_rtp_sender(self, parameters)",
            "self.__rtp_header_extensions_map.configure(parameters)",
            "self.__mid = parameters.muxId")
    # What the stock loop puts in each packet, and the counters it keeps; a new header
    # extension or counter there must be mirrored in media/sending.py.
    _expect(RTCRtpSender, "_run_rtp", "timestamp = uint32_add(timestamp_origin,",
            "packet.ssrc = self._ssrc",
            "packet.marker = (i == len(enc_frame.payloads) - 1) and 1 or 0",
            "packet.extensions.abs_send_time = (\n",
            "clock.current_ntp_time() >> 14", "packet.extensions.mid = self.__mid",
            "self.__rtp_history[packet.sequence_number % RTP_HISTORY_SIZE] = (",
            "self.__ntp_timestamp = clock.current_ntp_time()",
            "self.__rtp_timestamp = packet.timestamp",
            "self.__octet_count += len(payload)", "self.__packet_count += 1")
    _expect(RTCRtpSender, "_run_rtcp", "packet_count=self.__packet_count",
            "octet_count=self.__octet_count", "rtp_timestamp=self.__rtp_timestamp",
            "ntp_timestamp=self.__ntp_timestamp")
    _expect(RTCRtpSender, "_handle_rtcp_packet", "await self._retransmit(seq)")
    _expect(RTCRtpSender, "_retransmit",
            "self.__rtp_history.get(sequence_number % RTP_HISTORY_SIZE)",
            "packet.serialize(self.__rtp_header_extensions_map)")
    _expect(RTCDtlsTransport, "_send_rtp", "data = self._tx_srtp.protect(data)",
            "await self.transport._send(data)", "self.__tx_bytes += len(data)",
            "self.__tx_packets += 1")
    _expect(aioice.ice.Connection, "sendto", "active_pair = self._nominated.get(component)",
            "await active_pair.protocol.send_data(data, active_pair.remote_addr)")
    _expect(aioice.ice.StunProtocol, "send_data", "self.transport.sendto(data, addr)")


def _expect(owner: type, method: str, *needles: str) -> None:
    """Fail unless each needle is in the source of `owner.method`."""
    source = inspect.getsource(getattr(owner, method))
    for needle in needles:
        if needle not in source:
            raise SeamError(f"{owner.__name__}.{method} no longer does {needle!r}")
