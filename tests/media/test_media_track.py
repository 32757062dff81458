"""Frames, keyframes and timelines: the relay's small parts, without a network."""

from __future__ import annotations

import asyncio

import pytest

from media.frames import EncodedFrame, FrameAssembler, Unwrapper, is_keyframe
from media.packing import Relayed
from media.seams import RtpPacket
from media.track import VIDEO_STEP, RelayedTrack


def test_keyframes_are_told_apart_by_their_bitstream() -> None:
    assert is_keyframe("VP8", b"\x10\x02\x00\x9d\x01\x2a")  # frame tag bit 0 clear
    assert not is_keyframe("VP8", b"\x31\x02\x00")
    assert not is_keyframe("VP8", b"")
    assert is_keyframe("H264", b"\x00\x00\x00\x01\x67\x42\x00\x00\x00\x01\x65\x88")
    assert not is_keyframe("H264", b"\x00\x00\x00\x01\x41\x9a")
    assert is_keyframe("opus", b"\x78")


def test_rtp_timestamps_are_unwrapped_from_the_first() -> None:
    unwrap = Unwrapper()
    assert [unwrap(t) for t in (0xFFFFF000, 0xFFFFFFFF, 0x00000BB7, 0x00000BB0)] == [
        0, 0xFFF, 0x1BB7, 0x1BB0]


def test_sequence_numbers_are_unwrapped_at_16_bits() -> None:
    unwrap = Unwrapper(bits=16)
    assert [unwrap(s) for s in (65534, 65535, 0, 1, 65535)] == [0, 1, 2, 3, 1]


def rtp(sequence: int, timestamp: int, data: bytes, marker: bool = False) -> RtpPacket:
    """A packet as aiortc's receiver hands it on: depayloaded into `_data`."""
    packet = RtpPacket(sequence_number=sequence & 0xFFFF, timestamp=timestamp,
                       marker=int(marker))
    packet._data = data  # type: ignore[attr-defined]
    return packet


def test_a_frame_is_whole_at_its_last_packet_not_when_the_next_one_starts() -> None:
    assembler = FrameAssembler()
    assert assembler.add(rtp(65535, 3000, b"a1")) == ([], False)
    (frame,), lost = assembler.add(rtp(0, 3000, b"a2", marker=True))
    assert (frame.data, frame.timestamp, lost) == (b"a1a2", 3000, False)
    (frame,), _ = assembler.add(rtp(1, 6000, b"b", marker=True))  # a one-packet frame
    assert frame.data == b"b"


def test_packets_out_of_order_make_whole_frames_in_order() -> None:
    assembler = FrameAssembler()
    assert assembler.add(rtp(10, 0, b"a1")) == ([], False)
    assert assembler.add(rtp(13, 3000, b"b2", marker=True)) == ([], False)
    assert assembler.add(rtp(12, 3000, b"b1")) == ([], False)  # b waits for a
    frames, lost = assembler.add(rtp(11, 0, b"a2", marker=True))  # a's last, retransmitted
    assert [(f.data, f.timestamp) for f in frames] == [(b"a1a2", 0), (b"b1b2", 3000)]
    assert not lost
    assert assembler.add(rtp(11, 0, b"a2", marker=True)) == ([], False)  # a duplicate


def test_a_sender_without_markers_still_gets_its_frames_out_a_frame_late() -> None:
    assembler = FrameAssembler()
    assert assembler.add(rtp(1, 0, b"a")) == ([], False)
    (frame,), _ = assembler.add(rtp(2, 3000, b"b"))
    assert frame.data == b"a"


def test_a_packet_that_never_comes_is_given_up_on() -> None:
    assembler = FrameAssembler(capacity=8)
    assembler.add(rtp(0, 0, b"a", marker=True))
    assembler.add(rtp(2, 6000, b"c", marker=True))  # 1 (frame b) is lost
    for sequence in range(3, 8):
        assert assembler.add(rtp(sequence, sequence * 3000, b"x", marker=True)) == ([], False)
    frames, lost = assembler.add(rtp(9, 27000, b"z", marker=True))
    assert lost
    assert [f.data for f in frames] == [b"c", b"x", b"x", b"x", b"x", b"x"]
    assert assembler.add(rtp(8, 24000, b"y", marker=True))[0][0].data == b"y"


def test_a_frame_before_its_stream_began_is_refused() -> None:
    with pytest.raises(ValueError, match="before its stream began"):
        EncodedFrame(b"x", -1, True)


class FakeStream:
    """Just enough of a Stream for a track to attach to."""

    def __init__(self, site_id: str) -> None:
        self.site_id, self.codec, self.kind = site_id, None, "video"
        self.sinks: set[RelayedTrack] = set()
        self.keyframe_requests = 0

    def attach(self, sink: RelayedTrack, *, decoded: bool) -> None:
        self.sinks.add(sink)
        self.request_keyframe()

    def detach(self, sink: RelayedTrack, *, decoded: bool) -> None:
        self.sinks.discard(sink)

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1


async def test_a_track_waits_for_a_keyframe_and_keeps_one_timeline_across_sources() -> None:
    track = RelayedTrack("video", "B")
    a, d = FakeStream("A"), FakeStream("D")
    track.set_source(a)  # type: ignore[arg-type]
    track.push_encoded(a, EncodedFrame(b"\x31delta", 0, False))  # type: ignore[arg-type]
    track.push_encoded(a, EncodedFrame(b"\x10key", 3000, True))  # type: ignore[arg-type]
    track.push_encoded(a, EncodedFrame(b"\x31delta", 6000, False))  # type: ignore[arg-type]
    first, second = await track.recv(), await track.recv()
    assert isinstance(first, Relayed) and first.frame.data == b"\x10key"
    assert (first.pts, second.pts) == (0, 3000)
    assert track.counters.frames_dropped == 1

    track.set_source(d)  # type: ignore[arg-type]  # the floor moves to D
    assert a.sinks == set() and d.sinks == {track} and d.keyframe_requests == 1
    track.push_encoded(a, EncodedFrame(b"\x10key", 9000, True))  # type: ignore[arg-type]
    track.push_encoded(d, EncodedFrame(b"\x10key", 777_000, True))  # type: ignore[arg-type]
    third = await track.recv()
    assert isinstance(third, Relayed) and third.frame.data == b"\x10key"
    assert third.pts == 3000 + VIDEO_STEP
    track.stop()
    assert d.sinks == set()


async def test_a_sender_that_falls_behind_restarts_from_a_keyframe() -> None:
    track = RelayedTrack("video", "B")
    a = FakeStream("A")
    track.set_source(a)  # type: ignore[arg-type]
    track.push_encoded(a, EncodedFrame(b"\x10key", 0, True))  # type: ignore[arg-type]
    for n in range(1, 40):  # nobody reads: the queue overflows
        track.push_encoded(a, EncodedFrame(b"\x31d", n * 3000, False))  # type: ignore[arg-type]
    assert a.keyframe_requests == 2  # on attach, and on overflow
    assert track.counters.frames_dropped > 30
    with pytest.raises(asyncio.QueueEmpty):
        track._queue.get_nowait()
