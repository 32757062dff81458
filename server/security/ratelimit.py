"""A sliding-window limit on failed logins, per client address and per user name.

It lives in the process: with several server processes each counts its own failures,
so the effective limit is the setting times the number of processes. That still stops
password guessing; a shared limit can move to Redis when the broker does.
"""

from __future__ import annotations

import time
from collections import deque


class LoginRateLimiter:
    def __init__(self, attempts: int, window_seconds: float) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, address: str, username: str) -> float:
        """Seconds until another attempt is allowed; 0 when one is allowed now."""
        now = time.monotonic()
        waits = []
        for key in (f"a:{address}", f"u:{username.lower()}"):
            times = self._recent(key, now)
            if len(times) >= self.attempts:
                waits.append(times[0] + self.window - now)
        return max(waits, default=0.0)

    def failed(self, address: str, username: str) -> None:
        now = time.monotonic()
        for key in (f"a:{address}", f"u:{username.lower()}"):
            self._recent(key, now).append(now)
        if len(self._failures) > 10_000:
            self._prune(now)

    def succeeded(self, address: str, username: str) -> None:
        self._failures.pop(f"u:{username.lower()}", None)

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window]:
            del self._failures[key]
