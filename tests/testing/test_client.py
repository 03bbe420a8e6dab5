"""The SDK client that ``ReferenceServer.client()`` and the plugin hand out, end to end."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from emmi_async.testing import FaultConfig, FaultKind, ReferenceServer
from emmi_async.testing._faults import FaultInjector
from tests.testing._helpers import equity, year

if TYPE_CHECKING:
    from emmi_async import AsyncEmmi

pytestmark = pytest.mark.anyio

ENTITY = equity([year(2023, {"scope1": 1000}, revenue=1_000_000_000)])


@pytest.mark.parametrize("model", ["single", "multi", "account"])
async def test_each_auth_model_through_the_sdk(any_server: ReferenceServer, model: str) -> None:
    async with any_server.client(model, end_user_id="desk_9") as client:  # type: ignore[arg-type]
        [result] = await client.emissions.estimate([ENTITY])
        health = await client.service.health()
    assert result.data[0].emissions.scope2 == 60000.0
    assert list(result.data[0].estimated) == ["scope2", "scope3"]
    assert health is not None


def fault_then_success(**rates: object) -> FaultConfig:
    """A config whose seeded draws fault the first request and spare the second."""
    for seed in range(100):
        config = FaultConfig(seed=seed, **rates)  # type: ignore[arg-type]
        injector = FaultInjector(config, seed=0)
        kinds = [injector.draw("/emissions-estimates").kind for _ in range(2)]
        if kinds[0] is not FaultKind.NONE and kinds[1] is FaultKind.NONE:
            return config
    raise AssertionError("no seed below 100 gives fault, then success")


@pytest.mark.parametrize(
    "rates", [{"status_rates": {503: 0.5}}, {"drop_rate": 0.5}, {"status_rates": {429: 0.5}}]
)
async def test_sdk_retries_through_an_injected_fault(
    any_server: ReferenceServer, rates: dict[str, object]
) -> None:
    any_server.faults = fault_then_success(**rates)
    async with any_server.client(max_retries=2) as client:
        [result] = await client.emissions.estimate([ENTITY])
    assert result.data[0].emissions.scope1 == 1000.0


async def test_sdk_customers_and_conflict(server: ReferenceServer) -> None:
    async with server.client("account") as client:
        created = await client.customers.create(external_id="team-a")
        ensured = await client.customers.ensure(external_id="team-a")
    assert ensured.id == created.id


async def test_emmi_client_fixture(emmi_client: AsyncEmmi) -> None:
    [result] = await emmi_client.emissions.estimate([ENTITY])
    assert result.data[0].data_quality_score == 2
