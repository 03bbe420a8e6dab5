"""The default transports (aiohttp under asyncio, httpcore under trio) on a loopback server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import httpx
import pytest

from emmi_async import APIConnectionError, APITimeoutError
from emmi_async._base_client import USER_AGENT
from emmi_async._client import AsyncEmmi

from ._support import (
    ACCOUNT_KEY,
    CUSTOMER,
    Action,
    Behaviour,
    LoopbackServer,
    ServerRequest,
    answer_ok,
)
from .conftest import SleepRecorder

pytestmark = pytest.mark.anyio

EXPECTED_TRANSPORT = {"asyncio": "AiohttpTransport", "trio": "AsyncHTTPTransport"}


@contextmanager
def serving(behaviour: Behaviour) -> Iterator[LoopbackServer]:
    server = LoopbackServer(behaviour).start()
    try:
        yield server
    finally:
        server.stop()


async def test_default_transport_per_backend(server: LoopbackServer, anyio_backend: str) -> None:
    async with AsyncEmmi(
        api_key=ACCOUNT_KEY, customer_id=CUSTOMER, base_url=server.base_url
    ) as client:
        for _ in range(3):
            await client.request("POST", "climate-risk", scope="data", json=[{"a": 1}])
        await client.request("GET", "health", scope="public")
        pool = client._pool
        assert pool.backend == anyio_backend
        assert pool.clients
        assert type(pool.clients[0]._transport).__name__ == EXPECTED_TRANSPORT[anyio_backend]
    assert server.connections == 1  # keep-alive: one connection for sequential calls
    post, *_, health = server.requests
    assert (post.method, post.target) == ("POST", "/api/v1/climate-risk")
    assert post.header_values("user-agent") == [USER_AGENT]
    assert post.header_values("x-api-key") == [ACCOUNT_KEY]
    assert post.header_values("x-customer-id") == [CUSTOMER]
    assert post.header_values("content-type") == ["application/json"]
    assert json.loads(post.body) == [{"a": 1}]
    assert (health.target, health.header_values("x-api-key")) == ("/api/v1/health", [])


@pytest.mark.parametrize("own_http_client", [False, True], ids=["default", "wide-http-client"])
async def test_the_gate_bounds_connections(own_http_client: bool) -> None:
    lock = threading.Lock()
    in_flight = [0, 0]  # now, most seen
    full = threading.Event()

    def behaviour(request: ServerRequest, index: int) -> Action:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
            if in_flight[0] >= 3:
                full.set()
        full.wait(10)  # hold the first requests until three are in flight at once
        with lock:
            in_flight[0] -= 1
        return answer_ok(request, index)

    # A caller's client allowing 100 connections: only the SDK's own gate holds it to 3.
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) if own_http_client else None
    with serving(behaviour) as server:
        async with AsyncEmmi(
            api_key=ACCOUNT_KEY, base_url=server.base_url, max_connections=3, http_client=http
        ) as client:
            results: list[int] = []

            async def call() -> None:
                response = await client.request("GET", "usage", scope="account")
                results.append(response.status_code)

            async with anyio.create_task_group() as group:
                for _ in range(20):
                    group.start_soon(call)
        if http is not None:
            await http.aclose()
        assert results == [200] * 20
        assert in_flight[1] == 3
        assert server.connections == 3
        assert len(server.requests) == 20


async def test_a_dropped_keep_alive_connection_is_retried(sleeps: SleepRecorder) -> None:
    def behaviour(request: ServerRequest, index: int) -> Action:
        return "drop" if index == 1 else answer_ok(request, index)

    with serving(behaviour) as server:
        async with AsyncEmmi(api_key=ACCOUNT_KEY, base_url=server.base_url) as client:
            # POST: aiohttp itself retries an idempotent GET on a stale connection.
            first = await client.request("POST", "customers", scope="account", json={})
            second = await client.request("POST", "customers", scope="account", json={})
        assert (first.attempts, second.attempts) == (1, 2)
        assert len(sleeps.calls) == 1
        assert server.connections == 2
        assert server.connections_of(server.requests) == [1, 1, 2]


async def test_a_real_read_timeout(anyio_backend: str) -> None:
    with serving(lambda request, index: "hang") as server:
        async with AsyncEmmi(
            api_key=ACCOUNT_KEY, base_url=server.base_url, timeout=0.2, max_retries=0
        ) as client:
            with pytest.raises(APITimeoutError) as info:
                await client.request("GET", "usage", scope="account")
        assert info.value.attempts == 1
        assert "timed out (ReadTimeout)" in str(info.value)
        assert len(server.requests) == 1


async def test_connection_refused_is_a_connection_error(sleeps: SleepRecorder) -> None:
    server = LoopbackServer().start()
    url = server.base_url
    server.stop()  # nothing listens on that port any more
    async with AsyncEmmi(api_key=ACCOUNT_KEY, base_url=url, max_retries=1) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.request("GET", "health", scope="public")
    # Not APITimeoutError: aiohttp's connection errors reach httpx as ConnectTimeout.
    assert type(info.value) is APIConnectionError
    assert info.value.attempts == 2
    assert len(sleeps.calls) == 1


async def test_a_dropped_connection_is_no_timeout() -> None:
    with serving(lambda request, index: "drop") as server:
        async with AsyncEmmi(
            api_key=ACCOUNT_KEY, base_url=server.base_url, max_retries=0
        ) as client:
            with pytest.raises(APIConnectionError) as info:
                await client.request("POST", "customers", scope="account", json={})
    assert type(info.value) is APIConnectionError
    assert "disconnected" in str(info.value)
