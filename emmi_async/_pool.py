"""The connection pool a client and all its views share.

The pool is built lazily, inside the event loop that first uses it, on the fastest
transport that loop supports: aiohttp (:mod:`emmi_async._aiohttp_transport`) under
asyncio unless ``http_backend="httpx"``; httpx's own pool under trio, with HTTP/2 or
with ``http_backend="httpx"``, split into shards of at most 16
connections under trio, since its cost per request grows with its size
(benchmarks/README.md has the figures). From then on it belongs to that loop: use from
another loop raises :class:`~emmi_async.EventLoopMismatchError`. After ``os.fork()``
the child builds a fresh pool and never touches the parent's sockets.

It also owns the concurrency gate: at most ``max_connections`` requests are inside
httpx at once, so requests wait in our gate (cheap, fair) and never in the transport's
pool, whose timeout then cannot fire.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import sniffio

from emmi_async._exceptions import ClientClosedError, EventLoopMismatchError
from emmi_async._settings import HttpBackend

__all__ = ["Pool"]

#: Connections per httpx client when httpx's own pool serves trio: a larger pool scans
#: its connections on every request (3x the CPU per request at 64 connections).
TRIO_SHARD_SIZE = 16


class _NoCookies(httpx.Cookies):
    """A cookie store that takes nothing from responses.

    The EMMI API sets no cookies; httpx would still read every response's ``Set-Cookie``
    through :mod:`http.cookiejar` (33 µs per response, measured: 4 % of a typed call).
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _ApiClient(httpx.AsyncClient):
    """The httpx client of a pool the SDK builds: httpx's, keeping no cookies. A caller's
    own ``http_client`` keeps its cookies as it was made to."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._no_cookies = _NoCookies(cookies)


# Bumped in every child after fork; a pool built under another generation is the parent's.
_fork_generation = 0
# Pools inherited from the parent are kept alive here so that their finalizers never run
# in the child (closing a TLS socket writes to it, which would corrupt the parent's stream).
_inherited_after_fork: list[Any] = []


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _current_loop() -> tuple[str, object]:
    """The running async library and an object that identifies the running loop."""
    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        raise RuntimeError(
            "AsyncEmmi must be used from async code (asyncio or trio); "
            "from synchronous code use emmi_async.Emmi"
        ) from None
    if library == "trio":
        import trio

        return library, trio.lowlevel.current_trio_token()
    import asyncio

    return library, asyncio.get_running_loop()


class Pool:
    """One lazily built ``httpx.AsyncClient`` bound to one event loop, plus its gate."""

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        http2: bool,
        transport: httpx.AsyncBaseTransport | None,
        http_client: httpx.AsyncClient | None,
        backend: HttpBackend = "auto",
    ) -> None:
        self.max_connections = limits.max_connections or 100
        self._http_backend = backend
        self._aiohttp: Callable[[httpx.Limits], httpx.AsyncBaseTransport] | None = None
        if http_client is None and transport is None and not http2 and backend != "httpx":
            # Imported here, in the caller's thread, not at the first request inside the
            # running loop (where importing aiohttp would block it).
            from emmi_async._aiohttp_transport import AiohttpTransport, prepare

            prepare()
            self._aiohttp = AiohttpTransport
        self._limits = limits
        self._http2 = http2
        self._transport = transport
        self.user_client = http_client
        """The caller's own ``httpx.AsyncClient``, used as given, or ``None``."""
        self._shards: list[tuple[httpx.AsyncClient, anyio.CapacityLimiter]] = []
        self._next_shard = 0
        self._loop: object | None = None
        self._generation = _fork_generation
        self._closed = False
        self.backend: str | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def clients(self) -> tuple[httpx.AsyncClient, ...]:
        """The httpx clients built so far (none before the first request)."""
        return tuple(client for client, _ in self._shards)

    def acquire(self) -> tuple[httpx.AsyncClient, anyio.CapacityLimiter]:
        """The httpx client and gate for the running loop, built on first use."""
        if self._closed:
            raise ClientClosedError(
                "this AsyncEmmi client is closed; create a new one "
                "(`async with AsyncEmmi(...) as client:` closes it for you at the end)"
            )
        if self._generation != _fork_generation:
            self._forget_parent_pool()
        shards = self._shards
        if shards:
            if _current_loop()[1] is not self._loop:
                raise EventLoopMismatchError(
                    "this AsyncEmmi client was first used in another event loop, and its "
                    "connection pool belongs to that loop. Create the client inside the loop "
                    "that uses it (one client per asyncio.run()/trio.run()), or use "
                    "emmi_async.Emmi from synchronous or multi-loop code."
                )
            if len(shards) == 1:
                return shards[0]
            # Fill the first shard with room (sequential calls keep one connection);
            # when all are busy, queue on each gate in turn.
            for shard in shards:
                if shard[1].available_tokens >= 1:
                    return shard
            self._next_shard = (self._next_shard + 1) % len(shards)
            return shards[self._next_shard]
        self._shards = self._build()
        return self._shards[0]

    def _build(self) -> list[tuple[httpx.AsyncClient, anyio.CapacityLimiter]]:
        library, loop = _current_loop()
        self._loop, self.backend = loop, library
        total = self.max_connections
        if self.user_client is not None:
            return [(self.user_client, anyio.CapacityLimiter(total))]
        if self._transport is not None or self._http2:
            return [
                (self._client_over(self._transport, self._limits), anyio.CapacityLimiter(total))
            ]
        if library == "asyncio" and self._aiohttp is not None:
            transport = self._aiohttp(self._limits)
            return [(self._client_over(transport, self._limits), anyio.CapacityLimiter(total))]
        if self._http_backend == "aiohttp":
            raise RuntimeError(
                f"http_backend='aiohttp' works under asyncio only, not {library}; "
                "use 'auto' or 'httpx'"
            )
        count = -(-total // TRIO_SHARD_SIZE)
        shards = []
        for shard in range(count):
            size = total // count + (1 if shard < total % count else 0)
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
            shards.append((self._client_over(None, limits), anyio.CapacityLimiter(size)))
        return shards

    def _client_over(
        self, transport: httpx.AsyncBaseTransport | None, limits: httpx.Limits
    ) -> httpx.AsyncClient:
        return _ApiClient(
            transport=transport,
            limits=limits,
            http2=self._http2,
            timeout=None,  # every request carries its own timeout
            follow_redirects=False,
            trust_env=True,
        )

    def _forget_parent_pool(self) -> None:
        if self.user_client is None:
            _inherited_after_fork.extend(client for client, _ in self._shards)
        self._shards, self._loop = [], None
        self._generation = _fork_generation

    async def aclose(self) -> None:
        """Close the pool (idempotent); a caller's own ``http_client`` is left open."""
        if self._closed:
            return
        self._closed = True
        shards, self._shards = self._shards, []
        if self.user_client is None and self._generation == _fork_generation:
            for client, _ in shards:
                await client.aclose()
