"""How healthy a site's link is: one badge from round-trip time, loss and frame rate.

Thresholds follow what meeting systems warn at (BigBlueButton: 500 ms warns, 1000 ms
alarms, 2000 ms is critical) and what a council meeting can live with: a site that loses
a tenth of its packets, or shows fewer than eight frames a second, is hard to follow
(many webcams give 15-20 frames a second in a dim hall, and that is fine).
The worst of the three readings decides. `unknown` until something has been measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    UNKNOWN = "unknown"
    GOOD = "good"
    WARN = "warn"
    ALARM = "alarm"
    CRITICAL = "critical"


_ORDER = [Level.UNKNOWN, Level.GOOD, Level.WARN, Level.ALARM, Level.CRITICAL]

# (warn, alarm, critical): a reading at or past a threshold has that level.
RTT_MS = (500.0, 1000.0, 2000.0)
LOSS = (0.03, 0.10, 0.25)  # fraction of packets lost
FPS = (15.0, 8.0, 3.0)  # video frames per second: lower is worse (webcams give 15-30)

# Propose audio only from this level on (the site decides; the chair may impose it).
PROPOSE_AUDIO_ONLY = Level.ALARM


def _level(value: float, thresholds: tuple[float, float, float], *, lower_is_worse: bool
           ) -> Level:
    warn, alarm, critical = thresholds
    if lower_is_worse:
        value, warn, alarm, critical = -value, -warn, -alarm, -critical
    if value >= critical:
        return Level.CRITICAL
    if value >= alarm:
        return Level.ALARM
    if value >= warn:
        return Level.WARN
    return Level.GOOD


@dataclass(frozen=True)
class LinkReading:
    """What is known of one site's link; None where nothing was measured."""

    rtt_ms: float | None = None
    loss: float | None = None
    fps: float | None = None  # of the video it sends; None on audio only

    def level(self) -> Level:
        levels = [Level.UNKNOWN]
        if self.rtt_ms is not None:
            levels.append(_level(self.rtt_ms, RTT_MS, lower_is_worse=False))
        if self.loss is not None:
            levels.append(_level(self.loss, LOSS, lower_is_worse=False))
        if self.fps is not None:
            levels.append(_level(self.fps, FPS, lower_is_worse=True))
        return max(levels, key=_ORDER.index)

    def propose_audio_only(self) -> bool:
        return _ORDER.index(self.level()) >= _ORDER.index(PROPOSE_AUDIO_ONLY)

    def public(self) -> dict[str, object]:
        return {"level": self.level().value,
                "rtt_ms": None if self.rtt_ms is None else round(self.rtt_ms),
                "loss": None if self.loss is None else round(self.loss, 3),
                "fps": None if self.fps is None else round(self.fps, 1)}
