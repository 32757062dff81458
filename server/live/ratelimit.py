"""Token buckets per socket: commands and ephemeral traffic are limited separately, so
a pen drawing fast never starves a page turn, and a runaway client is told to slow down."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Bucket:
    rate: float  # tokens per second
    burst: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self, cost: float = 1) -> bool:
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens = self.burst
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


@dataclass
class RateLimits:
    commands: Bucket = field(default_factory=lambda: Bucket(rate=50, burst=200))
    ephemeral: Bucket = field(default_factory=lambda: Bucket(rate=120, burst=240))

    def allow(self, ephemeral: bool) -> bool:
        return (self.ephemeral if ephemeral else self.commands).take()
