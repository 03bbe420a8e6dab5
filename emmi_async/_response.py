"""What the pipeline hands back for a successful request, and the raw-response views of it."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Generic, ParamSpec, SupportsIndex, TypeVar

import attrs
import httpx

__all__ = ["APIResponse", "RateLimitInfo", "RawResponse", "ResultList", "raw_response", "record"]

T = TypeVar("T")
P = ParamSpec("P")


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


class ResultList(list[T]):
    """The results of one analysis call, in input order: a ``list`` with a request id.

    It compares equal to a plain list of the same results.
    """

    __slots__ = ("request_id",)

    request_id: str | None
    """The ``X-Request-Id`` of the response the results came in (quote it to support)."""

    def __init__(self, results: Iterable[T] = (), request_id: str | None = None) -> None:
        super().__init__(results)
        self.request_id = request_id

    def __reduce_ex__(self, protocol: SupportsIndex) -> Any:
        return (type(self), (list(self), self.request_id))


@attrs.frozen(kw_only=True)
class RawResponse(Generic[T]):
    """What ``client.<resource>.with_raw_response.<method>(...)`` returns.

    The HTTP response of the call and what the pipeline learnt sending it; :meth:`parse`
    returns exactly what the plain call (``client.<resource>.<method>(...)``) returns.
    When a call takes more than one request (``customers.ensure`` after a conflict),
    this is the last one.
    """

    http_response: httpx.Response = attrs.field(repr=False)
    """The ``httpx.Response`` (its request has the key redacted)."""
    status_code: int
    request_id: str | None
    """The ``X-Request-Id`` header: quote it when asking support about a call."""
    rate_limit: RateLimitInfo | None
    """The ``X-RateLimit-*`` headers, or ``None`` when the response had none."""
    attempts: int
    """Requests sent for this call: 1 when the first succeeded."""
    elapsed: float
    """Seconds from the first attempt to this response, waits between retries included."""
    _parsed: T = attrs.field(repr=False, alias="parsed")

    @property
    def headers(self) -> httpx.Headers:
        """The response headers."""
        return self.http_response.headers

    def parse(self) -> T:
        """What the plain call returns (typed models)."""
        return self._parsed


_captured: contextvars.ContextVar[list[APIResponse] | None] = contextvars.ContextVar(
    "emmi_async_captured_responses", default=None
)


def record(response: APIResponse) -> None:
    """Hand ``response`` to a :func:`raw_response` call running in this context, if any."""
    captured = _captured.get()
    if captured is not None:
        captured.append(response)


async def raw_response(
    method: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
) -> RawResponse[T]:
    """Call ``method`` and return its result with the last response it received."""
    captured: list[APIResponse] = []
    token = _captured.set(captured)
    try:
        parsed = await method(*args, **kwargs)
    finally:
        _captured.reset(token)
    if not captured:  # pragma: no cover - every resource method sends a request
        raise RuntimeError(f"{method!r} sent no request")
    response = captured[-1]
    return RawResponse(
        http_response=response.http_response,
        status_code=response.status_code,
        request_id=response.request_id,
        rate_limit=response.rate_limit,
        attempts=response.attempts,
        elapsed=response.elapsed,
        parsed=parsed,
    )
