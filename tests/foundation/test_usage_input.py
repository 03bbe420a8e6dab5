"""``client.usage.get`` checks its dates before anything is sent."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from emmi_async import AsyncEmmi, SingleTenantAuth

pytestmark = pytest.mark.anyio

KEY = "sk_test_single_abcdefghijklmn_abcd"


def _client(seen: list[httpx.Request]) -> AsyncEmmi:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        period = {"start": "2024-01-01", "end": "2024-01-31"}
        return httpx.Response(200, json={"period": period, "requests": 0, "entities": 0})

    return AsyncEmmi(
        auth=SingleTenantAuth(KEY),
        base_url="http://emmi.test/api/v1",
        transport=httpx.MockTransport(handler),
    )


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2024-13-01", "2024-12-31", "start must be a date"),
        ("2024-01-01", 20241231, "end must be a date"),
        ("2024-02-01", "2024-01-01", "is before start"),
    ],
)
async def test_bad_dates_fail_before_sending(start: object, end: object, message: str) -> None:
    seen: list[httpx.Request] = []
    async with _client(seen) as client:
        with pytest.raises(ValueError, match=message):
            await client.usage.get(start=start, end=end)  # type: ignore[arg-type]
    assert seen == []


async def test_dates_and_datetimes_become_iso_dates() -> None:
    seen: list[httpx.Request] = []
    async with _client(seen) as client:
        await client.usage.get(start=dt.datetime(2024, 1, 1, 12), end=dt.date(2024, 1, 31))
    assert seen[0].url.params["start"] == "2024-01-01"
    assert seen[0].url.params["end"] == "2024-01-31"
