"""When to retry and how long to wait: the policy shared by the pipeline and the batch runner.

Retried: connection errors, timeouts, a keep-alive connection closed without an answer,
undecodable bodies, and the statuses in :data:`RETRYABLE_STATUSES`. Never other 4xx.
Waits grow exponentially with "equal jitter" (half fixed, half random) up to a cap, and a
server's ``Retry-After`` (seconds or an HTTP date) replaces the computed wait.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping

import attrs

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Capped exponential backoff with jitter, and the longest ``Retry-After`` honoured."""

    initial_delay: float = attrs.field(default=0.5, validator=attrs.validators.gt(0))
    max_delay: float = attrs.field(default=8.0, validator=attrs.validators.gt(0))
    max_retry_after: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))

    def backoff(self, retries_so_far: int, rng: random.Random | None = None) -> float:
        """The wait before retry number ``retries_so_far + 1``: in [d/2, d], d capped."""
        ceiling = min(self.max_delay, self.initial_delay * (2.0 ** min(retries_so_far, 32)))
        draw = (rng or _RNG).random()
        return ceiling / 2.0 + draw * ceiling / 2.0


_RNG = random.Random()


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP date), if any.

    Unparseable values are ignored (``None``); dates in the past give ``0.0``.
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)
