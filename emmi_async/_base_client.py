"""The transport layer: one request pipeline over a shared pool, and cheap views of it.

Every request goes through :meth:`BaseClient.request`: build (prebuilt headers, cached
URLs), auth, send through the pool's gate, retry, map errors, decode JSON. Resources call
it and know nothing of retries or pools.
"""

from __future__ import annotations

import importlib.util
import logging
import platform
import re
import time
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar

import anyio
import httpx
import orjson

from emmi_async import _telemetry
from emmi_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    EmmiError,
    MalformedResponseError,
    MissingAPIKeyError,
    RateLimitError,
    status_error_class,
)
from emmi_async._logging import logger, setup_from_env
from emmi_async._pool import Pool
from emmi_async._response import APIResponse, RateLimitInfo, record
from emmi_async._retry import RetryPolicy, call_delay, parse_retry_after
from emmi_async._settings import (
    HttpBackend,
    resolve_auth,
    resolve_base_url,
    resolve_http_backend,
)
from emmi_async._types import NOT_GIVEN, NotGiven
from emmi_async._version import __version__
from emmi_async.auth import (
    SCOPE_EXTENSION,
    AccountCustomerAuth,
    AuthScope,
    EmmiAuth,
    MultiTenantAuth,
    redact_key,
)

__all__ = ["DEFAULT_TIMEOUT", "BaseClient", "MalformedResponseError", "parse_body", "share_pool"]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
"""Reads may take a minute (100-entity analyses), connects fail fast. The pool timeout
equals the read timeout and cannot fire: the pool's gate never admits more requests
than the pool has connections."""

DEFAULT_MAX_CONNECTIONS = 64
USER_AGENT = (
    f"emmi-async/{__version__} Python/{platform.python_version()} httpx/{httpx.__version__}"
)

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")
_RESERVED_HEADERS = frozenset({"x-api-key", "x-customer-id", "x-end-user-id"})

ClientT = TypeVar("ClientT", bound="BaseClient")


def _check_headers(headers: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    if headers is None:
        return ()
    checked = []
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(f"header name {name!r} is not a valid HTTP token")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(
                f"header {name} is set by the auth strategy; configure it through auth= "
                "or client.for_customer() / client.for_end_user()"
            )
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise ValueError(f"header {name}: value must be printable ASCII without CR or LF")
        checked.append((name, value))
    return tuple(checked)


def _check_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return httpx.Timeout(float(timeout), connect=min(5.0, float(timeout)))


def _check_max_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
    return max_retries


class _SecretHeaders(tuple[tuple[str, str], ...]):
    """Header pairs whose repr hides the key (they sit in locals that tracebacks show)."""

    def __repr__(self) -> str:
        shown = [
            (name, redact_key(value) if name.lower() == "x-api-key" else value)
            for name, value in self
        ]
        return f"_SecretHeaders({shown!r})"


_READ = httpx.ByteStream(b"")
"""The stream of every response once read (see ``BaseClient._send_once``)."""


def _redact_request(request: httpx.Request) -> None:
    """Replace the key in a sent request, before the request outlives the call."""
    key = request.headers.get("x-api-key")
    if key is not None:
        request.headers["x-api-key"] = redact_key(key)


class BaseClient:
    """Settings, the shared :class:`Pool`, and the request pipeline.

    Instances made by :meth:`_view` share the pool: they cost a few small objects, hold
    no connection of their own, and their ``aclose()`` leaves the pool open.
    """

    _pool: Pool
    _auth: EmmiAuth | None
    _base_url: httpx.URL
    _customers_url: httpx.URL
    _timeout: httpx.Timeout
    _max_retries: int
    _headers: tuple[tuple[str, str], ...]
    _retry_policy: RetryPolicy
    _owns_pool: bool
    _urls: dict[str, httpx.URL]
    _prepared: dict[tuple[AuthScope, bool], _SecretHeaders]
    _extensions: dict[AuthScope, dict[str, Any]]

    def __init__(
        self,
        *,
        auth: EmmiAuth | None = None,
        api_key: str | None = None,
        customer_id: str | uuid.UUID | None = None,
        end_user_id: str | None = None,
        base_url: str | httpx.URL | None = None,
        customers_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        http2: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
        http_backend: HttpBackend | None = None,
    ) -> None:
        setup_from_env()
        backend = resolve_http_backend(http_backend)
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise TypeError(f"max_connections must be an int, got {max_connections!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        if http2 and http_client is None and importlib.util.find_spec("h2") is None:
            raise ImportError("http2=True needs the h2 package: pip install 'emmi-async[http2]'")
        if transport is not None and http_client is not None:
            raise ValueError("pass transport= or http_client=, not both")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError("http_client must be an httpx.AsyncClient")
        self._auth = resolve_auth(auth, api_key, customer_id, end_user_id)
        self._base_url = resolve_base_url(base_url)
        self._customers_url = (
            self._base_url.copy_with(raw_path=self._base_url.raw_path + b"/customers")
            if customers_url is None
            else resolve_base_url(customers_url)
        )
        self._urls = {}
        self._timeout = _check_timeout(timeout)
        self._max_retries = _check_max_retries(max_retries)
        self._headers = _check_headers(default_headers)
        self._retry_policy = RetryPolicy()
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,  # keep-alive = max: nothing churns
        )
        self._pool = Pool(
            limits=limits,
            http2=http2,
            transport=transport,
            http_client=http_client,
            backend=backend,
        )
        self._owns_pool = True
        self._reset_caches()

    def _reset_caches(self) -> None:
        self._prepared = {}
        timeout = self._timeout.as_dict()
        self._extensions = {
            scope: {"timeout": timeout, SCOPE_EXTENSION: scope}
            for scope in ("public", "account", "data")
        }

    # -- views -------------------------------------------------------------------------

    def _view(
        self: ClientT,
        *,
        auth: EmmiAuth | NotGiven | None = NOT_GIVEN,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> ClientT:
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view._owns_pool = False
        if not isinstance(auth, NotGiven):
            view._auth = auth
        if not isinstance(timeout, NotGiven):
            view._timeout = _check_timeout(timeout)
        if not isinstance(max_retries, NotGiven):
            view._max_retries = _check_max_retries(max_retries)
        if headers:
            merged = {name.lower(): (name, value) for name, value in self._headers}
            merged.update((name.lower(), (name, value)) for name, value in _check_headers(headers))
            view._headers = tuple(merged.values())
        view._reset_caches()
        return view

    def for_customer(self: ClientT, customer_id: str | uuid.UUID) -> ClientT:
        """A view acting for another customer (account model), sharing this pool."""
        if not isinstance(self._auth, AccountCustomerAuth):
            raise TypeError(
                "for_customer() needs an account key (AccountCustomerAuth); "
                f"this client uses {type(self._auth).__name__}"
            )
        return self._view(auth=self._auth.for_customer(customer_id))

    def for_end_user(self: ClientT, end_user_id: str) -> ClientT:
        """A view acting for another end user (multi tenant), sharing this pool."""
        if not isinstance(self._auth, MultiTenantAuth):
            raise TypeError(
                "for_end_user() needs a multi-tenant key (MultiTenantAuth); "
                f"this client uses {type(self._auth).__name__}"
            )
        return self._view(auth=self._auth.for_end_user(end_user_id))

    def with_options(
        self: ClientT,
        *,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None = None,
    ) -> ClientT:
        """A view with other per-call settings, sharing this pool."""
        return self._view(timeout=timeout, max_retries=max_retries, headers=headers)

    # -- settings ------------------------------------------------------------------------

    @property
    def auth(self) -> EmmiAuth | None:
        return self._auth

    @property
    def base_url(self) -> httpx.URL:
        return self._base_url

    @property
    def timeout(self) -> httpx.Timeout:
        return self._timeout

    @property
    def max_retries(self) -> int:
        return self._max_retries

    @property
    def max_connections(self) -> int:
        return self._pool.max_connections

    @property
    def is_closed(self) -> bool:
        return self._pool.closed

    def __repr__(self) -> str:
        # getattr: tracebacks and debuggers also show a client whose __init__ raised.
        auth, base_url = getattr(self, "_auth", None), getattr(self, "_base_url", None)
        return f"{type(self).__name__}(auth={auth!r}, base_url={str(base_url)!r})"

    # -- lifecycle -----------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the pool (idempotent). On a view, does nothing: the pool is its parent's."""
        if self._owns_pool:
            await self._pool.aclose()

    async def __aenter__(self: ClientT) -> ClientT:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- the pipeline ----------------------------------------------------------------------

    def url_for(self, path: str) -> httpx.URL:
        """The full URL of an API ``path`` (``"emissions-estimates"``; ``""`` for the root)."""
        return self._url(path)

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            if path == "customers" or path.startswith("customers/"):
                root, rest = self._customers_url, path[len("customers") :]
            else:
                root, rest = self._base_url, f"/{path}" if path else ""
            url = root.copy_with(raw_path=root.raw_path + rest.encode("ascii"))
            if len(self._urls) < 256:  # fixed endpoint paths; ids in paths stay uncached
                self._urls[path] = url
        return url

    def _prepared_headers(self, scope: AuthScope, has_body: bool) -> _SecretHeaders:
        cached = self._prepared.get((scope, has_body))
        if cached is not None:
            return cached
        pairs: list[tuple[str, str]] = [("User-Agent", USER_AGENT), ("Accept", "application/json")]
        if has_body:
            pairs.append(("Content-Type", "application/json"))
        if self._headers:  # a default header replaces the SDK's own, never doubles it
            own = {name.lower() for name, _ in self._headers}
            pairs = [pair for pair in pairs if pair[0].lower() not in own]
        pairs.extend(self._headers)
        if self._auth is not None:
            pairs.extend(self._auth.headers(scope))
        elif scope != "public":
            raise MissingAPIKeyError(
                "no API key configured: pass api_key= or auth= to AsyncEmmi, or set EMMI_API_KEY"
            )
        prepared = _SecretHeaders(pairs)
        self._prepared[(scope, has_body)] = prepared
        return prepared

    async def request(
        self,
        method: Literal["GET", "POST"],
        path: str,
        *,
        scope: AuthScope,
        content: bytes | None = None,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        max_retries: int | None = None,
        parse: bool = True,
        entities: int | None = None,
    ) -> APIResponse:
        """Send one API call, retrying what is transient; the decoded 2xx response.

        ``path`` is relative to the base URL (``"emissions-estimates"``; ``""`` for the
        root). Raises an :class:`~emmi_async.APIStatusError` subclass for error statuses
        and :class:`~emmi_async.APIConnectionError` when no usable response came.
        ``parse=False`` leaves the body as bytes in ``data``, for the caller to parse when
        it needs it (:func:`parse_body`); a body that is not JSON is then not retried here.
        ``entities`` (the number of entities an analysis request carries) is recorded as
        ``emmi.entities`` on the request's OpenTelemetry spans, when a provider is set.
        """
        if json is not None:
            content = orjson.dumps(json)
        headers = self._prepared_headers(scope, content is not None)
        url = self._url(path)
        extensions = self._extensions[scope]
        retries_left = self._max_retries if max_retries is None else _check_max_retries(max_retries)
        http, gate = self._pool.acquire()
        merge_defaults = self._pool.user_client is http
        telemetry = _telemetry.current()  # None unless OpenTelemetry has a provider
        attempt = 0
        started = time.perf_counter()
        while True:
            attempt += 1
            if merge_defaults:  # a caller's own http_client: its headers, cookies, params too
                request = http.build_request(
                    method,
                    url,
                    params=params,
                    headers=headers,
                    content=content,
                    extensions=extensions,
                )
            else:
                request = httpx.Request(
                    method,
                    url,
                    params=params,
                    headers=headers,
                    content=content,
                    extensions=extensions,
                )
            sent_at = time.perf_counter()
            if telemetry is None:
                response, outcome = await self._send_once(http, gate, request, parse)
            else:  # the attempt's span and duration (one per attempt, as the conventions ask)
                response, outcome = await telemetry.send(
                    self._send_once(http, gate, request, parse),
                    method,
                    url,
                    path,
                    params,
                    attempt,
                    entities,
                )
            if isinstance(outcome, APIResponse.Data):
                assert response is not None
                if logger.isEnabledFor(logging.DEBUG):
                    self._log_response(method, url, response, sent_at, attempt)
                result = APIResponse(
                    data=outcome.value,
                    status_code=response.status_code,
                    request_id=response.headers.get("x-request-id"),
                    rate_limit=RateLimitInfo.from_headers(response.headers),
                    attempts=attempt,
                    elapsed=time.perf_counter() - started,
                    http_response=response,
                )
                record(result)
                return result
            if response is not None and logger.isEnabledFor(logging.DEBUG):
                self._log_response(method, url, response, sent_at, attempt)
            delay = self._retry_delay(outcome, response, attempt - 1, retries_left)
            if delay is None:
                outcome.attempts = attempt
                raise outcome
            retries_left -= 1
            logger.info(
                "retrying %s %s in %.2f s (attempt %d failed: %s)",
                method,
                url.path,
                delay,
                attempt,
                _reason(outcome),
            )
            await anyio.sleep(delay)

    @staticmethod
    async def _send_once(
        http: httpx.AsyncClient, gate: anyio.CapacityLimiter, request: httpx.Request, parse: bool
    ) -> tuple[httpx.Response | None, APIResponse.Data | EmmiError]:
        """Send ``request`` once: the response (if any) and its decoded body or error."""
        try:
            async with gate:
                response = await http.send(request)
            # httpx binds a response's stream to the response (``BoundAsyncStream``), a
            # reference cycle: the body (190 KB for 100 results) would wait for the cyclic
            # GC, so each body came from fresh pages (47 page faults per request, 1.4 µs of
            # CPU per entity; benchmarks/README.md, "Tables (session 6)"). The body is
            # read and the stream closed or done with: nothing is left to stream.
            response.stream = _READ
        except httpx.TimeoutException as exc:
            message = f"{_where(request)}: timed out ({type(exc).__name__})"
            return None, APITimeoutError(message, request=request)
        except httpx.TransportError as exc:
            message = f"{_where(request)}: {type(exc).__name__}: {exc}"
            return None, APIConnectionError(message, request=request)
        except httpx.DecodingError as exc:
            message = f"{_where(request)}: a body that cannot be decoded ({exc})"
            return None, MalformedResponseError(message, request=request)
        finally:
            _redact_request(request)
        if not response.is_success:
            return response, make_status_error(response)
        if not parse:
            return response, APIResponse.Data(response.content)
        try:
            return response, APIResponse.Data(_loads(response))
        except MalformedResponseError as error:
            return response, error

    def _retry_delay(
        self,
        error: EmmiError,
        response: httpx.Response | None,
        retries_so_far: int,
        retries_left: int,
    ) -> float | None:
        """Seconds to wait before retrying, or ``None`` to raise ``error`` now (the rule is
        :func:`~emmi_async._retry.call_delay`)."""
        del response  # the error carries the server's Retry-After
        return call_delay(
            error,
            retries_left=retries_left,
            backoff=self._retry_policy.backoff(retries_so_far),
            max_retry_after=self._retry_policy.max_retry_after,
        )

    @staticmethod
    def _log_response(
        method: str, url: httpx.URL, response: httpx.Response, sent_at: float, attempt: int
    ) -> None:
        logger.debug(
            "%s %s -> %d in %.1f ms (attempt %d, request id %s)",
            method,
            url.path,
            response.status_code,
            (time.perf_counter() - sent_at) * 1000.0,
            attempt,
            response.headers.get("x-request-id"),
        )


def share_pool(first: BaseClient, second: BaseClient) -> bool:
    """Whether two clients (or views) send through the same connection pool."""
    return first._pool is second._pool


def parse_body(response: APIResponse) -> Any:
    """The JSON of a response fetched with ``parse=False`` (``None`` for an empty body).

    Raises :class:`MalformedResponseError` (with ``attempts`` set) when it is not JSON.
    """
    try:
        return _loads(response.http_response)
    except MalformedResponseError as error:
        error.attempts = response.attempts
        raise


def _loads(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError as exc:
        request = response.request
        message = f"{_where(request)}: {response.status_code} with a body that is not JSON ({exc})"
        raise MalformedResponseError(message, request=request) from None


def _where(request: httpx.Request) -> str:
    return f"{request.method} {request.url.path}"


def _reason(error: EmmiError) -> str:
    if isinstance(error, APIStatusError):
        return f"HTTP {error.status_code}"
    return type(error).__name__


def make_status_error(response: httpx.Response) -> APIStatusError:
    """The typed error for a non-2xx response, with its parsed body (lenient)."""
    request_id = response.headers.get("x-request-id")
    body: Any
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        body = response.text[:1000] or None
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str):
        message = response.reason_phrase or "error"
    text = f"{response.status_code} {message}"
    if request_id:
        text += f" (request id {request_id})"
    cls = status_error_class(response.status_code)
    if cls is RateLimitError:
        retry_after = parse_retry_after(response.headers)
        if retry_after is not None:
            text += f"; retry after {retry_after:g} s"
        return RateLimitError(
            text, response=response, body=body, request_id=request_id, retry_after=retry_after
        )
    return cls(text, response=response, body=body, request_id=request_id)
