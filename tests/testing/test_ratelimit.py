"""Token buckets per key and per end user: headers, 429 and Retry-After."""

from __future__ import annotations

import httpx
import pytest

from emmi_async.testing import RateLimit, ReferenceServer
from emmi_async.testing._ratelimit import Bucket
from tests.testing._helpers import connect

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limits(response: httpx.Response) -> tuple[int, int, int]:
    headers = response.headers
    return (
        int(headers["x-ratelimit-limit"]),
        int(headers["x-ratelimit-remaining"]),
        int(headers["x-ratelimit-reset"]),
    )


async def test_bucket_runs_dry_then_refills() -> None:
    clock = FakeClock()
    limit = RateLimit(requests=2, per_seconds=10)
    server = ReferenceServer(rate_limit=limit, clock=clock)
    async with server, connect(server, **{"X-API-Key": server.keys.single}) as client:
        first = await client.get("hazard-risk", params={"latitude": 0, "longitude": 0})
        second = await client.get("hazard-risk", params={"latitude": 0, "longitude": 0})
        refused = await client.get("hazard-risk", params={"latitude": 0, "longitude": 0})
        clock.now += 5
        refilled = await client.get("hazard-risk", params={"latitude": 0, "longitude": 0})
    assert limits(first) == (2, 1, 5)
    assert limits(second) == (2, 0, 10)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "5"
    assert limits(refused) == (2, 0, 10)
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limited")
    assert refilled.status_code == 200


def test_retry_after_is_at_least_one_second() -> None:
    clock = FakeClock()
    bucket = Bucket(RateLimit(requests=1000, per_seconds=1), clock)
    for _ in range(1000):
        assert bucket.take().allowed
    verdict = bucket.take()
    assert not verdict.allowed
    assert verdict.retry_after_s == 1


async def test_every_authenticated_response_carries_the_headers() -> None:
    server = ReferenceServer(clock=FakeClock())
    async with server, connect(server, **{"X-API-Key": server.keys.single}) as client:
        ok = await client.get("hazard-risk", params={"latitude": 0, "longitude": 0})
        invalid = await client.post("climate-risk", json=[{}])
        unauthenticated = await client.get(
            "hazard-risk", params={"latitude": 0, "longitude": 0}, headers={"X-API-Key": "x"}
        )
    assert limits(ok)[:2] == (100_000, 99_999)
    assert limits(invalid)[:2] == (100_000, 99_998)
    assert "x-ratelimit-limit" not in unauthenticated.headers


async def test_end_users_have_their_own_buckets() -> None:
    clock = FakeClock()
    server = ReferenceServer(
        rate_limit=RateLimit(requests=100), end_user_rate_limit=RateLimit(requests=1), clock=clock
    )
    results = []
    async with server:
        for user in ("a", "a", "b"):
            headers = {"X-API-Key": server.keys.multi, "X-End-User-Id": user}
            async with connect(server, **headers) as client:
                results.append(
                    await client.get("hazard-risk", params={"latitude": 0, "longitude": 0})
                )
    assert [r.status_code for r in results] == [200, 429, 200]
    assert limits(results[0])[:2] == (1, 0)
    assert limits(results[2])[:2] == (1, 0)


async def test_key_bucket_limits_all_end_users_together() -> None:
    server = ReferenceServer(rate_limit=RateLimit(requests=1, per_seconds=60), clock=FakeClock())
    statuses = []
    async with server:
        for user in ("a", "b"):
            headers = {"X-API-Key": server.keys.multi, "X-End-User-Id": user}
            async with connect(server, **headers) as client:
                response = await client.get("hazard-risk", params={"latitude": 0, "longitude": 0})
                statuses.append((response.status_code, response.headers.get("retry-after")))
    assert statuses == [(200, None), (429, "60")]


async def test_rate_limits_can_be_off() -> None:
    server = ReferenceServer(rate_limit=None, end_user_rate_limit=None)
    async with server, connect(server, **{"X-API-Key": server.keys.single}) as client:
        responses = [await client.get("") for _ in range(3)]
        data = await client.get("hazard-risk", params={"latitude": 0, "longitude": 0})
    assert all(r.status_code == 200 for r in responses)
    assert data.status_code == 200
    assert "x-ratelimit-limit" not in data.headers


def test_rate_limit_must_make_sense() -> None:
    with pytest.raises(ValueError, match="requests"):
        RateLimit(requests=0)
    with pytest.raises(ValueError, match="per_seconds"):
        RateLimit(requests=1, per_seconds=0)
