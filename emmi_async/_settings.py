"""Resolving client settings: explicit arguments first, then ``EMMI_*`` environment variables."""

from __future__ import annotations

import os
import uuid
from typing import Literal, TypeAlias

import httpx

from emmi_async.auth import AccountCustomerAuth, EmmiAuth, MultiTenantAuth, auth_from_key

__all__ = [
    "DEFAULT_BASE_URL",
    "HTTP_BACKENDS",
    "HttpBackend",
    "resolve_auth",
    "resolve_base_url",
    "resolve_http_backend",
]

HttpBackend: TypeAlias = Literal["auto", "aiohttp", "httpx"]
"""Which HTTP implementation carries requests: ``"auto"`` is aiohttp under asyncio and
httpx's own pool under trio; ``"httpx"`` is httpx's own pool everywhere (what respx,
pytest-httpx and OpenTelemetry's httpx instrumentation see); ``"aiohttp"`` insists on
aiohttp (asyncio only)."""

HTTP_BACKENDS: tuple[HttpBackend, ...] = ("auto", "aiohttp", "httpx")

DEFAULT_BASE_URL = "https://app.emmi.io/api/v1"


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def resolve_auth(
    auth: EmmiAuth | None,
    api_key: str | None,
    customer_id: str | uuid.UUID | None,
    end_user_id: str | None,
) -> EmmiAuth | None:
    """The strategy to use: ``auth`` as given, else one built from the key's format.

    Returns ``None`` when no key is configured at all (only keyless endpoints work then).
    """
    if auth is not None:
        if api_key is not None or customer_id is not None or end_user_id is not None:
            raise ValueError(
                "pass either auth= or api_key=/customer_id=/end_user_id=, not both "
                "(use client.for_customer() / client.for_end_user() to re-target)"
            )
        if not isinstance(auth, EmmiAuth):
            raise TypeError(
                "auth must be AccountCustomerAuth, SingleTenantAuth or MultiTenantAuth, "
                f"not {type(auth).__name__}"
            )
        return auth
    api_key = api_key if api_key is not None else _env("EMMI_API_KEY")
    if api_key is None:
        return None
    resolved = auth_from_key(api_key, customer_id=customer_id, end_user_id=end_user_id)
    # An id from the environment applies only to the key model that uses it, so that a
    # stray EMMI_CUSTOMER_ID does not break a client built with a tenant key (or vice versa).
    if isinstance(resolved, AccountCustomerAuth) and customer_id is None:
        env_customer = _env("EMMI_CUSTOMER_ID")
        if env_customer is not None:
            resolved = resolved.for_customer(env_customer)
    if isinstance(resolved, MultiTenantAuth) and end_user_id is None:
        env_end_user = _env("EMMI_END_USER_ID")
        if env_end_user is not None:
            resolved = resolved.for_end_user(env_end_user)
    return resolved


def resolve_base_url(base_url: str | httpx.URL | None) -> httpx.URL:
    """The API root (``.../api/v1``) as an absolute http(s) URL without a trailing slash."""
    if base_url is None:
        base_url = _env("EMMI_BASE_URL") or DEFAULT_BASE_URL
    try:
        url = httpx.URL(str(base_url))
    except httpx.InvalidURL as exc:
        raise ValueError(f"base_url is not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {str(base_url)!r}")
    if url.query or url.fragment:
        raise ValueError("base_url must not carry a query or fragment")
    return url.copy_with(raw_path=url.raw_path.rstrip(b"/") or b"")


def resolve_http_backend(http_backend: str | None) -> HttpBackend:
    """``http_backend`` as given, else ``EMMI_HTTP_BACKEND``, else ``"auto"``; checked."""
    source = "http_backend"
    if http_backend is None:
        http_backend, source = _env("EMMI_HTTP_BACKEND"), "EMMI_HTTP_BACKEND"
    if http_backend is None:
        return "auto"
    value = http_backend.lower() if isinstance(http_backend, str) else http_backend
    for backend in HTTP_BACKENDS:
        if value == backend:
            return backend
    raise ValueError(f"{source} must be one of {', '.join(HTTP_BACKENDS)}; got {http_backend!r}")
