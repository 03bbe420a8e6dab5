"""Token-bucket rate limiting, one bucket per key and one per (key, end user).

A bucket holds up to ``RateLimit.requests`` tokens and refills at ``requests /
per_seconds`` tokens a second; each request takes one. A refused request learns how
long until one token is back (``Retry-After``, whole seconds, at least 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DEFAULT_RATE_LIMIT", "Bucket", "RateLimit", "RateVerdict"]


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    """At most ``requests`` per ``per_seconds`` seconds, with bursts up to ``requests``."""

    requests: int
    per_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds <= 0:
            raise ValueError("a rate limit needs requests >= 1 and per_seconds > 0")


DEFAULT_RATE_LIMIT = RateLimit(requests=100_000, per_seconds=1.0)
"""Generous enough that benchmarks never meet it."""


@dataclass(frozen=True, slots=True)
class RateVerdict:
    """Outcome of taking a token, with the values of the ``X-RateLimit-*`` headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    """Seconds until the bucket is full again."""
    retry_after_s: int
    """Seconds until one token is back (0 when allowed)."""


class Bucket:
    """One token bucket; ``take()`` spends a token when there is one."""

    __slots__ = ("_capacity", "_clock", "_rate", "_stamp", "_tokens")

    def __init__(self, limit: RateLimit, clock: Callable[[], float]) -> None:
        self._capacity = float(limit.requests)
        self._rate = limit.requests / limit.per_seconds
        self._clock = clock
        self._tokens = self._capacity
        self._stamp = clock()

    def take(self) -> RateVerdict:
        now = self._clock()
        tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._tokens = tokens
        retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens) / self._rate))
        return RateVerdict(
            allowed=allowed,
            limit=int(self._capacity),
            remaining=int(tokens),
            reset_s=math.ceil((self._capacity - tokens) / self._rate),
            retry_after_s=retry_after,
        )
