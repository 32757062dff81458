"""The health badge's thresholds."""

from __future__ import annotations

from media.health import Level, LinkReading


def test_the_worst_reading_decides_the_badge() -> None:
    assert LinkReading().level() is Level.UNKNOWN
    assert LinkReading(rtt_ms=80, loss=0.0, fps=30).level() is Level.GOOD
    assert LinkReading(rtt_ms=500).level() is Level.WARN  # BigBlueButton's warning
    assert LinkReading(rtt_ms=1000, fps=30).level() is Level.ALARM
    assert LinkReading(rtt_ms=2000).level() is Level.CRITICAL
    assert LinkReading(rtt_ms=50, loss=0.12).level() is Level.ALARM
    assert LinkReading(rtt_ms=50, loss=0.0, fps=2).level() is Level.CRITICAL
    assert LinkReading(rtt_ms=50, fps=12).level() is Level.WARN
    assert LinkReading(rtt_ms=50, fps=20).level() is Level.GOOD  # a 20 fps webcam is fine


def test_audio_only_is_proposed_from_the_alarm_on() -> None:
    assert not LinkReading(rtt_ms=600).propose_audio_only()
    assert LinkReading(rtt_ms=1200).propose_audio_only()
    assert LinkReading(loss=0.3).propose_audio_only()
    assert LinkReading(rtt_ms=1234.5, loss=0.0456, fps=29.97).public() == {
        "level": "alarm", "rtt_ms": 1234, "loss": 0.046,
        "fps": 30.0}
