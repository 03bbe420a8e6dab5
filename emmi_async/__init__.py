"""emmi-async: the async-first Python SDK for the EMMI climate analytics API."""

from __future__ import annotations

import warnings
from typing import Any

from emmi_async import models
from emmi_async._client import AsyncEmmi
from emmi_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchAbortedError,
    BatchDeadlineError,
    ClientClosedError,
    ConflictError,
    EmmiError,
    EntityValidationError,
    EventLoopMismatchError,
    JournalMismatchError,
    MalformedResponseError,
    MissingAPIKeyError,
    MissingAttributionError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PortalThreadError,
    Problem,
    RateLimitError,
    ResponseMismatchError,
    ServerError,
    UnprocessableEntityError,
)
from emmi_async._response import APIResponse, RateLimitInfo, RawResponse, ResultList
from emmi_async._settings import HttpBackend
from emmi_async._types import NOT_GIVEN, NotGiven
from emmi_async._version import __version__
from emmi_async.auth import (
    AccountCustomerAuth,
    MultiTenantAuth,
    SingleTenantAuth,
    auth_from_key,
)
from emmi_async.batch import (
    BatchEvent,
    BatchReport,
    BatchRunner,
    BatchStats,
    Outcome,
)
from emmi_async.models import ResponseDecodeError
from emmi_async.sync import Emmi

__all__ = [
    "APIConnectionError",
    "APIResponse",
    "APIStatusError",
    "APITimeoutError",
    "AccountCustomerAuth",
    "AsyncEmmi",
    "AuthenticationError",
    "BadRequestError",
    "BatchAbortedError",
    "BatchDeadlineError",
    "BatchEvent",
    "BatchReport",
    "BatchRunner",
    "BatchStats",
    "ClientClosedError",
    "ConflictError",
    "Emmi",
    "EmmiError",
    "EntityValidationError",
    "EventLoopMismatchError",
    "HttpBackend",
    "JournalMismatchError",
    "MalformedResponseError",
    "MissingAPIKeyError",
    "MissingAttributionError",
    "MultiTenantAuth",
    "NOT_GIVEN",
    "NotFoundError",
    "NotGiven",
    "Outcome",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PortalThreadError",
    "Problem",
    "RateLimitError",
    "RateLimitInfo",
    "RawResponse",
    "ResponseDecodeError",
    "ResponseMismatchError",
    "ResultList",
    "ServerError",
    "SingleTenantAuth",
    "UnprocessableEntityError",
    "__version__",
    "auth_from_key",
    "models",
]

_DEPRECATED = {"ValidationError": ("UnprocessableEntityError", UnprocessableEntityError)}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        new_name, value = _DEPRECATED[name]
        warnings.warn(
            f"emmi_async.{name} is deprecated; use emmi_async.{new_name} "
            "(a 422 from the server, not the client's own EntityValidationError)",
            DeprecationWarning,
            stacklevel=2,
        )
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
