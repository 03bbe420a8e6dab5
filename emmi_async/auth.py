"""Authentication strategies for the three EMMI auth models.

Each strategy is an :class:`httpx.Auth`, so it also works with a plain ``httpx`` client.
Keys and header values are validated at construction: a bad key raises ``ValueError``
whose message never contains the key, and no header value can carry CR, LF or
non-ASCII characters. ``repr``/``str`` show at most the key's prefix and last four
characters.

Which headers a request gets depends on its *scope*: ``"public"`` (health and service
info: no key at all), ``"account"`` (customers, usage: the key, and the end user under
multi tenant) and ``"data"`` (analysis endpoints and hazards: everything the model needs,
including ``X-Customer-ID`` under the account model).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Generator, Mapping
from typing import Literal, TypeAlias

import httpx

from emmi_async._exceptions import MissingAttributionError

__all__ = [
    "AccountCustomerAuth",
    "AuthScope",
    "EmmiAuth",
    "Environment",
    "MissingAttributionError",
    "MultiTenantAuth",
    "SingleTenantAuth",
    "auth_from_key",
]

AuthScope: TypeAlias = Literal["public", "account", "data"]
Environment: TypeAlias = Literal["live", "test"]
HeaderPairs: TypeAlias = tuple[tuple[str, str], ...]

#: The ``request.extensions`` key that carries a request's auth scope.
SCOPE_EXTENSION = "emmi_auth_scope"

_ACCOUNT_KEY = re.compile(r"emmi_sk_[A-Za-z0-9_-]{64}")
_TENANT_KEY = re.compile(r"sk_(live|test)_(single|multi)_[A-Za-z0-9_-]+_[A-Za-z0-9]+")
_END_USER_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


def redact_key(api_key: str) -> str:
    """The key as it may be shown: its known prefix and last four characters."""
    if api_key.startswith("emmi_sk_"):
        prefix = "emmi_sk_"
    else:
        match = re.match(r"sk_(live|test)_(single|multi)_", api_key)
        prefix = match.group(0) if match else ""
    tail = api_key[-4:] if len(api_key) >= len(prefix) + 12 else ""
    return f"{prefix}...{tail}"


def _check_key_text(api_key: object) -> str:
    if not isinstance(api_key, str):
        raise TypeError(f"api_key must be a str, not {type(api_key).__name__}")
    if not api_key:
        raise ValueError("api_key is empty")
    if not _HEADER_SAFE.fullmatch(api_key):
        raise ValueError(
            "api_key contains whitespace, control or non-ASCII characters "
            "(check for a stray newline or space when it was copied)"
        )
    return api_key


def _classify(api_key: str) -> tuple[Literal["account", "single", "multi"], Environment]:
    """The auth model and environment a key's format names; ``ValueError`` if none."""
    if _ACCOUNT_KEY.fullmatch(api_key):
        # Account keys carry no live/test marker; EMMI issues them for production.
        return "account", "live"
    match = _TENANT_KEY.fullmatch(api_key)
    if match:
        environment: Environment = "live" if match.group(1) == "live" else "test"
        tenancy: Literal["single", "multi"] = "single" if match.group(2) == "single" else "multi"
        return tenancy, environment
    raise ValueError(
        f"api_key {redact_key(api_key)!r} matches no EMMI key format "
        "(emmi_sk_ + 64 characters, sk_{live,test}_single_..., sk_{live,test}_multi_...)"
    )


def _check_customer_id(customer_id: object) -> str:
    if isinstance(customer_id, uuid.UUID):
        return str(customer_id)
    if not isinstance(customer_id, str):
        raise TypeError(f"customer_id must be a UUID or str, not {type(customer_id).__name__}")
    try:
        return str(uuid.UUID(customer_id))
    except ValueError:
        shown = customer_id if _HEADER_SAFE.fullmatch(customer_id) else ascii(customer_id)
        raise ValueError(
            f"customer_id must be the EMMI customer UUID returned by customers.create(), "
            f"got {shown[:80]!r}"
        ) from None


def check_end_user_id(end_user_id: object) -> str:
    """``end_user_id`` if it follows the documented rules, else ``ValueError``/``TypeError``."""
    if not isinstance(end_user_id, str):
        raise TypeError(f"end_user_id must be a str, not {type(end_user_id).__name__}")
    if not _END_USER_ID.fullmatch(end_user_id):
        raise ValueError(
            "end_user_id must be 1 to 255 characters of A-Z a-z 0-9 _ -, "
            f"got {end_user_id[:80]!a} ({len(end_user_id)} characters)"
        )
    return end_user_id


class EmmiAuth(httpx.Auth):
    """Base of the EMMI strategies: a key plus fixed headers per request scope."""

    _model: Literal["account", "single", "multi"]
    _api_key: str
    _environment: Environment
    _headers: Mapping[AuthScope, HeaderPairs]

    def __init__(self, api_key: str) -> None:
        api_key = _check_key_text(api_key)
        model, environment = _classify(api_key)
        if model != self._model:
            raise ValueError(
                f"{type(self).__name__} needs a {self._model} key, but {redact_key(api_key)!r} "
                f"is a {model} key: use {_STRATEGY_NAMES[model]} (or auth_from_key())"
            )
        self._api_key = api_key
        self._environment = environment

    def _build_headers(self, account: HeaderPairs, data: HeaderPairs) -> None:
        key = (("X-API-Key", self._api_key),)
        self._headers = {"public": (), "account": key + account, "data": key + data}

    @property
    def environment(self) -> Environment:
        """``"live"`` for production keys, ``"test"`` for sandbox keys."""
        return self._environment

    @property
    def redacted_key(self) -> str:
        """The key as it may be shown in logs: prefix and last four characters."""
        return redact_key(self._api_key)

    def headers(self, scope: AuthScope) -> HeaderPairs:
        """The headers a request of ``scope`` carries; raises if the scope needs more."""
        return self._headers[scope]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        scope = request.extensions.get(SCOPE_EXTENSION, "data")
        for name, value in self.headers(scope):
            request.headers[name] = value
        yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()})"

    __str__ = __repr__

    def _describe(self) -> str:
        return f"api_key={self.redacted_key!r}"


class SingleTenantAuth(EmmiAuth):
    """One organisation, all usage attributed to it: ``X-API-Key`` only."""

    _model = "single"

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key)
        self._build_headers((), ())


class MultiTenantAuth(EmmiAuth):
    """A platform key: ``X-API-Key`` plus ``X-End-User-Id`` on every request.

    ``end_user_id`` may be left out on a root client that only hands out
    ``client.for_end_user(id)`` views; a request without one raises
    :class:`MissingAttributionError` before anything is sent.
    """

    _model = "multi"

    def __init__(self, api_key: str, end_user_id: str | None = None) -> None:
        super().__init__(api_key)
        self._end_user_id = None if end_user_id is None else check_end_user_id(end_user_id)
        user = () if self._end_user_id is None else (("X-End-User-Id", self._end_user_id),)
        self._build_headers(user, user)

    @property
    def end_user_id(self) -> str | None:
        return self._end_user_id

    def headers(self, scope: AuthScope) -> HeaderPairs:
        if scope != "public" and self._end_user_id is None:
            raise MissingAttributionError(
                "a multi-tenant key needs an end user on every request: pass end_user_id= "
                "to MultiTenantAuth or AsyncEmmi, or call client.for_end_user(id)"
            )
        return self._headers[scope]

    def for_end_user(self, end_user_id: str) -> MultiTenantAuth:
        """The same key on behalf of another end user."""
        return MultiTenantAuth(self._api_key, end_user_id)

    def _describe(self) -> str:
        return f"{super()._describe()}, end_user_id={self._end_user_id!r}"


class AccountCustomerAuth(EmmiAuth):
    """An account key, with ``X-Customer-ID`` on every data and analysis endpoint.

    ``customer_id`` may be left out for the customers and usage endpoints; a data call
    without one raises :class:`MissingAttributionError` before anything is sent.
    """

    _model = "account"

    def __init__(self, api_key: str, customer_id: str | uuid.UUID | None = None) -> None:
        super().__init__(api_key)
        self._customer_id = None if customer_id is None else _check_customer_id(customer_id)
        data = () if self._customer_id is None else (("X-Customer-ID", self._customer_id),)
        self._build_headers((), data)

    @property
    def customer_id(self) -> str | None:
        return self._customer_id

    def for_customer(self, customer_id: str | uuid.UUID) -> AccountCustomerAuth:
        """The same key on behalf of another customer."""
        return AccountCustomerAuth(self._api_key, customer_id)

    def headers(self, scope: AuthScope) -> HeaderPairs:
        if scope == "data" and self._customer_id is None:
            raise MissingAttributionError(
                "this endpoint needs a customer under the account model: pass customer_id= "
                "to AccountCustomerAuth or AsyncEmmi, or call client.for_customer(uuid) "
                "(register one with client.customers.create(external_id=...))"
            )
        return self._headers[scope]

    def _describe(self) -> str:
        return f"{super()._describe()}, customer_id={self._customer_id!r}"


_STRATEGY_NAMES = {
    "account": "AccountCustomerAuth",
    "single": "SingleTenantAuth",
    "multi": "MultiTenantAuth",
}


def auth_from_key(
    api_key: str,
    *,
    customer_id: str | uuid.UUID | None = None,
    end_user_id: str | None = None,
) -> EmmiAuth:
    """The strategy that the key's format names, configured with the ids given."""
    model, _ = _classify(_check_key_text(api_key))
    if model == "account":
        if end_user_id is not None:
            raise ValueError("end_user_id is for multi-tenant keys; this is an account key")
        return AccountCustomerAuth(api_key, customer_id)
    if customer_id is not None:
        raise ValueError(f"customer_id is for account keys; this is a {model}-tenant key")
    if model == "single":
        if end_user_id is not None:
            raise ValueError("end_user_id is for multi-tenant keys; this is a single-tenant key")
        return SingleTenantAuth(api_key)
    return MultiTenantAuth(api_key, end_user_id)
