"""The server's own validation: 400, 404, 405, 413 and 422 with per-entity details."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emmi_async.testing import ReferenceServer
from tests.testing._helpers import connect, equity, year

pytestmark = pytest.mark.anyio

GOOD = equity([year(2023, {"scope1": 1}, revenue=1e6)])


async def problems(api: httpx.AsyncClient, path: str, entities: Any) -> list[dict[str, Any]]:
    response = await api.post(path, json=entities)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["type"] == "validation_error"
    assert error["request_id"] == response.headers["x-request-id"]
    return list(error["details"])


def fields(details: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(d["index"], d["field"]) for d in details]


async def test_malformed_json_is_400(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "emissions-estimates", content=b"[{", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_body_must_be_an_array(api: httpx.AsyncClient) -> None:
    response = await api.post("climate-risk", json=GOOD)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"


async def test_empty_array_gives_empty_results(api: httpx.AsyncClient) -> None:
    response = await api.post("emissions-estimates", json=[])
    assert response.json() == {"results": []}


async def test_more_than_100_entities_is_413(api: httpx.AsyncClient) -> None:
    ok = await api.post("emissions-estimates", json=[GOOD] * 100)
    too_many = await api.post("emissions-estimates", json=[GOOD] * 101)
    assert ok.status_code == 200
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "too_many_entities"


async def test_every_offending_entity_is_named(api: httpx.AsyncClient) -> None:
    bad_year = equity([{"year": "2023", "financials": {"revenue": 1}}])
    negative = equity([year(2023, {"scope1": -1}, revenue=-5)])
    details = await problems(api, "emissions-estimates", [GOOD, bad_year, GOOD, negative, 7])
    assert fields(details) == [
        (1, "data[0].year"),
        (3, "data[0].emissions.scope1"),
        (3, "data[0].financials.revenue"),
        (4, ""),
    ]
    assert all(d["message"] for d in details)


async def test_required_fields(api: httpx.AsyncClient) -> None:
    entities = [
        {"data": [year(2023, revenue=1)]},
        {"entity_info": {"asset_type": "equity"}},
        {"entity_info": {"asset_type": "bonds"}, "data": [year(2023, revenue=1)]},
        equity([year(2023, {"scope1": 1}), year(2023, revenue=1)], name=5),
        equity([year(2023, {"scope1": 1}, revenue="1")]),
        equity([year(1800, {"scope1": "x"})]),
        equity([{"year": 2023, "financials": {"currency": "usd", "revenue": 1}}]),
    ]
    details = await problems(api, "emissions-estimates", entities)
    assert fields(details) == [
        (0, "entity_info"),
        (1, "data"),
        (2, "entity_info.asset_type"),
        (3, "entity_info.name"),
        (3, "data[1].year"),
        (4, "data[0].financials.revenue"),
        (5, "data[0].year"),
        (5, "data[0].emissions.scope1"),
        (6, "data[0].financials.currency"),
    ]


async def test_estimates_need_a_base_for_missing_scopes(api: httpx.AsyncClient) -> None:
    details = await problems(api, "emissions-estimates", [equity([year(2023, {"scope1": 1})])])
    assert fields(details) == [(0, "data[0].financials")]


async def test_asset_type_emission_keys(api: httpx.AsyncClient) -> None:
    entities = [
        equity([year(2023, {"scope1": 1}, revenue=1)], asset_type="debt"),
        equity([year(2023, {"scope3": 1}, revenue=1)], asset_type="infrastructure"),
        equity([year(2023, {"scope3": 1}, revenue=1)], asset_type="property"),
        equity([year(2023, {"underlying_scope1": 1}, revenue=1)]),
        equity([year(2023, {"underlying_scope3": 1}, revenue=1)], asset_type="debt"),
    ]
    details = await problems(api, "emissions-estimates", entities)
    assert fields(details) == [
        (0, "data[0].emissions.scope1"),
        (1, "data[0].emissions.scope3"),
        (2, "data[0].emissions.scope3"),
        (3, "data[0].emissions.underlying_scope1"),
    ]


@pytest.mark.parametrize(
    "path",
    [
        "emissions-projections",
        "climate-risk-projections",
        "temperature-alignment-projections",
        "company-ranking",
    ],
)
async def test_equity_only_endpoints(api: httpx.AsyncClient, path: str) -> None:
    debt = equity([year(2023, {"underlying_scope1": 1}, revenue=1)], asset_type="debt")
    details = await problems(api, path, [debt])
    assert fields(details) == [(0, "entity_info.asset_type")]
    assert "equity" in details[0]["message"]


async def test_climate_risk_rules(api: httpx.AsyncClient) -> None:
    no_emissions = equity([year(2023, revenue=1), year(2024, {}, revenue=1)])
    unknown = {**GOOD, "scenarios": ["ipcc_net_zero", "rcp_made_up"]}
    empty = {**GOOD, "scenarios": []}
    details = await problems(api, "climate-risk", [no_emissions, unknown, empty])
    assert fields(details) == [
        (0, "data[0].emissions"),
        (0, "data[1].emissions"),
        (1, "scenarios[1]"),
        (2, "scenarios"),
    ]


async def test_temperature_alignment_needs_emissions_and_financials(
    api: httpx.AsyncClient,
) -> None:
    entity = equity([year(2023, {"scope1": 1}), year(2024, revenue=1)])
    details = await problems(api, "temperature-alignment", [entity])
    assert fields(details) == [(0, "data[0].financials"), (0, "data[1].emissions")]


async def test_monte_carlo_rules(api: httpx.AsyncClient) -> None:
    two_years = equity([year(2022, {"scope1": 1}), year(2023, {"scope1": 1})])
    history = [year(y, {"scope1": 1}) for y in (2020, 2021, 2022)]
    entities = [
        {**two_years, "method": "monte_carlo", "projection_years": [2030]},
        {**equity(history), "method": "monte_carlo"},
        {**equity(history), "method": "monte_carlo", "projection_years": [2022, 2030]},
        {**equity(history), "method": "crystal_ball"},
    ]
    details = await problems(api, "emissions-projections", entities)
    assert fields(details) == [
        (0, "data"),
        (1, "projection_years"),
        (2, "projection_years[0]"),
        (3, "method"),
    ]


async def test_glide_path_rules(api: httpx.AsyncClient) -> None:
    target = {"baseline_year": 2022, "target_year": 2030, "reduction": 0.5}
    with_emissions = equity([year(2022, {"scope1": 1})])
    entities = [
        {**with_emissions, "method": "glide_path"},
        {**equity([year(2022, revenue=1)]), "method": "glide_path", "targets": [target]},
        {
            **with_emissions,
            "method": "glide_path",
            "targets": [{"baseline_year": 2022, "target_year": 2020, "reduction": 2}],
        },
        {
            **with_emissions,
            "method": "glide_path",
            "targets": [{**target, "target_year": 2022 + 0, "reduction": 0.5}],
        },
        {**equity([year(2031, {"scope1": 1})]), "method": "glide_path", "targets": [target]},
    ]
    details = await problems(api, "emissions-projections", entities)
    assert fields(details) == [
        (0, "targets"),
        (1, "data"),
        (2, "targets[0].target_year"),
        (2, "targets[0].reduction"),
        (3, "targets[0].target_year"),
        (4, "projection_years"),
    ]


async def test_projection_endpoints_need_one_baseline_and_future_years(
    api: httpx.AsyncClient,
) -> None:
    two = equity([year(2022, {"scope1": 1}, revenue=1), year(2023, {"scope1": 1}, revenue=1)])
    one = equity([year(2023, {"scope1": 1}, revenue=1)])
    risk = [
        {
            **two,
            "projections": [{"year": 2030, "emissions": {"scope1": 1}}],
            "scenarios": ["ngfs_ndcs"],
        },
        {**one, "projections": [], "scenarios": ["ngfs_ndcs"]},
        {**one, "projections": [{"year": 2020, "emissions": {}}]},
    ]
    details = await problems(api, "climate-risk-projections", risk)
    assert fields(details) == [
        (0, "data"),
        (1, "projections"),
        (2, "projections[0].year"),
        (2, "projections[0].emissions"),
        (2, "scenarios"),
    ]
    alignment = [
        {**two, "projected_emissions": [{"year": 2030, "emissions": {"scope1": 1}}]},
        {**one},
        {
            **equity([year(2023, {"scope1": 1})]),
            "projected_emissions": [{"year": 2030, "emissions": {"scope1": 1}}],
        },
    ]
    details = await problems(api, "temperature-alignment-projections", alignment)
    assert fields(details) == [(0, "data"), (1, "projected_emissions"), (2, "data[0].financials")]


async def test_company_ranking_needs_revenue(api: httpx.AsyncClient) -> None:
    entity = equity([year(2023, {"scope1": 1}, total_assets=5)])
    details = await problems(api, "company-ranking", [entity])
    assert fields(details) == [(0, "data[0].financials.revenue")]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"longitude": 1}, "latitude"),
        ({"latitude": 91, "longitude": 1}, "latitude"),
        ({"latitude": 1, "longitude": "east"}, "longitude"),
        ({"latitude": 1, "longitude": -181}, "longitude"),
    ],
)
async def test_hazard_risk_parameters(
    api: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await api.get("hazard-risk", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


async def test_customer_and_usage_parameters(server: ReferenceServer) -> None:
    async with connect(server, **{"X-API-Key": server.keys.account}) as client:
        malformed = await client.post(
            "customers", content=b"{", headers={"content-type": "application/json"}
        )
        not_object = await client.post("customers", json=["x"])
        no_id = await client.post("customers", json={"name": "x"})
        bad_name = await client.post("customers", json={"external_id": "x", "name": 3})
        bad_limit = await client.get("customers", params={"limit": 0})
        bad_cursor = await client.get("customers", params={"after": "nope"})
        no_end = await client.get("usage", params={"start": "2024-01-01"})
        bad_date = await client.get("usage", params={"start": "2024-13-01", "end": "2024-12-01"})
        reversed_ = await client.get("usage", params={"start": "2024-02-01", "end": "2024-01-01"})
        unknown_customer = await client.get(
            "usage", params={"start": "2024-01-01", "end": "2024-01-01", "customer_id": "x"}
        )
    assert malformed.status_code == not_object.status_code == 400
    for response, field in [
        (no_id, "external_id"),
        (bad_name, "name"),
        (bad_limit, "limit"),
        (bad_cursor, "after"),
        (no_end, "end"),
        (bad_date, "start"),
        (reversed_, "end"),
    ]:
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["field"] == field
    assert unknown_customer.status_code == 404


async def test_unknown_path_and_method(api: httpx.AsyncClient, server: ReferenceServer) -> None:
    missing = await api.get("no-such-thing")
    wrong_method = await api.get("emissions-estimates")
    outside = await api.get(server.base_url.replace("/api/v1", "/elsewhere"))
    assert missing.status_code == outside.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    assert "x-request-id" in missing.headers
