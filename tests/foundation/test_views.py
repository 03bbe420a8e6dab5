"""Views (``for_customer``, ``for_end_user``, ``with_options``): cheap, pool-sharing copies."""

from __future__ import annotations

import gc
import tracemalloc

import httpx
import pytest

from emmi_async._client import AsyncEmmi
from emmi_async.auth import AccountCustomerAuth, MultiTenantAuth

from ._support import (
    ACCOUNT_KEY,
    CUSTOMER,
    END_USER,
    MULTI_KEY,
    OTHER_CUSTOMER,
    SINGLE_KEY,
    LoopbackServer,
    mock_client,
)

pytestmark = pytest.mark.anyio


async def test_for_customer() -> None:
    client, recorder = mock_client(api_key=ACCOUNT_KEY, customer_id=CUSTOMER)
    async with client:
        view = client.for_customer(OTHER_CUSTOMER)
        assert type(view) is AsyncEmmi
        assert view._pool is client._pool
        assert isinstance(view.auth, AccountCustomerAuth)
        assert view.auth.customer_id == OTHER_CUSTOMER
        assert client.auth.customer_id == CUSTOMER  # type: ignore[union-attr]
        await view.request("POST", "climate-risk", scope="data", json=[])
        await client.request("POST", "climate-risk", scope="data", json=[])
        await view.for_customer(CUSTOMER).request("POST", "climate-risk", scope="data", json=[])
    sent = [seen.header("x-customer-id") for seen in recorder.seen]
    assert sent == [OTHER_CUSTOMER, CUSTOMER, CUSTOMER]


async def test_for_end_user() -> None:
    client, recorder = mock_client(api_key=MULTI_KEY)
    async with client:
        alice, bob = client.for_end_user("alice"), client.for_end_user("bob-2")
        assert alice._pool is bob._pool is client._pool
        await alice.request("GET", "usage", scope="account")
        await bob.request("POST", "climate-risk", scope="data", json=[])
        await alice.request("GET", "health", scope="public")
    assert [seen.header("x-end-user-id") for seen in recorder.seen] == ["alice", "bob-2", None]
    assert isinstance(client.auth, MultiTenantAuth)
    assert client.auth.end_user_id is None


async def test_with_options_keeps_the_auth() -> None:
    client, recorder = mock_client(api_key=ACCOUNT_KEY, customer_id=CUSTOMER, max_retries=4)
    view = client.with_options(timeout=1.5, headers={"X-Desk": "credit"})
    assert view._pool is client._pool
    assert view.auth is client.auth
    assert (view.max_retries, view.timeout.read, view.timeout.connect) == (4, 1.5, 1.5)
    assert (client.max_retries, client.timeout.read) == (4, 60.0)
    async with client:
        await view.request("POST", "climate-risk", scope="data", json=[])
        await client.request("POST", "climate-risk", scope="data", json=[])
    with_view, plain = recorder.seen
    assert with_view.header("x-desk") == "credit"
    assert with_view.header("x-customer-id") == CUSTOMER
    assert plain.header("x-desk") is None


def test_views_need_the_right_strategy() -> None:
    single = AsyncEmmi(api_key=SINGLE_KEY)
    with pytest.raises(TypeError, match="for_customer\\(\\) needs an account key"):
        single.for_customer(CUSTOMER)
    with pytest.raises(TypeError, match="for_end_user\\(\\) needs a multi-tenant key"):
        single.for_end_user(END_USER)
    with pytest.raises(TypeError, match="for_end_user"):
        AsyncEmmi(api_key=ACCOUNT_KEY).for_end_user(END_USER)
    with pytest.raises(TypeError, match="for_customer"):
        AsyncEmmi(api_key=MULTI_KEY).for_customer(CUSTOMER)
    with pytest.raises(TypeError, match="NoneType"):
        AsyncEmmi().for_customer(CUSTOMER)
    with pytest.raises(ValueError, match="customer UUID"):
        AsyncEmmi(api_key=ACCOUNT_KEY).for_customer("acme")
    with pytest.raises(ValueError, match="end_user_id must be"):
        AsyncEmmi(api_key=MULTI_KEY).for_end_user("acme corp")


async def test_views_open_no_connections(server: LoopbackServer) -> None:
    async with AsyncEmmi(
        api_key=ACCOUNT_KEY, customer_id=CUSTOMER, base_url=server.base_url
    ) as client:
        await client.request("POST", "climate-risk", scope="data", json=[])
        http = client._pool.clients[0]
        views = [
            client.for_customer(OTHER_CUSTOMER),
            client.with_options(timeout=5, max_retries=0, headers={"X-Desk": "a"}),
            client.for_customer(OTHER_CUSTOMER).with_options(headers={"X-Desk": "b"}),
        ]
        for view in views * 2:
            await view.request("POST", "climate-risk", scope="data", json=[])
            assert view._pool is client._pool
            assert view._pool.clients[0] is http
    assert server.connections == 1
    customers = [request.header_values("x-customer-id") for request in server.requests]
    assert customers == [[CUSTOMER]] + [[OTHER_CUSTOMER], [CUSTOMER], [OTHER_CUSTOMER]] * 2


async def test_end_user_views_open_no_connections(server: LoopbackServer) -> None:
    async with AsyncEmmi(api_key=MULTI_KEY, base_url=server.base_url) as client:
        for user in ("u1", "u2", "u3", "u1"):
            await client.for_end_user(user).request("GET", "usage", scope="account")
    assert server.connections == 1
    assert [r.header_values("x-end-user-id") for r in server.requests] == [
        ["u1"],
        ["u2"],
        ["u3"],
        ["u1"],
    ]


def test_dropped_views_free_their_memory() -> None:
    account = AsyncEmmi(api_key=ACCOUNT_KEY, customer_id=CUSTOMER)
    multi = AsyncEmmi(api_key=MULTI_KEY, end_user_id=END_USER)

    def make_views(count: int) -> None:
        for i in range(count):
            account.for_customer(OTHER_CUSTOMER)
            multi.for_end_user(f"user_{i}")
            account.with_options(timeout=i + 1, headers={"X-Run": str(i)})

    make_views(100)  # warm caches (interned strings, uuid, attrs) before measuring
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        make_views(34_000)  # ~100,000 views
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A leak of even a few bytes per view would be megabytes; allow noise only.
    assert after - before < 256 * 1024


async def test_views_of_a_user_http_client_share_it() -> None:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={}))
    ) as http:
        client = AsyncEmmi(api_key=MULTI_KEY, base_url="https://x.test/api/v1", http_client=http)
        view = client.for_end_user("u1")
        await view.request("GET", "usage", scope="account")
        assert client._pool.clients[0] is http
        await client.aclose()
        assert not http.is_closed
