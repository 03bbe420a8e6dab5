"""An ASGI wrapper around the reference app that records what the server saw.

It counts requests in flight (and their peak), stamps every analysis request's arrival
(wall clock), and can answer a burst of 429s: once ``burst_after`` analysis requests have
arrived, the next ``burst_count`` requests (``None``: every request arriving in the next
``burst_seconds``) get a 429 with ``Retry-After: burst_retry_after``.
"""

from __future__ import annotations

import time
from typing import Any

_ANALYSIS = b"/api/v1/emissions-estimates"


class Recorder:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.reset()

    def reset(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.arrivals: list[float] = []
        self.throttled: list[float] = []
        self.burst_after: int | None = None
        self.burst_seconds = 0.05
        self.burst_count: int | None = None
        self.burst_retry_after = 1
        self.burst_started: float | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["raw_path"].startswith(_ANALYSIS):
            await self.app(scope, receive, send)
            return
        now = time.time()
        self.arrivals.append(now)
        if self._in_burst(now):
            self.throttled.append(now)
            await _too_many(send, self.burst_retry_after)
            return
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    def _in_burst(self, now: float) -> bool:
        if self.burst_after is None or len(self.arrivals) <= self.burst_after:
            return False
        if self.burst_started is None:
            self.burst_started = now
        if self.burst_count is not None:
            return len(self.throttled) < self.burst_count
        return now - self.burst_started < self.burst_seconds


async def _too_many(send: Any, retry_after: int) -> None:
    body = b'{"error": {"code": "rate_limited", "message": "slow down"}}'
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(retry_after).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
