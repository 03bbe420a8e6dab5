"""Mocking: respx and pytest-httpx see the calls; a user's http_client is used as given."""

from __future__ import annotations

import contextlib

import httpx
import pytest
import respx
from pytest_httpx import HTTPXMock

from emmi_async import AsyncEmmi
from emmi_async._pool import Pool

pytestmark = pytest.mark.anyio

BASE = "https://emmi.example/api/v1"
KEY = "sk_live_single_4n8jKmPqRs9uVw_8f1c"
HEALTH = {"status": "healthy", "version": "1.0.0", "timestamp": "2024-01-01T00:00:00Z"}


def _transport_of(client: AsyncEmmi) -> httpx.AsyncBaseTransport:
    pool: Pool = client._pool
    return pool.clients[0]._transport


async def test_respx_intercepts_a_user_http_client_with_its_headers() -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(f"{BASE}/health").respond(200, json=HEALTH)
        async with httpx.AsyncClient(headers={"X-Trace": "t-1"}) as http:
            async with AsyncEmmi(api_key=KEY, base_url=BASE, http_client=http) as client:
                health = await client.service.health()
            assert not http.is_closed  # the caller's client stays the caller's to close
        assert health.status == "healthy"
        sent = route.calls.last.request
        assert sent.headers["X-Trace"] == "t-1"  # the user's client's own header
        assert sent.headers["User-Agent"].startswith("emmi-async/")


async def test_pytest_httpx_intercepts_a_user_http_client(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{BASE}/health", json=HEALTH, headers={"X-Request-Id": "r-9"})
    async with (
        httpx.AsyncClient(headers={"X-Trace": "t-2"}) as http,
        AsyncEmmi(api_key=KEY, base_url=BASE, http_client=http) as client,
    ):
        raw = await client.service.with_raw_response.health()
    assert raw.request_id == "r-9"
    [request] = httpx_mock.get_requests()
    assert request.headers["X-Trace"] == "t-2"
    assert "x-api-key" not in request.headers  # keyless endpoint


async def test_http_backend_httpx_is_seen_by_respx(anyio_backend: str) -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{BASE}/health").respond(200, json=HEALTH)
        async with AsyncEmmi(api_key=KEY, base_url=BASE, http_backend="httpx") as client:
            await client.service.health()
            assert type(_transport_of(client)).__name__ == "AsyncHTTPTransport"


async def test_the_environment_picks_the_backend(
    monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    monkeypatch.setenv("EMMI_HTTP_BACKEND", "httpx")
    with respx.mock(assert_all_called=True) as mock:
        mock.get(f"{BASE}/health").respond(200, json=HEALTH)
        async with AsyncEmmi(base_url=BASE) as client:
            await client.service.health()
            assert type(_transport_of(client)).__name__ == "AsyncHTTPTransport"


async def test_the_default_under_asyncio_is_aiohttp(anyio_backend: str) -> None:
    with respx.mock(assert_all_mocked=False, assert_all_called=False) as mock:
        mock.get(f"{BASE}/health").respond(200, json=HEALTH)
        client = AsyncEmmi(base_url=BASE, max_retries=0, timeout=0.5)
        async with client:
            with contextlib.suppress(Exception):  # aiohttp goes past respx, to no such host
                await client.service.health()
            expected = "AiohttpTransport" if anyio_backend == "asyncio" else "AsyncHTTPTransport"
            assert type(_transport_of(client)).__name__ == expected


def test_an_unknown_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="http_backend must be one of auto, aiohttp, httpx"):
        AsyncEmmi(http_backend="requests")  # type: ignore[arg-type]
    monkeypatch.setenv("EMMI_HTTP_BACKEND", "curl")
    with pytest.raises(ValueError, match="EMMI_HTTP_BACKEND must be one of"):
        AsyncEmmi()


async def test_aiohttp_backend_refuses_trio(anyio_backend: str) -> None:
    if anyio_backend != "trio":
        pytest.skip("the refusal is trio's")
    async with AsyncEmmi(base_url=BASE, http_backend="aiohttp") as client:
        with pytest.raises(RuntimeError, match="asyncio only"):
            await client.service.health()
