"""Closing, a caller's own ``http_client``, and use from the wrong event loop."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import trio

from emmi_async import ClientClosedError, EventLoopMismatchError
from emmi_async._client import AsyncEmmi

from ._support import ACCOUNT_KEY, BASE_URL, CUSTOMER, SINGLE_KEY, Recorder, mock_client


class ClosingTransport(httpx.MockTransport):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__(recorder)
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


@pytest.mark.anyio
async def test_closed_client_refuses_requests() -> None:
    recorder = Recorder()
    transport = ClosingTransport(recorder)
    client = AsyncEmmi(api_key=SINGLE_KEY, base_url=BASE_URL, transport=transport)
    await client.request("GET", "health", scope="public")
    assert not client.is_closed
    await client.aclose()
    await client.aclose()  # idempotent
    assert client.is_closed
    assert transport.closed == 1
    with pytest.raises(ClientClosedError, match="client is closed") as info:
        await client.request("GET", "health", scope="public")
    assert isinstance(info.value, RuntimeError)
    assert recorder.count == 1


@pytest.mark.anyio
async def test_context_manager_closes_and_views_share_the_fate() -> None:
    client, recorder = mock_client(api_key=ACCOUNT_KEY)
    async with client as entered:
        assert entered is client
        view = client.for_customer(CUSTOMER)
        await view.request("POST", "climate-risk", scope="data", json=[])
    assert client.is_closed
    assert view.is_closed
    with pytest.raises(ClientClosedError):
        await view.request("POST", "climate-risk", scope="data", json=[])
    assert recorder.count == 1


@pytest.mark.anyio
async def test_closing_a_view_leaves_the_pool_open() -> None:
    client, recorder = mock_client()
    async with client:
        view = client.with_options(max_retries=0)
        async with view:
            await view.request("GET", "health", scope="public")
        await view.aclose()
        assert not view.is_closed
        await client.request("GET", "health", scope="public")
        await view.request("GET", "health", scope="public")
    assert recorder.count == 3


@pytest.mark.anyio
async def test_a_callers_http_client_is_used_and_left_open() -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        client = AsyncEmmi(api_key=SINGLE_KEY, base_url=BASE_URL, http_client=http)
        async with client:
            await client.request("GET", "usage", scope="account")
        assert client.is_closed
        assert not http.is_closed
        assert (await http.get("https://elsewhere.test/")).status_code == 200
        with pytest.raises(ClientClosedError):
            await client.request("GET", "usage", scope="account")
    assert recorder.count == 2
    assert recorder.seen[0].header("x-api-key") == SINGLE_KEY


@pytest.mark.anyio
async def test_closing_an_unused_client() -> None:
    client = AsyncEmmi(api_key=SINGLE_KEY)
    await client.aclose()
    assert client.is_closed
    with pytest.raises(ClientClosedError):
        await client.request("GET", "health", scope="public")


# -- event loops: these tests run their own loops ------------------------------------------


def _client() -> tuple[AsyncEmmi, Recorder]:
    return mock_client()


async def _health(client: AsyncEmmi) -> object:
    return (await client.request("GET", "health", scope="public")).data


def test_a_second_asyncio_run_is_refused() -> None:
    client, recorder = _client()
    assert asyncio.run(_health(client)) == {"ok": True}
    with pytest.raises(EventLoopMismatchError) as info:
        asyncio.run(_health(client))
    message = str(info.value)
    assert "another event loop" in message
    assert "asyncio.run()" in message
    assert "emmi_async.Emmi" in message
    assert isinstance(info.value, RuntimeError)
    assert recorder.count == 1


def test_trio_then_asyncio_and_back_are_refused() -> None:
    client, recorder = _client()
    assert trio.run(_health, client) == {"ok": True}
    with pytest.raises(EventLoopMismatchError):
        asyncio.run(_health(client))
    with pytest.raises(EventLoopMismatchError):
        trio.run(_health, client)
    assert recorder.count == 1


def test_a_view_made_later_still_belongs_to_the_first_loop() -> None:
    client, recorder = _client()
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_health(client))
        view = client.with_options(timeout=3)
        with pytest.raises(EventLoopMismatchError):
            asyncio.run(_health(view))
        # ...while the first loop keeps working with both.
        assert loop.run_until_complete(_health(view)) == {"ok": True}
        assert loop.run_until_complete(_health(client)) == {"ok": True}
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()
    assert recorder.count == 3


def test_a_client_made_outside_any_loop_binds_to_its_first_loop() -> None:
    client, _ = _client()  # built in sync code: nothing is bound yet
    assert trio.run(_health, client) == {"ok": True}
    trio.run(client.aclose)
    assert client.is_closed
