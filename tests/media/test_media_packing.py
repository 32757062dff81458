"""Payloads made once per frame: every subscriber's sender packs the same bytes."""

from __future__ import annotations

import fractions
import os

import av
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from media.frames import EncodedFrame
from media.packing import ForwardingEncoder, Relayed

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
H264 = RTCRtpCodecParameters(mimeType="video/H264", clockRate=90000, payloadType=102)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2,
                             payloadType=111)


def test_two_subscribers_share_a_vp8_frames_bodies_and_number_their_own_pictures() -> None:
    frame = EncodedFrame(os.urandom(3000), 0, True)  # three packets' worth
    b, c = ForwardingEncoder(VP8), ForwardingEncoder(VP8)
    b.picture_id, c.picture_id = 7, 0x7FFF
    b_payloads, b_pts = b.pack(Relayed(frame, 3000))
    c_payloads, _ = c.pack(Relayed(frame, 6000))
    assert b_pts == 3000 and len(b_payloads) == 3
    # What aiortc's own VP8 packetizer makes of the frame, for each picture id.
    assert b_payloads == Vp8Encoder._packetize(frame.data, 7)
    assert c_payloads == Vp8Encoder._packetize(frame.data, 0x7FFF)
    assert [p[4:] for p in b_payloads] == [p[4:] for p in c_payloads]
    assert frame.shared("vp8", lambda data: []) is frame.shared("vp8", lambda data: [])
    # The next frame carries the next picture id, wrapping at 15 bits.
    following = EncodedFrame(b"\x31delta", 3000, False)
    assert b.pack(Relayed(following, 6000))[0] == Vp8Encoder._packetize(b"\x31delta", 8)
    assert c.pack(Relayed(following, 9000))[0] == Vp8Encoder._packetize(b"\x31delta", 0)


def test_two_subscribers_send_the_same_h264_payloads() -> None:
    nal = b"\x00\x00\x00\x01\x65" + os.urandom(2500)  # an IDR slice, cut in FU-As
    frame = EncodedFrame(b"\x00\x00\x00\x01\x67\x42\x00\x1f" + nal, 0, True)
    b_payloads, _ = ForwardingEncoder(H264).pack(Relayed(frame, 0))
    c_payloads, _ = ForwardingEncoder(H264).pack(Relayed(frame, 0))
    assert b_payloads is c_payloads
    packet = av.Packet(frame.data)
    packet.pts, packet.time_base = 0, fractions.Fraction(1, 90000)
    assert b_payloads == H264Encoder().pack(packet)[0]


def test_an_opus_frame_is_its_own_payload() -> None:
    frame = EncodedFrame(b"\x78opus", 960, True)
    payloads, pts = ForwardingEncoder(OPUS).pack(Relayed(frame, 1920))
    assert payloads == [frame.data] and payloads[0] is frame.data and pts == 1920
