"""Fault injection, in-process and over loopback: every kind, reproducibly."""

from __future__ import annotations

import httpx
import orjson
import pytest

from emmi_async.testing import FaultConfig, FaultKind, ReferenceServer
from emmi_async.testing._faults import FaultInjector
from tests.testing._helpers import connect, equity, year

pytestmark = pytest.mark.anyio

ENTITIES = [equity([year(2023, revenue=1e6)]) for _ in range(5)]


async def estimate(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("emissions-estimates", json=ENTITIES)


@pytest.fixture
def key(any_server: ReferenceServer) -> dict[str, str]:
    return {"X-API-Key": any_server.keys.single}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_injected_server_errors(
    any_server: ReferenceServer, key: dict[str, str], status: int
) -> None:
    any_server.faults = FaultConfig(status_rates={status: 1.0})
    async with connect(any_server, **key) as client:
        response = await estimate(client)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("api_error", "injected_fault")
    assert error["request_id"] == response.headers["x-request-id"]


async def test_injected_429_has_retry_after(
    any_server: ReferenceServer, key: dict[str, str]
) -> None:
    any_server.set_faults(status_rates={429: 1.0}, retry_after=7)
    async with connect(any_server, **key) as client:
        response = await estimate(client)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"]["type"] == "rate_limit_error"


async def test_dropped_connection_is_a_transport_error(
    any_server: ReferenceServer, key: dict[str, str]
) -> None:
    any_server.faults = FaultConfig(drop_rate=1.0)
    async with connect(any_server, **key) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await estimate(client)
        any_server.faults = None
        assert (await estimate(client)).status_code == 200


async def test_truncated_body_is_a_transport_error(
    any_server: ReferenceServer, key: dict[str, str]
) -> None:
    any_server.faults = FaultConfig(truncate_rate=1.0)
    async with connect(any_server, **key) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
            await estimate(client)
        any_server.faults = None
        assert (await estimate(client)).status_code == 200


async def test_malformed_body_is_invalid_json(
    any_server: ReferenceServer, key: dict[str, str]
) -> None:
    any_server.faults = FaultConfig(malformed_rate=1.0)
    async with connect(any_server, **key) as client:
        response = await estimate(client)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


async def test_slow_body_still_arrives_whole(
    any_server: ReferenceServer, key: dict[str, str]
) -> None:
    any_server.faults = FaultConfig(slow_body_rate=1.0, slow_body_ms=20)
    async with connect(any_server, **key) as client:
        slow = await estimate(client)
        any_server.faults = None
        normal = await estimate(client)
    assert slow.status_code == 200
    assert slow.json() == normal.json()


async def test_latency_is_applied(any_server: ReferenceServer, key: dict[str, str]) -> None:
    any_server.faults = FaultConfig(latency_ms=5, latency_jitter_ms=5)
    async with connect(any_server, **key) as client:
        assert (await estimate(client)).status_code == 200


async def test_faulted_requests_are_not_counted(server: ReferenceServer) -> None:
    server.faults = FaultConfig(status_rates={503: 1.0})
    async with connect(server, **{"X-API-Key": server.keys.single}) as client:
        assert (await estimate(client)).status_code == 503
        server.faults = FaultConfig(
            status_rates={503: 1.0}, paths=frozenset({"/emissions-estimates"})
        )
        usage = await client.get("usage", params={"start": "2000-01-01", "end": "2999-01-01"})
    assert usage.status_code == 200
    assert usage.json()["requests"] == 0


async def test_retrying_gets_through_a_partial_error_rate(server: ReferenceServer) -> None:
    server.faults = FaultConfig.transient(0.5, seed=11)
    statuses = []
    async with connect(server, **{"X-API-Key": server.keys.single}) as client:
        for _ in range(40):
            statuses.append((await estimate(client)).status_code)
    assert 200 in statuses
    assert set(statuses) <= {200, 500, 502, 503}
    assert len(set(statuses)) > 2


async def test_faults_replay_from_their_seed() -> None:
    async def run(seed: int) -> list[object]:
        server = ReferenceServer(seed=seed, faults=FaultConfig.transient(0.3, drop_rate=0.2))
        outcomes: list[object] = []
        async with server, connect(server) as client:
            for _ in range(30):
                try:
                    outcomes.append((await client.get("health")).status_code)
                except httpx.RemoteProtocolError:
                    outcomes.append("drop")
        return outcomes

    first, again, other = await run(1), await run(1), await run(2)
    assert first == again
    assert first != other
    assert "drop" in first
    assert 200 in first


def test_injector_plans() -> None:
    config = FaultConfig(
        status_rates={500: 0.25}, drop_rate=0.25, latency_ms=10, latency_jitter_ms=4
    )
    injector = FaultInjector(config, seed=5)
    plans = [injector.draw("/health") for _ in range(400)]
    kinds = {plan.kind for plan in plans}
    assert kinds == {FaultKind.STATUS, FaultKind.DROP, FaultKind.NONE}
    assert all(plan.status == 500 for plan in plans if plan.kind is FaultKind.STATUS)
    assert all(0.010 <= plan.delay_s <= 0.014 for plan in plans)
    limited = FaultInjector(FaultConfig(drop_rate=1.0, paths=frozenset({"/usage"})), seed=0)
    assert limited.draw("/health").kind is FaultKind.NONE
    assert limited.draw("/usage").kind is FaultKind.DROP


@pytest.mark.parametrize(
    "kwargs",
    [
        {"drop_rate": 1.5},
        {"drop_rate": 0.6, "truncate_rate": 0.6},
        {"status_rates": {404: 0.1}},
        {"retry_after": 0},
        {"latency_ms": -1},
    ],
)
def test_fault_config_is_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FaultConfig(**kwargs)  # type: ignore[arg-type]
