"""When to retry and how long to wait: the one source of retry rules for the pipeline, the
batch runner and the CLI.

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
from typing import Literal

import attrs

from emmi_async._exceptions import APIConnectionError, ResponseMismatchError

__all__ = [
    "REFUSED_STATUSES",
    "RETRYABLE_STATUSES",
    "SPLIT_STATUSES",
    "Action",
    "ChunkDecision",
    "ErrorKind",
    "RetryPolicy",
    "call_delay",
    "decide_chunk",
    "error_kind",
    "is_permanent",
    "parse_retry_after",
    "server_wait",
    "status_of",
]

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


# -- what an error means ----------------------------------------------------------------------

ErrorKind = Literal["split", "refused_key", "permanent", "rate_limited", "transient", "local"]
"""What a failed request means for what comes next:

- ``split``: the server refused part of the body (413 too large, 422 naming entities);
- ``refused_key``: 401 (the key) or 403 (the key may not act for this customer or end
  user, or make this call): about the credentials, not the entity; every later request
  would get the same answer;
- ``permanent``: any other status that is not in :data:`RETRYABLE_STATUSES`;
- ``rate_limited``: 429, wait as the server says and send again;
- ``transient``: a retryable 5xx/408, a timeout, a dropped connection, an undecodable body
  or one that holds another number of results than entities sent;
- ``local``: not about a request at all (bad input, a deadline, an aborted run).
"""

SPLIT_STATUSES = frozenset({413, 422})
REFUSED_STATUSES = frozenset({401, 403})
"""Refused credentials: the key (401), or what it acts for (403)."""
_TRANSIENT_TYPES = (APIConnectionError, ResponseMismatchError)


def status_of(error: BaseException) -> int | None:
    """The HTTP status of an SDK error, ``None`` when no response came."""
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) else None


def error_kind(error: BaseException) -> ErrorKind:
    """What ``error`` (an SDK error from one request) means; see :data:`ErrorKind`."""
    status = status_of(error)
    if status is None:
        return "transient" if isinstance(error, _TRANSIENT_TYPES) else "local"
    if status in SPLIT_STATUSES:
        return "split"
    if status in REFUSED_STATUSES:
        return "refused_key"
    if status == 429:
        return "rate_limited"
    if status in RETRYABLE_STATUSES:
        return "transient"
    return "permanent"


def is_permanent(error: BaseException) -> bool:
    """An API refusal that a later run would get again (a status the server will repeat).

    401 and 403 are not: refused credentials say nothing of the entity, so a rerun with
    another key (or customer, or end user) must send it again.
    """
    return error_kind(error) in ("split", "permanent")


def server_wait(error: BaseException) -> float | None:
    """How long the server asked to wait (``Retry-After``) with its error, if it did."""
    wait = getattr(error, "retry_after", None)
    if isinstance(wait, (int, float)) and not isinstance(wait, bool):
        return float(wait)
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    return None if headers is None else parse_retry_after(headers)


def call_delay(
    error: BaseException,
    *,
    retries_left: int,
    backoff: float,
    max_retry_after: float,
) -> float | None:
    """The pipeline's rule for one call: seconds to wait before retrying, or ``None`` to
    raise ``error`` now.

    Only transient errors and 429 are retried; a ``Retry-After`` longer than
    ``max_retry_after`` is not waited for inside a call (the caller decides).
    """
    if error_kind(error) not in ("transient", "rate_limited"):
        return None
    wait = server_wait(error)
    if wait is not None and wait > max_retry_after:
        return None
    if retries_left <= 0:
        return None
    return backoff if wait is None else wait


# -- what the batch runner does with a failed chunk ------------------------------------------

Action = Literal["retry", "pause", "split", "fail", "abort"]


@attrs.frozen
class ChunkDecision:
    """What to do with a chunk whose request failed.

    - ``retry``: send it again after ``delay`` seconds;
    - ``pause``: start (or extend) the shared pause of ``delay`` seconds, then send again;
    - ``split``: isolate what the server refused (fail named entities, halve the rest);
    - ``fail``: every entity of the chunk fails with the error;
    - ``abort``: fail, and stop sending anything more in this run.
    """

    action: Action
    delay: float = 0.0


def decide_chunk(
    kind: ErrorKind,
    *,
    attempts: int,
    max_attempts: int,
    splittable: bool,
    budget_left: bool,
    failing_streak: bool,
    wait: float | None,
    max_wait: float,
    backoff: float,
) -> ChunkDecision:
    """The batch runner's one decision after a failed request for a chunk (pure).

    ``attempts`` requests carried the chunk so far (>= 1); ``splittable``: the chunk holds
    more than one entity or the error names some of them; ``budget_left``: the run's retry
    budget allows one more retry; ``failing_streak``: so many requests in a row failed
    that a spent budget means the server is down; ``wait``: the server's ``Retry-After``;
    ``max_wait``: the longest pause the run accepts; ``backoff``: the computed wait for
    this retry. A 429 may be retried up to ``2 * max_attempts`` times (it costs the
    server nothing) and does not spend the budget.
    """
    if kind == "split":
        return ChunkDecision("split" if splittable else "fail")
    if kind == "refused_key":
        return ChunkDecision("abort")
    if kind in ("permanent", "local"):
        return ChunkDecision("fail")
    if kind == "rate_limited":
        delay = backoff if wait is None else wait
        if delay > max_wait or attempts >= 2 * max_attempts:
            return ChunkDecision("fail")
        return ChunkDecision("pause", delay)
    if attempts >= max_attempts:
        return ChunkDecision("fail")
    if not budget_left:
        return ChunkDecision("abort" if failing_streak else "fail")
    if wait is not None and wait <= max_wait:
        return ChunkDecision("pause", wait)
    return ChunkDecision("retry", backoff)
