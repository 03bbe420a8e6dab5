"""Every exception emmi-async raises, in one module.

The tree (``EmmiError`` is the root of everything the SDK raises on purpose)::

    EmmiError
    ├── APIConnectionError                 no usable response came
    │   ├── APITimeoutError                connect, read, write or pool timeout
    │   └── MalformedResponseError         a 2xx body that is not JSON
    ├── APIStatusError                     the API answered 4xx/5xx (status_code, request_id, body)
    │   ├── BadRequestError                400
    │   ├── AuthenticationError            401
    │   ├── PermissionDeniedError          403
    │   ├── NotFoundError                  404
    │   ├── ConflictError                  409
    │   ├── PayloadTooLargeError           413
    │   ├── UnprocessableEntityError       422: the *server* refused entities (details)
    │   ├── RateLimitError                 429 (retry_after)
    │   └── ServerError                    5xx
    ├── ResponseMismatchError              not one result per entity sent
    ├── EntityValidationError  (ValueError)   the *client* found bad input; nothing was sent
    ├── MissingAttributionError (ValueError)  no customer / end user for a data request
    ├── MissingAPIKeyError     (ValueError)   no API key configured for a keyed endpoint
    ├── JournalMismatchError   (ValueError)   a batch journal of another operation or input
    ├── ClientClosedError      (RuntimeError) used after aclose()/close()
    ├── EventLoopMismatchError (RuntimeError) used from another event loop
    ├── PortalThreadError      (RuntimeError) a blocking call from the client's own loop thread
    ├── BatchDeadlineError                 a batch entity had no answer by the deadline
    └── BatchAbortedError                  the batch runner stopped sending (cause)

(``emmi_async.models.ResponseDecodeError``, a 2xx body of the wrong shape, is an
``EmmiError`` too; it lives with the models that describe the shapes.)

``ValidationError`` is the former name of :class:`UnprocessableEntityError`, kept as a
deprecated alias. Errors about the arguments of a constructor or method (a negative
``timeout``, a malformed key) stay plain ``TypeError``/``ValueError``: they are bugs in
the calling code, found before any client exists. No exception message, ``repr`` or
attribute ever holds an API key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchAbortedError",
    "BatchDeadlineError",
    "ClientClosedError",
    "ConflictError",
    "EmmiError",
    "EntityValidationError",
    "EventLoopMismatchError",
    "JournalMismatchError",
    "MalformedResponseError",
    "MissingAPIKeyError",
    "MissingAttributionError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PortalThreadError",
    "Problem",
    "RateLimitError",
    "ResponseMismatchError",
    "ServerError",
    "UnprocessableEntityError",
    "ValidationError",
]


class EmmiError(Exception):
    """Base class of every error the SDK raises about talking to the API."""

    attempts: int | None = None
    """How many requests were sent before this error was raised, when requests were sent."""


class ClientClosedError(EmmiError, RuntimeError):
    """The client was used after ``aclose()``/``close()``."""


class EventLoopMismatchError(EmmiError, RuntimeError):
    """The client was used from an event loop other than the one it first ran in."""


class ResponseMismatchError(EmmiError):
    """The response does not hold exactly one result per entity sent."""


class APIConnectionError(EmmiError):
    """No usable response: the connection failed, dropped, or the body was cut short."""

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request | None = None):
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or pool)."""

    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ):
        super().__init__(message, request=request)


class MalformedResponseError(APIConnectionError):
    """A 2xx response whose body is not valid JSON (e.g. cut short by a proxy)."""


class APIStatusError(EmmiError):
    """The API answered with a 4xx or 5xx status.

    ``body`` is the parsed ``{"error": {...}}`` object when the response had one (any
    JSON otherwise, or ``None``); ``type``, ``code``, ``details`` come from it when present.
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.body = body
        self.request_id = request_id
        error = body.get("error") if isinstance(body, Mapping) else None
        error = error if isinstance(error, Mapping) else {}
        self.error: Mapping[str, Any] = error
        self.type: str | None = _str_or_none(error.get("type"))
        self.code: str | None = _str_or_none(error.get("code"))
        details = error.get("details")
        self.details: Sequence[Any] = details if isinstance(details, list) else []

    def __reduce__(self) -> Any:
        # Keep the class and its attributes across process/thread boundaries.
        return (_rebuild_status_error, (type(self), self.args, self.__dict__))


def _rebuild_status_error(
    cls: type[APIStatusError], args: tuple[Any, ...], state: dict[str, Any]
) -> APIStatusError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class BadRequestError(APIStatusError):
    status_code = 400


class AuthenticationError(APIStatusError):
    status_code = 401


class PermissionDeniedError(APIStatusError):
    status_code = 403


class NotFoundError(APIStatusError):
    status_code = 404


class ConflictError(APIStatusError):
    status_code = 409


class PayloadTooLargeError(APIStatusError):
    status_code = 413


class UnprocessableEntityError(APIStatusError):
    """422: the *server* refused some entities; ``details`` names each by index and field.

    Not to be confused with :class:`EntityValidationError`, raised by the client's own
    checks before anything is sent.
    """

    status_code = 422


ValidationError = UnprocessableEntityError
"""Deprecated: the former name of :class:`UnprocessableEntityError`."""


class RateLimitError(APIStatusError):
    """429. ``retry_after`` is the wait the server asked for, in seconds, when it said."""

    status_code = 429

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: Any = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, response=response, body=body, request_id=request_id)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx."""


STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The most specific error class for ``status_code``."""
    if status_code >= 500:
        return ServerError
    return STATUS_ERRORS.get(status_code, APIStatusError)


@attrs.frozen(kw_only=True)
class Problem:
    """One thing wrong with the caller's input, found before sending."""

    index: int | None
    """Position of the entity in the input (``None`` for a problem with the whole call)."""
    identifier: str | None
    """The entity's ``entity_info.identifier`` when it has one."""
    field: str
    """Path of the field inside the entity, e.g. ``data[0].financials.currency``."""
    message: str

    def __str__(self) -> str:
        where = []
        if self.index is not None:
            where.append(f"entity {self.index}")
        if self.identifier is not None:
            where.append(f"({self.identifier!r})")
        prefix = " ".join(where)
        location = f"{prefix}: {self.field}" if prefix else self.field
        return f"{location}: {self.message}"


class EntityValidationError(EmmiError, ValueError):
    """The input failed validation before anything was sent; ``problems`` lists every issue."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems[:50])
        more = f"\n  ... and {count - 50} more" if count > 50 else ""
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} in the input, nothing was sent:\n{lines}{more}")

    def __reduce__(self) -> Any:
        return (type(self), (self.problems,))


class MissingAttributionError(EmmiError, ValueError):
    """A request needs a customer (account model) or end user (multi tenant) that is not set."""


class MissingAPIKeyError(EmmiError, ValueError):
    """A keyed endpoint was called on a client with no API key configured.

    Pass ``api_key=`` or ``auth=`` to the client, or set ``EMMI_API_KEY``.
    """


class JournalMismatchError(EmmiError, ValueError):
    """The batch journal was written for another operation or another input."""


class PortalThreadError(EmmiError, RuntimeError):
    """A blocking call was made from the client's own event-loop thread.

    It would wait for the loop it is blocking: that is a deadlock, so it is refused.
    Code that runs in that thread (``on_progress`` callbacks, ``attribute=`` callables,
    the entity iterable of a batch) must not call the blocking client.
    """


class BatchDeadlineError(EmmiError):
    """The batch's deadline passed before this entity got an answer."""


class BatchAbortedError(EmmiError):
    """The runner stopped sending (the server kept failing, or refused the key).

    ``cause`` is the error that made it stop; the entity itself was not sent again.
    """

    def __init__(self, message: str, cause: BaseException) -> None:
        super().__init__(message)
        self.cause = cause
