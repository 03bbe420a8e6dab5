"""An httpx transport over aiohttp: the default under asyncio.

Why our own and not ``httpx-aiohttp``: that transport reports every aiohttp connection
error (refused, reset, server disconnected) as ``httpx.ConnectTimeout`` and streams each
body through httpx's async byte-stream layers; this one maps each failure to the httpx
error it is, reads the body in one go (``httpx.Response(content=...)`` is already read,
so ``client.send`` skips those layers), keeps no cookie jar, and reuses its
``ClientTimeout`` objects, and looks up proxy settings once per host (aiohttp's
``trust_env`` reads ``~/.netrc`` and the environment in a worker thread on every request,
which cost 43 % of the CPU of a small request). It costs 2-10 % less CPU per request than
``httpx-aiohttp`` and scales better with concurrency (benchmarks/README.md,
"Transports"); aiohttp itself, 4-7x cheaper per request than httpx's own pool, does the
HTTP.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import urllib.request
import warnings
import weakref
from collections.abc import Coroutine
from typing import Any

import aiohttp
import httpx

__all__ = ["AiohttpTransport", "prepare"]


def prepare() -> None:
    """Do the slow, loop-blocking set-up now (the caller is not inside an event loop yet).

    Importing this module imports aiohttp; the TLS context (reading certifi's bundle)
    is built once per process and shared by every transport.
    """
    _ssl_context()


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """Certificate verification as httpx does it (certifi's bundle when installed)."""
    context = ssl.create_default_context()
    try:
        import certifi
    except ImportError:  # pragma: no cover - httpx depends on certifi
        return context
    context.load_verify_locations(certifi.where())
    return context


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests with one aiohttp session of at most ``limits.max_connections``.

    The session is created on the first request, inside the running event loop. A
    transport dropped without :meth:`aclose` (a client that was never closed) closes its
    connections when it is garbage collected and says so once, as a ``ResourceWarning``
    in our words (shown under ``python -X dev`` and in test runs), instead of aiohttp's
    "Unclosed client session / connector" report with connection details.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        self._limit = limits.max_connections or 100
        self._keepalive = limits.keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}
        self._proxies: dict[tuple[str, str], str | None] = {}
        self._finalizer: weakref.finalize[[aiohttp.ClientSession], AiohttpTransport] | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limit,
            limit_per_host=0,
            keepalive_timeout=self._keepalive,
            ssl=_ssl_context(),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,  # proxies: see _proxy
            auto_decompress=True,
        )
        self._finalizer = weakref.finalize(self, _close_forgotten, self._session)
        return self._session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        spec = request.extensions.get("timeout", {})
        key = (spec.get("connect"), spec.get("read"), spec.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            # aiohttp's "connect" spans the wait for a pooled connection and the connect.
            total_connect = None if pool is None or connect is None else pool + connect
            timeout = aiohttp.ClientTimeout(
                total=None, connect=total_connect, sock_connect=connect, sock_read=read
            )
            self._timeouts[key] = timeout
        return timeout

    def _proxy(self, url: httpx.URL) -> str | None:
        """The proxy the environment names for ``url`` (``HTTPS_PROXY``, ``NO_PROXY``...)."""
        key = (url.scheme, url.host)
        if key not in self._proxies:
            proxy = urllib.request.getproxies().get(url.scheme)
            if proxy and urllib.request.proxy_bypass(url.host):
                proxy = None
            self._proxies[key] = proxy
        return self._proxies[key]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        try:
            async with session.request(
                request.method,
                str(request.url),
                data=request.content or None,
                headers=request.headers.multi_items(),
                allow_redirects=False,
                timeout=self._timeout(request),
                proxy=self._proxy(request.url),
            ) as response:
                body = await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _httpx_error(exc, request) from exc
        reason = response.reason
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if reason:
            extensions["reason_phrase"] = reason.encode("ascii", "replace")
        headers = response.raw_headers
        if any(name.lower() == b"content-encoding" for name, _ in headers):
            # aiohttp decoded the body already: what the headers say of it no longer holds.
            headers = tuple(
                (name, value)
                for name, value in headers
                if name.lower() not in (b"content-encoding", b"content-length")
            )
        return httpx.Response(
            response.status,
            headers=headers,
            content=body,
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if self._finalizer is not None:
            self._finalizer.detach()
        if session is not None:
            await session.close()


def _close_forgotten(session: aiohttp.ClientSession) -> None:
    """Close the connections of a session whose transport nobody closed; warn once.

    Runs as the transport's ``weakref.finalize`` callback: when the transport is garbage
    collected, or at interpreter exit if it is still alive. The finalizer holds the
    session, so the session is never collected first (which is when aiohttp reports it).
    """
    global _warned
    if session.closed:
        return
    connector = session.connector
    if connector is not None:
        # Its first step closes every connection; the rest only waits for that, which
        # nobody can do here (the loop may be gone).
        closing = connector.close()
        if isinstance(closing, Coroutine):
            try:
                closing.send(None)
            except Exception:  # StopIteration: done; anything else: the OS closes the sockets
                pass
            finally:
                closing.close()
    if not _warned:
        _warned = True
        warnings.warn(
            "an AsyncEmmi client was not closed; its connections were closed when it was "
            "garbage collected. Use `async with AsyncEmmi(...) as client:` or "
            "`await client.aclose()`.",
            ResourceWarning,
            stacklevel=1,
        )


_warned = False
"""Whether the unclosed-client warning was given (once per process)."""


def _httpx_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error that ``exc`` (from aiohttp or asyncio) amounts to."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, (aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError)):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, asyncio.TimeoutError):
        return httpx.PoolTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(
            "Server disconnected without sending a complete response.", request=request
        )
    if isinstance(exc, (aiohttp.ClientPayloadError, aiohttp.ClientResponseError)):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    if isinstance(exc, aiohttp.ClientOSError):
        return httpx.ReadError(message, request=request)
    return httpx.NetworkError(message, request=request)
