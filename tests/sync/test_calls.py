"""Every member of the blocking client reaches the reference server and returns models."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from emmi_async import APIResponse, Emmi, models
from emmi_async.auth import AccountCustomerAuth, MultiTenantAuth
from emmi_async.sync import SyncCustomersResource, SyncEmissionsResource
from emmi_async.testing import ReferenceServer
from tests.sync.conftest import entity


def test_service_endpoints(client: Emmi) -> None:
    assert isinstance(client.service.info(), models.ServiceInfo)
    assert isinstance(client.service.health(), models.Health)


def test_analysis_endpoints_return_models_in_input_order(client: Emmi) -> None:
    first, second = entity("A"), entity("B", total_assets=2_000_000_000)
    estimates = client.emissions.estimate([first, second])
    assert [type(r) for r in estimates] == [models.EmissionsEstimateResult] * 2
    assert estimates[0].data[0].emissions.scope1 == 1000.0
    [risk] = client.climate_risk.assess(first)
    assert isinstance(risk, models.ClimateRiskResult)
    [alignment] = client.temperature_alignment.assess([first])
    assert isinstance(alignment, models.TemperatureAlignmentResult)
    [ranking] = client.rankings.rank([first])
    assert isinstance(ranking, models.CompanyRankingResult)


def test_projection_endpoints(client: Emmi) -> None:
    history = entity("P")
    history["data"] = [
        {"year": 2020, "emissions": {"scope1": 1000}},
        {"year": 2021, "emissions": {"scope1": 900}},
        {"year": 2022, "emissions": {"scope1": 810}},
    ]
    [projection] = client.emissions.project(
        [{**history, "method": "monte_carlo", "projection_years": [2023, 2026]}]
    )
    assert isinstance(projection, models.EmissionsProjectionResult)
    assert [item.year for item in projection.data] == [2023, 2026]
    base = entity("R", total_assets=1_000_000)
    [risk] = client.climate_risk.project(
        [
            {
                **base,
                "projections": [{"year": 2030, "emissions": {"scope1": 500}}],
                "scenarios": ["ipcc_two_degree"],
            }
        ]
    )
    assert risk.data[0].year == 2030
    [aligned] = client.temperature_alignment.project(
        [{**base, "projected_emissions": [{"year": 2030, "emissions": {"scope1": 660_000}}]}]
    )
    assert isinstance(aligned, models.TemperatureAlignmentProjectionResult)


def test_hazards(client: Emmi) -> None:
    risk = client.hazards.get(latitude=0.0, longitude=90.0)
    assert isinstance(risk, models.HazardRisk)
    assert len(risk.hazards) == 16


def test_customers_create_get_ensure_and_list(make_client: Callable[..., Emmi]) -> None:
    client = make_client("account")
    created = [client.customers.create(external_id=f"ext-{i}", name=f"C{i}") for i in range(5)]
    assert client.customers.get(created[0].id) == created[0]
    assert client.customers.get(str(created[1].id)).external_id == "ext-1"
    assert client.customers.ensure(external_id="ext-2") == created[2]
    listed = client.customers.list(limit=2)
    assert isinstance(listed, Iterator)
    ids = [customer.id for customer in listed]
    assert set(ids) >= {customer.id for customer in created}
    assert len(ids) == len(set(ids))


def test_usage(make_client: Callable[..., Emmi]) -> None:
    client = make_client("account")
    client.emissions.estimate([entity()])
    usage = client.usage.get(start=dt.date(2000, 1, 1), end="2999-12-31")
    assert isinstance(usage, models.Usage)
    assert usage.requests >= 1


def test_raw_request(client: Emmi) -> None:
    response = client.request("GET", "health", scope="public")
    assert isinstance(response, APIResponse)
    assert response.status_code == 200
    assert response.request_id


def test_settings_properties_and_repr(client: Emmi) -> None:
    assert str(client.base_url).endswith("/api/v1")
    assert client.max_retries == 2
    assert client.max_connections == 64
    assert isinstance(client.timeout, httpx.Timeout)
    assert client.auth is not None
    assert not client.is_closed
    assert repr(client).startswith("Emmi(auth=SingleTenantAuth(")
    assert client.emissions.__class__ is SyncEmissionsResource
    assert isinstance(client.customers, SyncCustomersResource)


def test_constructor_takes_the_async_settings(server: ReferenceServer) -> None:
    with Emmi(
        api_key=server.keys.single,
        base_url=server.base_url,
        transport=server.transport(),
        max_retries=0,
        max_connections=3,
        timeout=7.0,
        default_headers={"X-Trace": "t1"},
    ) as client:
        assert client.max_retries == 0
        assert client.max_connections == 3
        assert client.timeout.read == 7.0
        assert client.service.health() is not None


def test_views_share_the_portal_and_act_for_others(
    server: ReferenceServer, make_client: Callable[..., Emmi]
) -> None:
    account = make_client("account")
    other = account.customers.create(external_id="other")
    view = account.for_customer(other.id)
    assert type(view) is Emmi
    assert isinstance(view.auth, AccountCustomerAuth)
    assert view.auth.customer_id == str(other.id)
    assert view._portal is account._portal
    view.emissions.estimate([entity()])
    assert view.usage.get(start="2000-01-01", end="2999-12-31").requests == 1

    multi = make_client("multi")
    acme = multi.for_end_user("acme_1")
    assert isinstance(acme.auth, MultiTenantAuth)
    assert acme.auth.end_user_id == "acme_1"
    assert acme.emissions.estimate([entity()])

    quick = account.with_options(max_retries=0, timeout=3.0, headers={"X-Trace": "v"})
    assert quick.max_retries == 0
    assert quick.timeout.read == 3.0
    assert account.max_retries == 2
    assert quick.service.health() is not None

    view.close()  # a view's close leaves the pool (and the loop) to its parent
    assert not account.is_closed
    assert account.service.health() is not None


def test_views_refuse_the_wrong_auth_model(client: Emmi) -> None:
    with pytest.raises(TypeError, match="for_customer"):
        client.for_customer(uuid.uuid4())
