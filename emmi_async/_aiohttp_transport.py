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
import ssl
import urllib.request
from typing import Any

import aiohttp
import httpx

__all__ = ["AiohttpTransport"]


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

    The session is created on the first request, inside the running event loop.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        self._limit = limits.max_connections or 100
        self._keepalive = limits.keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}
        self._proxies: dict[tuple[str, str], str | None] = {}

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
        if session is not None:
            await session.close()


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
