"""The client a command talks through: the real service (flags or ``EMMI_*``) or the
embedded reference server (``--reference-server``), checked before anything is read.

The API key is never printed: error messages name the flag or variable, not the value.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Literal

from emmi_async import AsyncEmmi
from emmi_async._exceptions import (
    APIStatusError,
    AuthenticationError,
    BatchAbortedError,
    PermissionDeniedError,
)
from emmi_async._settings import resolve_auth, resolve_base_url
from emmi_async.auth import AccountCustomerAuth, MultiTenantAuth
from emmi_async.cli._errors import CliError

if TYPE_CHECKING:
    from emmi_async.testing import ReferenceServer

__all__ = [
    "MISSING_KEY",
    "AuthModel",
    "check_credentials",
    "credential_message",
    "make_reference_server",
    "open_client",
    "refused_credentials",
]

AuthModel = Literal["single", "multi", "account"]

MISSING_KEY = """no API key. Either:
  - give your EMMI key: set EMMI_API_KEY (safer than --api-key, which other users can
    see in the process list); an account key (emmi_sk_...) also needs EMMI_CUSTOMER_ID
    or --customer-id, a multi-tenant key (sk_..._multi_...) EMMI_END_USER_ID or
    --end-user-id; or
  - add --reference-server to run against the embedded reference server: no key, no
    network, deterministic stand-in results (for trying the CLI and for tests)."""


def _key(args: argparse.Namespace) -> str | None:
    key: str | None = args.api_key
    if key is None:
        key = os.environ.get("EMMI_API_KEY", "").strip() or None
    return key


def check_credentials(args: argparse.Namespace, *, data: bool = True) -> None:
    """Raise :class:`CliError` (exit 2) unless the command can authenticate.

    ``data``: the command calls data endpoints, which need the customer (account key) or
    end user (multi-tenant key) as well as the key.
    """
    if args.reference_server:
        given = [
            flag
            for flag, value in (("--api-key", args.api_key), ("--base-url", args.base_url))
            if value is not None
        ]
        if given:
            raise CliError(f"--reference-server runs without a key or URL: drop {given[0]}")
        return
    key = _key(args)
    if key is None:
        raise CliError(MISSING_KEY)
    try:
        auth = resolve_auth(None, key, args.customer_id, args.end_user_id)
        resolve_base_url(args.base_url)
    except (TypeError, ValueError) as exc:
        raise CliError(f"the API settings are not valid: {exc}") from None
    if not data:
        return
    if isinstance(auth, AccountCustomerAuth) and auth.customer_id is None:
        raise CliError(
            "an account key (emmi_sk_...) needs a customer: pass --customer-id or set "
            "EMMI_CUSTOMER_ID (register one with: emmi customers create EXTERNAL_ID)"
        )
    if isinstance(auth, MultiTenantAuth) and auth.end_user_id is None:
        raise CliError(
            "a multi-tenant key needs an end user: pass --end-user-id or set EMMI_END_USER_ID"
        )


def _client(args: argparse.Namespace, max_connections: int) -> AsyncEmmi:
    return AsyncEmmi(
        api_key=args.api_key,
        customer_id=args.customer_id,
        end_user_id=args.end_user_id,
        base_url=args.base_url,
        max_connections=max_connections,
    )


def make_reference_server(latency_ms: float = 0.0) -> ReferenceServer:
    """The in-process reference server of ``--reference-server`` (tests replace this)."""
    try:
        from emmi_async.testing import FaultConfig, ReferenceServer
    except ImportError as exc:  # pragma: no cover - the in-process server needs no extra
        raise CliError(f"the reference server is not available: {exc}") from None
    faults = FaultConfig(latency_ms=latency_ms) if latency_ms > 0 else None
    return ReferenceServer(faults=faults)


@asynccontextmanager
async def open_client(
    args: argparse.Namespace,
    *,
    max_connections: int = 64,
    model: AuthModel = "single",
) -> AsyncIterator[AsyncEmmi]:
    """An open client per the arguments (call :func:`check_credentials` first).

    With ``--reference-server`` the client uses the server's key of ``model`` (``account``
    registers the customer ``default``).
    """
    if args.reference_server:
        server = make_reference_server(getattr(args, "reference_latency_ms", 0.0) or 0.0)
        async with server, server.client(model, max_connections=max_connections) as client:
            yield client
        return
    async with _client(args, max_connections) as client:
        yield client


def refused_credentials(error: BaseException | None) -> APIStatusError | None:
    """The 401 or 403 behind ``error`` (an outcome's error, an aborted run's cause, or an
    exception group holding one), else ``None``.

    Either answer is about the credentials, not the entity: every later request gets it
    too, so a command stops at the first one.
    """
    if error is None:
        return None
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return error
    if isinstance(error, BatchAbortedError):
        return refused_credentials(error.cause)
    for sub in getattr(error, "exceptions", ()):
        found = refused_credentials(sub)
        if found is not None:
            return found
    return None


def _source(flag_value: object, flag: str, variable: str) -> str:
    return flag if flag_value is not None else variable


def _said(error: APIStatusError, key: str | None) -> str:
    """What the service said, on one line, with the key masked should it echo it."""
    message = error.error.get("message")
    text = message if isinstance(message, str) and message else str(error)
    text = " ".join(text.split())
    if key:
        text = text.replace(key, "***")
    where = f"HTTP {error.status_code}"
    if error.request_id:
        where += f", request id {error.request_id}"
    return f"{text} ({where})"


def credential_message(error: APIStatusError, args: argparse.Namespace) -> str:
    """The one message for a refused key (401) or a refused customer or end user (403):
    which credential to check, and where it came from. Never the key itself."""
    key = None if args.reference_server else _key(args)
    said = _said(error, key)
    key_source = _source(args.api_key, "--api-key", "EMMI_API_KEY")
    if error.status_code == 401:
        return (
            f"the API refused the key: {said}.\nCheck the API key ({key_source}): the "
            "service does not accept it. The run stopped."
        )
    auth = None
    if key is not None:
        try:
            auth = resolve_auth(None, key, args.customer_id, args.end_user_id)
        except (TypeError, ValueError):  # pragma: no cover - checked before the run
            auth = None
    if isinstance(auth, AccountCustomerAuth):
        source = _source(args.customer_id, "--customer-id", "EMMI_CUSTOMER_ID")
        what = (
            f"the customer id {auth.customer_id} ({source}): it must be a customer of this "
            "account key (see: emmi customers list)"
        )
    elif isinstance(auth, MultiTenantAuth):
        source = _source(args.end_user_id, "--end-user-id", "EMMI_END_USER_ID")
        what = f"the end-user id {auth.end_user_id!r} ({source}): this key may not act for it"
    else:
        what = f"the API key ({key_source}): it is not allowed to make this call"
    return f"the API refused access: {said}.\nCheck {what}. The run stopped."
