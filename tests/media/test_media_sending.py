"""Forwarded frames written past aiortc's sender loop: what a subscriber sees is what the
stock sender would have sent, and its reports and retransmissions still add up."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiortc import RTCRtpSender
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSendParameters,
)
from aiortc.rtp import (
    HeaderExtensionsMap,
    RtcpPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_header_extensions,
)
from media_sites import Subscriber, closing, publish, subscribe

from media import seams, sending
from media.frames import EncodedFrame
from media.packing import ForwardingEncoder, Relayed
from media.relay import Relay
from media.sending import ABS_SEND_TIME_URI, MID_URI, PacketWriter, header_extensions
from tests.helpers import wait_for

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)


@pytest.mark.parametrize("elements", [
    [],
    [(1, b"0")],
    [(1, b"video"), (3, b"\x12\x34\x56")],  # one-byte form, padded
    [(15, b"1"), (3, b"\x12\x34\x56")],  # an id past 14: the two-byte form
])
def test_header_extensions_are_packed_as_aiortc_packs_them(
        elements: list[tuple[int, bytes]]) -> None:
    profile, body = pack_header_extensions(elements)
    expected = struct.pack("!HH", profile, len(body) // 4) + body if body else b""
    assert header_extensions(elements) == expected


class Wire:
    """Stands in for SRTP (no-op) and the socket: keeps what was written."""

    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def protect(self, packet: bytes) -> bytes:
        return packet

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.packets.append(data)

    def get_write_buffer_size(self) -> int:
        return 0


async def test_written_packets_are_byte_for_byte_what_aiortcs_sender_makes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    transport = RTCDtlsTransport(RTCIceTransport(RTCIceGatherer()),
                                 [RTCCertificate.generateCertificate()])
    sender = RTCRtpSender("video", transport)
    parameters = RTCRtpSendParameters(codecs=[VP8], muxId="1", headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=1, uri=MID_URI),
        RTCRtpHeaderExtensionParameters(id=3, uri=ABS_SEND_TIME_URI)])
    wire = Wire()
    monkeypatch.setattr(seams, "srtp_session", lambda transport: wire)
    monkeypatch.setattr(seams, "udp_route", lambda transport: (wire, ("127.0.0.1", 9)))
    writer = PacketWriter(sender, parameters, ForwardingEncoder(VP8))
    frame = EncodedFrame(bytes(range(256)) * 12, 0, keyframe=True)  # three packets
    writer.write(Relayed(frame, 3000))
    writer.write(Relayed(frame, 6000))

    extensions = HeaderExtensionsMap()
    extensions.configure(parameters)
    assert len(wire.packets) == 6
    first = RtpPacket.parse(wire.packets[0], extensions)
    for n, data in enumerate(wire.packets):
        sent = RtpPacket.parse(data, extensions)
        # What RTCRtpSender._run_rtp builds for the same payload, number and time.
        stock = RtpPacket(payload_type=97, sequence_number=(first.sequence_number + n) & 0xFFFF,
                          timestamp=(first.timestamp + 3000 * (n // 3)) & 0xFFFFFFFF)
        stock.ssrc = sender._ssrc
        stock.payload = sent.payload
        stock.marker = int(n % 3 == 2)
        stock.extensions.abs_send_time = sent.extensions.abs_send_time
        stock.extensions.mid = "1"
        assert stock.serialize(extensions) == data
        assert writer.written(stock.sequence_number) == data
    assert first.payload[4:] == frame.data[:len(first.payload) - 4]


# -- through a real relay ------------------------------------------------------------

class Capture:
    """Every plain RTP and RTCP packet a subscriber's DTLS transport takes in."""

    def __init__(self, site: Subscriber) -> None:
        self.rtp: list[RtpPacket] = []
        self.rtcp: list[RtcpPacket] = []
        transport = site.receivers["video"].transport
        extensions = transport._rtp_header_extensions_map
        rtp: Callable[[bytes, int], Awaitable[None]] = transport._handle_rtp_data
        rtcp: Callable[[bytes], Awaitable[None]] = transport._handle_rtcp_data

        async def on_rtp(data: bytes, arrival_time_ms: int) -> None:
            self.rtp.append(RtpPacket.parse(data, extensions))
            await rtp(data, arrival_time_ms)

        async def on_rtcp(data: bytes) -> None:
            self.rtcp.extend(RtcpPacket.parse(data))
            await rtcp(data)

        transport._handle_rtp_data = on_rtp  # type: ignore[method-assign]
        transport._handle_rtcp_data = on_rtcp  # type: ignore[method-assign]

    def of(self, ssrc: int) -> list[RtpPacket]:
        return [p for p in self.rtp if p.ssrc == ssrc]


async def writer_of(relay: Relay, site_id: str, kind: str) -> PacketWriter:
    """The writer of `site_id`'s `kind` track, once its sender has started."""
    (track,) = [t for t in relay.tracks_of(site_id) if t.kind == kind]
    writer: PacketWriter = await wait_for(lambda: track.writer,
                                          what=f"{track!r} written past its sender")
    return writer


async def test_b_decodes_every_frame_written_to_it(relay: Relay) -> None:
    a = await publish(relay, "A")
    relay.set_floor("A")
    b = await subscribe(relay, "B")
    async with closing(a, b):
        await wait_for(lambda: b.count("video") >= 30, what="B's first second of video")
        (video,) = [t for t in relay.tracks_of("B") if t.kind == "video"]
        written, decoded_before = video.counters.frames, b.count("video")
        # Every frame written from now on decodes at B (a frame that did not would
        # leave B's count short for good).
        await wait_for(lambda: b.count("video") >= decoded_before + 60 and
                       b.count("video") - decoded_before
                       >= video.counters.frames - written - 3,
                       what="B decoding what the relay wrote")
        assert b.sizes == {(640, 360)}
        assert await writer_of(relay, "B", "audio") is not None


@contextlib.asynccontextmanager
async def b_watching_a(relay: Relay) -> AsyncIterator[tuple[Subscriber, Capture]]:
    """A publishes and has the floor; B watches it, its packets captured."""
    a = await publish(relay, "A")
    relay.set_floor("A")
    b = await subscribe(relay, "B")
    async with closing(a, b):
        yield b, Capture(b)


async def test_sender_reports_count_what_was_written(relay: Relay) -> None:
    async with b_watching_a(relay) as (_, capture):
        ssrc = (await writer_of(relay, "B", "video")).sender._ssrc

        def a_report() -> RtcpSrPacket | None:
            return next((p for p in capture.rtcp if isinstance(p, RtcpSrPacket)
                         and p.ssrc == ssrc and p.sender_info.packet_count > 0), None)

        report = await wait_for(a_report, what="a sender report for B's video")
        # Up to the report, the packets B got for that SSRC add up to what it says
        # (on loopback nothing is lost; the relay wrote none before `written` began).
        packets = capture.of(ssrc)[:report.sender_info.packet_count]
        assert len(packets) == report.sender_info.packet_count
        assert sum(len(p.payload) for p in packets) == report.sender_info.octet_count
        assert packets[-1].timestamp == report.sender_info.rtp_timestamp


async def test_a_nack_from_b_is_answered_with_a_retransmission(relay: Relay) -> None:
    async with b_watching_a(relay) as (b, capture):
        writer = await writer_of(relay, "B", "video")
        ssrc = writer.sender._ssrc
        await wait_for(lambda: len(capture.of(ssrc)) >= 10, what="B's video packets")
        lost = capture.of(ssrc)[-2]
        await b.receivers["video"]._send_rtcp_nack(ssrc, [lost.sequence_number])

        def resent() -> RtpPacket | None:
            # RTX (RFC 4588): another SSRC, the original sequence number first.
            return next((p for p in capture.rtp if p.ssrc == writer.sender._rtx_ssrc
                         and p.payload[:2] == struct.pack("!H", lost.sequence_number)),
                        None)

        retransmission = await wait_for(resent, what="the lost packet again")
        assert retransmission.payload[2:] == lost.payload
        assert retransmission.timestamp == lost.timestamp


async def test_without_a_plain_socket_frames_go_through_aiortcs_transport(
        relay: Relay, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pair through TURN has no socket of its own to write to."""
    monkeypatch.setattr(sending.seams, "udp_route", lambda transport: None)
    a = await publish(relay, "A")
    relay.set_floor("A")
    b = await subscribe(relay, "B")
    async with closing(a, b):
        await wait_for(lambda: b.fps("video", 1.0) >= 24, what="B receiving video")
        assert await writer_of(relay, "B", "video") is not None
