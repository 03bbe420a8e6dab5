"""``with_raw_response`` on every resource method, and request ids on results."""

from __future__ import annotations

import pytest

from emmi_async import Emmi, RawResponse, ResultList, models
from emmi_async.testing import ReferenceServer

pytestmark = pytest.mark.anyio

ENTITY = {
    "entity_info": {"identifier": "ACME", "asset_type": "equity", "sector": "Technology"},
    "data": [{"year": 2023, "financials": {"currency": "USD", "revenue": 5.0e8}}],
}
REPORTED = {
    "entity_info": ENTITY["entity_info"],
    "data": [
        {
            "year": 2023,
            "emissions": {"scope1": 1200.0, "scope2": 800.0, "scope3": 5000.0},
            "financials": {"currency": "USD", "revenue": 5.0e8},
        }
    ],
}


def _check(raw: RawResponse[object]) -> None:
    assert raw.status_code in (200, 201)
    assert raw.request_id
    assert raw.headers["x-request-id"] == raw.request_id
    assert raw.attempts == 1
    assert raw.elapsed >= 0


async def test_analysis_methods() -> None:
    async with ReferenceServer() as server, server.client() as client:
        raw = await client.emissions.with_raw_response.estimate([ENTITY])
        _check(raw)
        assert raw.rate_limit is not None
        assert raw.rate_limit.limit
        results = raw.parse()
        assert isinstance(results, ResultList)
        assert results.request_id == raw.request_id
        assert results == await client.emissions.estimate([ENTITY])
        plain = await client.emissions.estimate(ENTITY)
        assert plain.request_id
        assert plain.request_id != raw.request_id
        _check(await client.climate_risk.with_raw_response.assess(REPORTED))
        _check(await client.temperature_alignment.with_raw_response.assess(REPORTED))
        _check(await client.rankings.with_raw_response.rank(REPORTED))


async def test_other_methods() -> None:
    async with ReferenceServer() as server:
        async with server.client() as client:
            hazard = await client.hazards.with_raw_response.get(latitude=51.5, longitude=-0.1)
            _check(hazard)
            assert isinstance(hazard.parse(), models.HazardRisk)
            health = await client.service.with_raw_response.health()
            assert isinstance(health.parse(), models.Health)
            assert isinstance(
                (await client.service.with_raw_response.info()).parse(), models.ServiceInfo
            )
            usage = await client.usage.with_raw_response.get(start="2024-01-01", end="2024-01-31")
            assert isinstance(usage.parse(), models.Usage)
        async with server.client("account") as account:
            created = await account.customers.with_raw_response.create(external_id="desk")
            assert created.status_code == 201
            customer = created.parse()
            got = await account.customers.with_raw_response.get(customer.id)
            assert got.parse() == customer
            ensured = await account.customers.with_raw_response.ensure(external_id="desk")
            assert ensured.parse().id == customer.id
            page = await account.customers.with_raw_response.list(limit=1)
            _check(page)
            assert isinstance(page.parse(), models.CustomerPage)


def test_every_resource_method_has_a_raw_twin() -> None:
    from emmi_async import AsyncEmmi

    client = AsyncEmmi()
    for name in (
        "emissions",
        "climate_risk",
        "temperature_alignment",
        "rankings",
        "hazards",
        "customers",
        "usage",
        "service",
    ):
        resource = getattr(client, name)
        methods = {
            m for m in dir(type(resource)) if not m.startswith("_") and m != "with_raw_response"
        }
        methods.discard("page")  # with_raw_response.list is one page
        raw = {m for m in dir(type(resource.with_raw_response)) if not m.startswith("_")}
        assert methods <= raw, (name, methods - raw)


def test_the_blocking_client_has_them_too(emmi_sync_client: Emmi) -> None:
    raw = emmi_sync_client.emissions.with_raw_response.estimate(ENTITY)
    assert raw.status_code == 200
    assert raw.request_id
    assert raw.parse().request_id == raw.request_id
    page = emmi_sync_client.service.with_raw_response.health()
    assert isinstance(page.parse(), models.Health)
