"""One subscriber's forwarded frames, written as RTP straight into SRTP and its socket.

aiortc's sender wakes once per frame for each subscriber and, per packet, builds an
`RtpPacket`, its header extensions and two NTP clock readings, then awaits three
coroutines down to `sendto`. For a frame that is already packetized none of that is
needed: a `PacketWriter` keeps one RTP header per subscriber, fills in the sequence
number, timestamp and marker with `struct`, and calls SRTP and the socket directly, for
every subscriber in the same pass in which the frame came in (`RelayedTrack`).

What a subscriber relies on from the stock sender is kept: its SSRC, sequence numbers
and a timestamp origin of our own (random, as aiortc chooses them), the mid and
abs-send-time header extensions when negotiated, a marker on each frame's last packet,
the counters its RTCP sender reports carry, and its NACK retransmissions (see
`media/seams.py`, seams 6-9). Decoded frames being transcoded for a subscriber still go
through the sender's own loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import struct
import time

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpSendParameters

from media import seams
from media.packing import ForwardingEncoder, Relayed

log = logging.getLogger(__name__)

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
HISTORY = 128  # packets kept for NACKs, as many as aiortc's sender keeps
NTP_EPOCH = 2_208_988_800  # seconds from 1900, where NTP counts from, to 1970
# Bytes the socket may hold unsent before we stop writing to it: past that the site's
# link (or our process) cannot keep up, and a frame more only deepens the backlog.
BACKLOG_LIMIT = 512 * 1024

_HEAD = struct.Struct("!BHI")  # marker and payload type, sequence number, timestamp


def header_extensions(elements: list[tuple[int, bytes]]) -> bytes:
    """RFC 8285 header extensions, with their 4-byte header: the one-byte form where every
    element allows it, else the two-byte form; elements in the order given."""
    if not elements:
        return b""
    if all(0 < x_id <= 14 and 0 < len(value) <= 16 for x_id, value in elements):
        profile = 0xBEDE
        body = b"".join(bytes(((x_id << 4) | (len(value) - 1),)) + value
                        for x_id, value in elements)
    else:
        profile = 0x1000
        body = b"".join(bytes((x_id, len(value))) + value for x_id, value in elements)
    body += bytes(-len(body) % 4)
    return struct.pack("!HH", profile, len(body) // 4) + body


class PacketWriter:
    """Writes relayed frames to one subscriber as its sender would, without its loop."""

    def __init__(self, sender: RTCRtpSender, parameters: RTCRtpSendParameters,
                 encoder: ForwardingEncoder) -> None:
        self.sender = sender
        self.encoder = encoder
        payload_type = parameters.codecs[0].payloadType
        if payload_type is None:
            raise ValueError(f"{parameters.codecs[0]} has no payload type")
        self.payload_type = payload_type
        # The lower half of the range, as aiortc's: a wrap early on confuses SRTP's
        # rollover counter at some receivers.
        self.sequence_number = random.randrange(1 << 15)
        self.timestamp_origin = random.randrange(1 << 32)
        self._history: dict[int, bytes] = {}
        self._outbox: collections.deque[bytes] = collections.deque()
        self._draining: asyncio.Task[None] | None = None
        self._route: seams.UdpRoute | None = None
        ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
        elements = []
        if MID_URI in ids and parameters.muxId:
            elements.append((ids[MID_URI], parameters.muxId.encode()))
        if ABS_SEND_TIME_URI in ids:
            elements.append((ids[ABS_SEND_TIME_URI], b"\0\0\0"))
        extensions = header_extensions(elements)
        self._header = bytearray(struct.pack("!BBHII", 0x90 if extensions else 0x80, 0, 0, 0,
                                             sender._ssrc) + extensions)
        # Where abs-send-time's three bytes sit: it is the last element, when there.
        self._abs_send_time_at: int | None = None
        if ABS_SEND_TIME_URI in ids:
            per_element = 1 if extensions[:2] == b"\xbe\xde" else 2
            self._abs_send_time_at = 16 + sum(per_element + len(value)
                                              for _, value in elements) - 3
        seams.hook_retransmit(sender, self.written)

    def __repr__(self) -> str:
        return f"<PacketWriter ssrc={self.sender._ssrc}>"

    @property
    def ready(self) -> bool:
        return self.sender.transport.state == "connected"

    def backlogged(self) -> bool:
        """Whether the socket still holds more than it should of what we wrote."""
        route = self._udp_route()
        return route is not None and route[0].get_write_buffer_size() > BACKLOG_LIMIT

    def _udp_route(self) -> seams.UdpRoute | None:
        # Found once: aiortc's ICE nominates one pair and never restarts. The profile
        # had looking it up twice per frame at 8 % of the relay's busy time.
        if self._route is None:
            self._route = seams.udp_route(self.sender.transport)
        return self._route

    def write(self, relayed: Relayed) -> int:
        """Send one frame; answer the payload bytes sent."""
        payloads, timestamp = self.encoder.pack(relayed)
        if not payloads:
            return 0
        transport = self.sender.transport
        srtp = seams.srtp_session(transport)
        route = self._udp_route()
        ntp = int((time.time() + NTP_EPOCH) * (1 << 32))
        header = self._header
        if self._abs_send_time_at is not None:
            at = self._abs_send_time_at
            header[at:at + 3] = ((ntp >> 14) & 0xFFFFFF).to_bytes(3, "big")
        rtp_timestamp = (self.timestamp_origin + timestamp) & 0xFFFFFFFF
        sequence_number, last = self.sequence_number, len(payloads) - 1
        octets = wire = 0
        for i, payload in enumerate(payloads):
            _HEAD.pack_into(header, 1, (0x80 if i == last else 0) | self.payload_type,
                            sequence_number, rtp_timestamp)
            packet = bytes(header) + payload
            self._history[sequence_number % HISTORY] = packet
            if route is not None:
                protected = srtp.protect(packet)
                route[0].sendto(protected, route[1])
                wire += len(protected)
            else:
                self._send_later(packet)  # counted on the wire by the transport itself
            octets += len(payload)
            sequence_number = (sequence_number + 1) & 0xFFFF
        self.sequence_number = sequence_number
        seams.count_sent(self.sender, packets=len(payloads), octets=octets,
                         wire_packets=len(payloads) if route is not None else 0,
                         wire_octets=wire, rtp_timestamp=rtp_timestamp, ntp_timestamp=ntp)
        return octets

    def written(self, sequence_number: int) -> bytes | None:
        """The plain RTP packet we sent as `sequence_number`, while we still have it."""
        packet = self._history.get(sequence_number % HISTORY)
        if packet is None or struct.unpack_from("!H", packet, 2)[0] != sequence_number:
            return None
        return packet

    # -- through TURN: aiortc's own coroutine path, in order -------------------------

    def _send_later(self, packet: bytes) -> None:
        self._outbox.append(packet)
        if self._draining is None or self._draining.done():
            self._draining = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        transport = self.sender.transport
        while self._outbox:
            try:
                await transport._send_rtp(self._outbox.popleft())
            except ConnectionError:
                self._outbox.clear()
