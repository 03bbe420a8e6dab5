"""emmi-async: the async-first Python SDK for the EMMI climate analytics API.

Names are imported on first use (PEP 562), so ``import emmi_async`` (which the pytest
plugin's import implies in every test run) costs next to nothing until a name is used.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "APIConnectionError": "emmi_async._exceptions",
    "APIResponse": "emmi_async._response",
    "APIStatusError": "emmi_async._exceptions",
    "APITimeoutError": "emmi_async._exceptions",
    "AccountCustomerAuth": "emmi_async.auth",
    "AsyncEmmi": "emmi_async._client",
    "AuthenticationError": "emmi_async._exceptions",
    "BadRequestError": "emmi_async._exceptions",
    "BatchAbortedError": "emmi_async._exceptions",
    "BatchDeadlineError": "emmi_async._exceptions",
    "BatchEvent": "emmi_async.batch",
    "BatchReport": "emmi_async.batch",
    "BatchRunner": "emmi_async.batch",
    "BatchStats": "emmi_async.batch",
    "ClientClosedError": "emmi_async._exceptions",
    "ConflictError": "emmi_async._exceptions",
    "Emmi": "emmi_async.sync",
    "EmmiError": "emmi_async._exceptions",
    "EntityValidationError": "emmi_async._exceptions",
    "EventLoopMismatchError": "emmi_async._exceptions",
    "HttpBackend": "emmi_async._settings",
    "JournalMismatchError": "emmi_async._exceptions",
    "MalformedResponseError": "emmi_async._exceptions",
    "MissingAPIKeyError": "emmi_async._exceptions",
    "MissingAttributionError": "emmi_async._exceptions",
    "MultiTenantAuth": "emmi_async.auth",
    "NOT_GIVEN": "emmi_async._types",
    "NotFoundError": "emmi_async._exceptions",
    "NotGiven": "emmi_async._types",
    "Outcome": "emmi_async.batch",
    "PayloadTooLargeError": "emmi_async._exceptions",
    "PermissionDeniedError": "emmi_async._exceptions",
    "PortalThreadError": "emmi_async._exceptions",
    "Problem": "emmi_async._exceptions",
    "RateLimitError": "emmi_async._exceptions",
    "RateLimitInfo": "emmi_async._response",
    "RawResponse": "emmi_async._response",
    "ResponseDecodeError": "emmi_async.models",
    "ResponseMismatchError": "emmi_async._exceptions",
    "ResultList": "emmi_async._response",
    "ServerError": "emmi_async._exceptions",
    "SingleTenantAuth": "emmi_async.auth",
    "UnprocessableEntityError": "emmi_async._exceptions",
    "__version__": "emmi_async._version",
    "auth_from_key": "emmi_async.auth",
    "models": "emmi_async.models",
}
"""Where each public name lives."""

_DEPRECATED = {"ValidationError": "UnprocessableEntityError"}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        new_name = _DEPRECATED[name]
        warnings.warn(
            f"emmi_async.{name} is deprecated; use emmi_async.{new_name} "
            "(a 422 from the server, not the client's own EntityValidationError)",
            DeprecationWarning,
            stacklevel=2,
        )
        return __getattr__(new_name)
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(home)
    value = module if home == f"{__name__}.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
