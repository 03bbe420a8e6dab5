"""The API sets no cookies: the SDK's own clients keep none; a caller's http_client does."""

from __future__ import annotations

import httpx
import pytest

from emmi_async import AsyncEmmi, SingleTenantAuth
from emmi_async._pool import _ApiClient

pytestmark = pytest.mark.anyio

KEY = "sk_test_single_abcdefghijklmn_abcd"
BASE_URL = "http://emmi.test/api/v1"


def _handler(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        period = {"start": "2024-01-01", "end": "2024-01-31"}
        return httpx.Response(
            200,
            headers={"set-cookie": "session=abc; Path=/"},
            json={"period": period, "requests": 0, "entities": 0},
        )

    return httpx.MockTransport(handler)


async def test_a_set_cookie_answer_is_not_sent_back() -> None:
    seen: list[httpx.Request] = []
    async with AsyncEmmi(
        auth=SingleTenantAuth(KEY), base_url=BASE_URL, transport=_handler(seen)
    ) as client:
        await client.usage.get(start="2024-01-01", end="2024-01-31")
        await client.usage.get(start="2024-01-01", end="2024-01-31")
    assert len(seen) == 2
    assert "cookie" not in seen[1].headers


async def test_a_callers_http_client_keeps_its_cookies() -> None:
    seen: list[httpx.Request] = []
    async with (
        httpx.AsyncClient(transport=_handler(seen)) as http,
        AsyncEmmi(auth=SingleTenantAuth(KEY), base_url=BASE_URL, http_client=http) as client,
    ):
        await client.usage.get(start="2024-01-01", end="2024-01-31")
        await client.usage.get(start="2024-01-01", end="2024-01-31")
    assert seen[1].headers.get("cookie") == "session=abc"


async def test_the_pools_own_http_client_stores_no_cookie() -> None:
    # What the change is for: httpx's client would parse and keep the cookie (33 µs per
    # response through http.cookiejar); the pool's own client takes nothing.
    seen: list[httpx.Request] = []
    request = httpx.Request("GET", f"{BASE_URL}/usage")
    async with httpx.AsyncClient(transport=_handler(seen)) as plain:
        await plain.send(request)
        assert len(plain.cookies.jar) == 1  # the control: the answer does set one
    async with _ApiClient(transport=_handler(seen)) as own:
        await own.send(request)
        assert len(own.cookies.jar) == 0
