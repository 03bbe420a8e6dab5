"""The request pipeline over a mock transport: headers per scope, bodies, URLs, responses."""

from __future__ import annotations

import gc
import platform
import re
import weakref
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emmi_async._base_client import USER_AGENT
from emmi_async._response import APIResponse, RateLimitInfo
from emmi_async._version import __version__
from emmi_async.auth import (
    AccountCustomerAuth,
    EmmiAuth,
    MissingAttributionError,
    MultiTenantAuth,
    SingleTenantAuth,
)

from ._support import (
    ACCOUNT_KEY,
    CUSTOMER,
    END_USER,
    MULTI_KEY,
    SINGLE_KEY,
    Recorder,
    mock_client,
    ok,
)

pytestmark = pytest.mark.anyio

# scope -> the auth headers the request must carry; absent scope -> MissingAttributionError
MATRIX: list[tuple[str, Any, dict[str, dict[str, str]]]] = [
    (
        "single",
        lambda: SingleTenantAuth(SINGLE_KEY),
        {
            "public": {},
            "account": {"x-api-key": SINGLE_KEY},
            "data": {"x-api-key": SINGLE_KEY},
        },
    ),
    (
        "multi",
        lambda: MultiTenantAuth(MULTI_KEY, END_USER),
        {
            "public": {},
            "account": {"x-api-key": MULTI_KEY, "x-end-user-id": END_USER},
            "data": {"x-api-key": MULTI_KEY, "x-end-user-id": END_USER},
        },
    ),
    ("multi-no-end-user", lambda: MultiTenantAuth(MULTI_KEY), {"public": {}}),
    (
        "account",
        lambda: AccountCustomerAuth(ACCOUNT_KEY, CUSTOMER),
        {
            "public": {},
            "account": {"x-api-key": ACCOUNT_KEY},
            "data": {"x-api-key": ACCOUNT_KEY, "x-customer-id": CUSTOMER},
        },
    ),
    (
        "account-no-customer",
        lambda: AccountCustomerAuth(ACCOUNT_KEY),
        {"public": {}, "account": {"x-api-key": ACCOUNT_KEY}},
    ),
]
ENDPOINTS = [("public", "GET", "health"), ("public", "GET", ""), ("account", "GET", "usage"),
             ("account", "POST", "customers"), ("data", "POST", "climate-risk"),
             ("data", "GET", "hazard-risk")]  # fmt: skip


@pytest.mark.parametrize(("name", "make_auth", "expected"), MATRIX, ids=[m[0] for m in MATRIX])
@pytest.mark.parametrize(
    ("scope", "method", "path"), ENDPOINTS, ids=[e[2] or "root" for e in ENDPOINTS]
)
async def test_auth_headers_per_scope(
    name: str,
    make_auth: Any,
    expected: dict[str, dict[str, str]],
    scope: str,
    method: str,
    path: str,
) -> None:
    auth: EmmiAuth = make_auth()
    client, recorder = mock_client(auth=auth)
    async with client:
        body = {"x": 1} if method == "POST" else None
        if scope in expected:
            await client.request(method, path, scope=scope, json=body)  # type: ignore[arg-type]
            assert recorder.last.auth_headers() == expected[scope]
            assert recorder.last.method == method
        else:
            with pytest.raises(MissingAttributionError):
                await client.request(method, path, scope=scope, json=body)  # type: ignore[arg-type]
            assert recorder.count == 0  # refused before anything was sent


async def test_no_key_only_reaches_public_endpoints() -> None:
    client, recorder = mock_client(api_key=None)
    async with client:
        assert client.auth is None
        await client.request("GET", "health", scope="public")
        assert recorder.last.auth_headers() == {}
        for scope in ("account", "data"):
            with pytest.raises(ValueError, match="no API key configured"):
                await client.request("GET", "usage", scope=scope)  # type: ignore[arg-type]
    assert recorder.count == 1


async def test_missing_customer_is_refused_before_sending() -> None:
    client, recorder = mock_client(api_key=ACCOUNT_KEY)
    async with client:
        with pytest.raises(MissingAttributionError, match="for_customer"):
            await client.request("POST", "emissions-estimates", scope="data", json=[{}])
        await client.request("GET", "usage", scope="account")
        await client.for_customer(CUSTOMER).request("POST", "climate-risk", scope="data", json=[])
    assert [seen.path for seen in recorder.seen] == ["/api/v1/usage", "/api/v1/climate-risk"]


async def test_missing_end_user_is_refused_before_sending() -> None:
    client, recorder = mock_client(api_key=MULTI_KEY)
    async with client:
        for scope in ("account", "data"):
            with pytest.raises(MissingAttributionError, match="for_end_user"):
                await client.request("GET", "usage", scope=scope)  # type: ignore[arg-type]
        await client.request("GET", "health", scope="public")
    assert recorder.count == 1


async def test_user_agent_and_standard_headers() -> None:
    pattern = (
        rf"emmi-async/{re.escape(__version__)} Python/{re.escape(platform.python_version())} "
        rf"httpx/{re.escape(httpx.__version__)}"
    )
    assert re.fullmatch(pattern, USER_AGENT)
    client, recorder = mock_client()
    async with client:
        await client.request("GET", "health", scope="public")
        await client.request("POST", "emissions-estimates", scope="data", json=[{"a": 1}])
    get, post = recorder.seen
    for seen in (get, post):
        assert seen.header("user-agent") == USER_AGENT
        assert seen.header("accept") == "application/json"
    assert get.header("content-type") is None
    assert post.header("content-type") == "application/json"


async def test_json_content_and_params() -> None:
    client, recorder = mock_client()
    payload = [{"entity_info": {"name": "Ünïcode Ltd", "identifier": "e1"}, "data": []}]
    async with client:
        await client.request("POST", "emissions-estimates", scope="data", json=payload)
        await client.request("POST", "climate-risk", scope="data", content=b'[{"raw": true}]')
        await client.request(
            "GET", "hazard-risk", scope="data", params={"latitude": "51.5", "longitude": -0.12}
        )
    first, second, third = recorder.seen
    assert orjson.loads(first.content) == payload
    assert first.header("content-length") == str(len(first.content))
    assert second.content == b'[{"raw": true}]'
    assert second.header("content-type") == "application/json"
    assert third.url.params == httpx.QueryParams({"latitude": "51.5", "longitude": "-0.12"})
    assert third.content == b""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "https://emmi.test/api/v1"),
        ("health", "https://emmi.test/api/v1/health"),
        ("emissions-estimates", "https://emmi.test/api/v1/emissions-estimates"),
        ("customers", "https://emmi.test/api/v1/customers"),
        ("customers/" + CUSTOMER, f"https://emmi.test/api/v1/customers/{CUSTOMER}"),
    ],
)
async def test_urls(path: str, expected: str) -> None:
    client, recorder = mock_client()
    async with client:
        await client.request("GET", path, scope="public")
        await client.request("GET", path, scope="public")  # and again from the URL cache
    assert [str(seen.url) for seen in recorder.seen] == [expected, expected]


async def test_customers_url_is_configurable() -> None:
    client, recorder = mock_client(customers_url="https://emmi.test/latest/api/v1/customers/")
    async with client:
        await client.request("POST", "customers", scope="account", json={"external_id": "x"})
        await client.request("GET", f"customers/{CUSTOMER}", scope="account")
        await client.request("GET", "usage", scope="account")
    assert [str(seen.url) for seen in recorder.seen] == [
        "https://emmi.test/latest/api/v1/customers",
        f"https://emmi.test/latest/api/v1/customers/{CUSTOMER}",
        "https://emmi.test/api/v1/usage",
    ]


printable_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=printable_values.map(str.strip))
async def test_default_header_values_are_sent_verbatim(value: str) -> None:
    client, recorder = mock_client(default_headers={"X-Trace": value})
    async with client:
        await client.request("GET", "health", scope="public")
        await client.with_options(headers={"x-trace": "override"}).request(
            "GET", "health", scope="public"
        )
    assert recorder.seen[0].header_values("x-trace") == [value]
    assert recorder.seen[1].header_values("x-trace") == ["override"]


async def test_default_headers_replace_the_sdks_own() -> None:
    client, recorder = mock_client(default_headers={"User-Agent": "my-app/1.0", "X-Team": "risk"})
    async with client:
        await client.request("POST", "climate-risk", scope="data", json=[])
        await client.with_options(headers={"user-agent": "other/2", "X-Desk": "a"}).request(
            "GET", "health", scope="public"
        )
    first, second = recorder.seen
    assert first.header_values("user-agent") == ["my-app/1.0"]
    assert first.header("x-team") == "risk"
    assert first.header("accept") == "application/json"
    assert second.header_values("user-agent") == ["other/2"]
    assert (second.header("x-team"), second.header("x-desk")) == ("risk", "a")


async def test_each_request_carries_its_timeout() -> None:
    client, recorder = mock_client()
    async with client:
        await client.request("GET", "health", scope="public")
        await client.with_options(timeout=2.5).request("GET", "usage", scope="account")
        await client.with_options(timeout=None).request("POST", "climate-risk", scope="data")
    default, short, unlimited = (seen.extensions["timeout"] for seen in recorder.seen)
    assert default == {"connect": 5.0, "read": 60.0, "write": 60.0, "pool": 60.0}
    assert short == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}
    assert unlimited == {"connect": None, "read": None, "write": None, "pool": None}


async def test_api_response() -> None:
    headers = {
        "X-RateLimit-Limit": "600",
        "X-RateLimit-Remaining": "598",
        "X-RateLimit-Reset": "12.5",
        "X-Request-ID": "req_abc",
    }
    client, _ = mock_client(Recorder([ok({"results": [1, 2]}, status=201, headers=headers)]))
    async with client:
        response = await client.request("POST", "customers", scope="account", json={})
    assert isinstance(response, APIResponse)
    assert response.data == {"results": [1, 2]}
    assert (response.status_code, response.request_id, response.attempts) == (201, "req_abc", 1)
    assert response.rate_limit == RateLimitInfo(limit=600, remaining=598, reset=12.5)
    assert response.elapsed >= 0
    assert response.http_response.status_code == 201


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"X-RateLimit-Remaining": "0"}, RateLimitInfo(limit=None, remaining=0, reset=None)),
        (
            {"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "", "X-RateLimit-Reset": "soon"},
            RateLimitInfo(limit=None, remaining=None, reset=None),
        ),
        ({"x-ratelimit-reset": "0"}, RateLimitInfo(limit=None, remaining=None, reset=0.0)),
    ],
)
async def test_rate_limit_headers(headers: dict[str, str], expected: RateLimitInfo | None) -> None:
    client, _ = mock_client(Recorder([httpx.Response(200, json={}, headers=headers)]))
    async with client:
        response = await client.request("GET", "usage", scope="account")
    assert response.rate_limit == expected
    assert response.request_id is None


async def test_empty_success_body_is_none() -> None:
    client, _ = mock_client(Recorder([httpx.Response(204)]))
    async with client:
        response = await client.request("GET", "health", scope="public")
    assert (response.data, response.status_code) == (None, 204)


async def test_a_response_is_freed_once_dropped() -> None:
    # httpx's response and its bound stream refer to each other: left so, every body
    # (190 KB for 100 results) waits for the cyclic GC, and the next one comes from fresh
    # pages. The pipeline unbinds the read stream: reference counting frees it at once.
    client, _ = mock_client(Recorder([lambda request: ok({"results": [1, 2]})]))
    async with client:
        gc.disable()
        try:
            response = await client.request("POST", "climate-risk", scope="data", json=[])
            freed = weakref.ref(response.http_response)
            assert response.http_response.content == b'{"results":[1,2]}'
            assert response.http_response.is_closed
            del response
            assert freed() is None
        finally:
            gc.enable()
