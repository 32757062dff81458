"""The aiortc internals the relay stands on are where it expects them, or we hear of it.

If one of these fails after an aiortc upgrade, read media/seams.py: each seam says what
it relies on. Re-check the seam, then move the pin in pyproject.toml.
"""

from __future__ import annotations

import re
from pathlib import Path

import aiortc
import pytest
from aiortc import RTCRtpReceiver, RTCRtpSender

from media import seams
from media.relay import Relay

ROOT = Path(__file__).resolve().parents[2]


def test_the_seams_are_where_the_relay_expects_them() -> None:
    seams.check()


def test_aiortc_is_pinned_to_the_version_the_seams_were_written_against() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(rf'"aiortc=={re.escape(seams.AIORTC_VERSION)}"', pyproject), (
        "pyproject.toml must pin aiortc exactly to media.seams.AIORTC_VERSION")
    assert aiortc.__version__ == seams.AIORTC_VERSION


def test_a_moved_seam_stops_the_relay_from_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    async def reworked(self, packet, arrival_time_ms):  # type: ignore[no-untyped-def]
        """An upgrade that decodes in some other way."""

    monkeypatch.setattr(RTCRtpReceiver, "_handle_rtp_packet", reworked)
    with pytest.raises(seams.SeamError, match="_handle_rtp_packet no longer"):
        Relay()


def test_another_aiortc_version_stops_the_relay_from_starting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc, "__version__", "9.9.9")
    with pytest.raises(seams.SeamError, match="9.9.9"):
        seams.check()


async def test_a_receivers_jitter_buffer_can_be_stood_in_for() -> None:
    from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport
    from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport

    transport = RTCDtlsTransport(RTCIceTransport(RTCIceGatherer()),
                                 [RTCCertificate.generateCertificate()])
    receiver = RTCRtpReceiver("video", transport)
    stand_in = object()
    stock = seams.replace_jitter_buffer(receiver, stand_in)
    assert isinstance(stock, seams.JitterBuffer)
    with pytest.raises(seams.SeamError):
        seams.replace_jitter_buffer(receiver, object())  # the stock one is gone now


async def test_a_senders_encoder_can_be_stood_in_for_before_its_first_frame() -> None:
    from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport
    from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport

    transport = RTCDtlsTransport(RTCIceTransport(RTCIceGatherer()),
                                 [RTCCertificate.generateCertificate()])
    sender = RTCRtpSender("video", transport)
    seams.replace_encoder(sender, object())
    with pytest.raises(seams.SeamError):
        seams.replace_encoder(sender, object())  # it has one now
