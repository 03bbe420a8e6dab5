"""emmi-async: the async-first Python SDK for the EMMI climate analytics API."""

from emmi_async import models
from emmi_async._client import AsyncEmmi
from emmi_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    EmmiError,
    EntityValidationError,
    EventLoopMismatchError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    Problem,
    RateLimitError,
    ResponseMismatchError,
    ServerError,
    ValidationError,
)
from emmi_async._response import APIResponse, RateLimitInfo
from emmi_async._sync_support import PortalThreadError
from emmi_async._version import __version__
from emmi_async.auth import (
    AccountCustomerAuth,
    MissingAttributionError,
    MultiTenantAuth,
    SingleTenantAuth,
    auth_from_key,
)
from emmi_async.batch import (
    BatchAbortedError,
    BatchDeadlineError,
    BatchEvent,
    BatchReport,
    BatchRunner,
    BatchStats,
    Outcome,
)
from emmi_async.sync import Emmi

__all__ = [
    "APIConnectionError",
    "APIResponse",
    "AccountCustomerAuth",
    "AsyncEmmi",
    "BatchAbortedError",
    "BatchDeadlineError",
    "BatchEvent",
    "BatchReport",
    "BatchRunner",
    "BatchStats",
    "Emmi",
    "MissingAttributionError",
    "MultiTenantAuth",
    "Outcome",
    "PortalThreadError",
    "RateLimitInfo",
    "SingleTenantAuth",
    "auth_from_key",
    "models",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "EmmiError",
    "EntityValidationError",
    "EventLoopMismatchError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Problem",
    "RateLimitError",
    "ResponseMismatchError",
    "ServerError",
    "ValidationError",
    "__version__",
]
