"""An AIMD concurrency limit that follows the server: halve on trouble, creep back on success.

It starts small and doubles with each window of successes (slow start, so the first wave
does not hit a rate-limited server at full width), up to the maximum or the first sign of
trouble. After that, additive increase: +1 over each window of successes (``1/limit`` per
success). Multiplicative decrease: halve on 429/503 and timeouts, -10 % when latency climbs
far above its floor; at most once per latency interval, so one burst of simultaneous 429s
counts once.
"""

from __future__ import annotations

import math
import time

import anyio

__all__ = ["AdaptiveLimit"]

#: Where the limit starts (when the maximum is larger and the limit adapts).
SLOW_START = 8


class AdaptiveLimit:
    """How many requests a runner may have in flight now, between ``minimum`` and ``maximum``."""

    def __init__(self, *, maximum: int, minimum: int = 1, adaptive: bool = True) -> None:
        self.maximum = maximum
        self.minimum = min(minimum, maximum)
        self.adaptive = adaptive
        self._slow_start = adaptive and maximum > SLOW_START
        self._limit = float(SLOW_START if self._slow_start else maximum)
        self.in_flight = 0
        self._changed = anyio.Event()
        self._waiting = 0
        """Tasks waiting on ``_changed`` (a release with none makes no new event)."""
        self._last_decrease = -math.inf
        self._latency_floor = math.inf
        self._latency_ewma: float | None = None

    @property
    def limit(self) -> int:
        return max(self.minimum, int(self._limit))

    async def acquire(self) -> None:
        """Wait for a free slot under the current limit, then take it."""
        while self.in_flight >= self.limit:
            self._waiting += 1
            try:
                await self._changed.wait()
            finally:
                self._waiting -= 1
        self.in_flight += 1

    def release(self, latency: float | None, *, overloaded: bool = False) -> bool:
        """Give the slot back; ``overloaded`` for 429/503/timeouts. True if the limit moved."""
        self.in_flight -= 1
        before = self.limit
        if self.adaptive:
            if overloaded:
                self._decrease(0.5)
            elif latency is not None:
                self._observe(latency)
        if self._waiting:
            self._changed.set()
            self._changed = anyio.Event()
        return self.limit != before

    def _observe(self, latency: float) -> None:
        self._latency_floor = min(self._latency_floor, latency)
        ewma = self._latency_ewma
        self._latency_ewma = latency if ewma is None else ewma + 0.1 * (latency - ewma)
        floor, ewma = self._latency_floor, self._latency_ewma
        if ewma > 3.0 * floor and ewma > floor + 0.5:
            self._decrease(0.9)
        elif self._limit < self.maximum:
            step = 1.0 if self._slow_start else 1.0 / self._limit
            self._limit = min(float(self.maximum), self._limit + step)

    def _decrease(self, factor: float) -> None:
        now = time.monotonic()
        interval = self._latency_ewma if self._latency_ewma is not None else 0.1
        if now - self._last_decrease < interval:
            return
        self._last_decrease = now
        self._slow_start = False
        self._limit = max(float(self.minimum), self._limit * factor)
