"""What the pipeline hands back for a successful request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import httpx

__all__ = ["APIResponse", "RateLimitInfo"]


@attrs.frozen(kw_only=True)
class RateLimitInfo:
    """The ``X-RateLimit-*`` headers of a response; a field is ``None`` when absent."""

    limit: int | None
    remaining: int | None
    reset: float | None
    """Seconds until the window resets."""

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """The rate-limit state the headers carry, or ``None`` if they carry none."""
        limit = headers.get("x-ratelimit-limit")
        remaining = headers.get("x-ratelimit-remaining")
        reset = headers.get("x-ratelimit-reset")
        if limit is None and remaining is None and reset is None:
            return None
        return cls(limit=_int(limit), remaining=_int(remaining), reset=_float(reset))


def _int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


@attrs.frozen(kw_only=True)
class APIResponse:
    """A 2xx response: its decoded JSON ``data`` and what the pipeline learnt sending it."""

    data: Any
    """The decoded JSON (the body's bytes when the request was sent with ``parse=False``)."""
    status_code: int
    request_id: str | None
    rate_limit: RateLimitInfo | None
    attempts: int
    """Requests sent for this call: 1 when the first succeeded."""
    elapsed: float
    """Seconds from the first attempt to this response, waits between retries included."""
    http_response: httpx.Response = attrs.field(repr=False)

    @attrs.frozen
    class Data:
        """A decoded 2xx body, before it becomes an :class:`APIResponse`."""

        value: Any
