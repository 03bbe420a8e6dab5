"""Happy paths of every endpoint, with exact values from the documented formulas."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emmi_async.testing import ReferenceServer
from tests.testing._helpers import connect, equity, info_without_id, year

pytestmark = pytest.mark.anyio

BILLION = 1_000_000_000


async def post(api: httpx.AsyncClient, path: str, entities: list[dict[str, Any]]) -> Any:
    response = await api.post(path, json=entities)
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"].startswith("req_")
    return response.json()["results"]


async def test_service_info_and_health_need_no_key(any_server: ReferenceServer) -> None:
    async with connect(any_server) as client:
        info = await client.get("")
        health = await client.get("health")
    assert info.status_code == 200
    assert info.json()["api_version"] == "v1"
    assert info.json()["max_entities_per_request"] == 100
    assert health.json() == {"status": "ok"}
    assert health.headers["x-request-id"] != info.headers["x-request-id"]
    assert "x-ratelimit-limit" not in health.headers


async def test_estimates_take_reported_scopes_and_estimate_the_rest(
    api: httpx.AsyncClient,
) -> None:
    entity = equity([year(2023, {"scope1": 1000}, revenue=BILLION)])
    [result] = await post(api, "emissions-estimates", [entity])
    assert result["entity_info"] == info_without_id(entity)
    assert "identifier" not in result["entity_info"]
    assert result["data"] == [
        {
            "year": 2023,
            "emissions": {"scope1": 1000.0, "scope2": 60000.0, "scope3": 2400000.0},
            "estimated": ["scope2", "scope3"],
            "data_quality_score": 2,
        }
    ]


async def test_estimates_calibrate_on_the_entitys_own_reported_years(
    api: httpx.AsyncClient,
) -> None:
    entity = equity(
        [year(2022, {"scope2": 50_000}, revenue=BILLION), year(2023, {}, revenue=2 * BILLION)]
    )
    [result] = await post(api, "emissions-estimates", [entity])
    later = result["data"][1]
    assert later["emissions"] == {"scope1": 1200000.0, "scope2": 100000.0, "scope3": 4800000.0}
    assert later["data_quality_score"] == 3
    assert result["data"][0]["data_quality_score"] == 2


async def test_estimates_per_asset_type(api: httpx.AsyncClient) -> None:
    debt = equity([year(2023, total_assets=200_000_000)], asset_type="debt", sector="Utilities")
    prop = equity([year(2023, {"scope1": 10, "scope2": 20})], asset_type="property")
    infra = equity([year(2023, revenue=1_000_000)], asset_type="infrastructure", sector="Other")
    results = await post(api, "emissions-estimates", [debt, prop, infra])
    assert [r["entity_info"]["asset_type"] for r in results] == [
        "debt",
        "property",
        "infrastructure",
    ]
    assert results[0]["data"][0] == {
        "year": 2023,
        "emissions": {
            "underlying_scope1": 300000.0,
            "underlying_scope2": 6000.0,
            "underlying_scope3": 60000.0,
        },
        "estimated": ["underlying_scope1", "underlying_scope2", "underlying_scope3"],
        "data_quality_score": 5,
    }
    assert results[1]["data"][0]["emissions"] == {"scope1": 10.0, "scope2": 20.0}
    assert results[1]["data"][0]["estimated"] == []
    assert results[1]["data"][0]["data_quality_score"] == 1
    assert results[2]["data"][0]["emissions"] == {"scope1": 100.0, "scope2": 50.0}
    assert results[2]["data"][0]["data_quality_score"] == 4


async def test_climate_risk_per_year_and_scenario(api: httpx.AsyncClient) -> None:
    entity = equity(
        [
            year(
                2023,
                {"scope1": 1000, "scope2": 500, "scope3": 99_999},
                total_assets=1e6,
                revenue=5e6,
            ),
            year(2024, {"scope1": 10}),
        ]
    )
    entity["scenarios"] = ["ipcc_net_zero", "ngfs_ndcs"]
    [result] = await post(api, "climate-risk", [entity])
    first, second = result["data"]
    assert first == {
        "year": 2023,
        "scenarios": [
            {
                "scenario": "ipcc_net_zero",
                "transition_risk": {"potential_carbon_liability": 375000.0, "pcl_to_value": 0.375},
                "physical_risk": {"average_annual_loss": 1000.0},
            },
            {
                "scenario": "ngfs_ndcs",
                "transition_risk": {"potential_carbon_liability": 90000.0, "pcl_to_value": 0.09},
                "physical_risk": {"average_annual_loss": 3000.0},
            },
        ],
    }
    assert second["scenarios"][0]["transition_risk"] == {
        "potential_carbon_liability": 2500.0,
        "pcl_to_value": None,
    }
    assert second["scenarios"][0]["physical_risk"] == {"average_annual_loss": None}


async def test_climate_risk_defaults_to_the_ipcc_scenarios(api: httpx.AsyncClient) -> None:
    [result] = await post(api, "climate-risk", [equity([year(2023, {"scope1": 1})])])
    names = [item["scenario"] for item in result["data"][0]["scenarios"]]
    assert names == ["ipcc_net_zero", "ipcc_two_degree", "ipcc_four_degree"]


async def test_temperature_alignment(api: httpx.AsyncClient) -> None:
    entity = equity(
        [
            year(2021, {"scope1": 600_000, "scope2": 60_000}, revenue=BILLION),
            year(2022, {"scope1": 330_000}, revenue=BILLION),
            year(2023, {"scope1": 6_600_000}, total_assets=BILLION),
        ]
    )
    [result] = await post(api, "temperature-alignment", [entity])
    assert result["data"] == [
        {"year": 2021, "temperature_alignment": 2.0},
        {"year": 2022, "temperature_alignment": 1.6},
        {"year": 2023, "temperature_alignment": 6.0},
    ]


async def test_monte_carlo_projects_scopes_with_three_years(api: httpx.AsyncClient) -> None:
    entity = equity(
        [
            year(2020, {"scope1": 1000, "scope2": 5}),
            year(2021, {"scope1": 900, "scope2": 5}),
            year(2022, {"scope1": 810}),
        ]
    )
    entity.update(method="monte_carlo", projection_years=[2023, 2026])
    [result] = await post(api, "emissions-projections", [entity])
    assert result["data"] == [
        {
            "year": 2023,
            "emissions": {"scope1": 729.0},
            "p5": {"scope1": 656.1},
            "p95": {"scope1": 801.9},
        },
        {
            "year": 2026,
            "emissions": {"scope1": 531.44},
            "p5": {"scope1": 425.15},
            "p95": {"scope1": 637.73},
        },
    ]


async def test_glide_path_interpolates_to_targets(api: httpx.AsyncClient) -> None:
    entity = equity([year(2022, {"scope1": 1000, "scope2": 400}), year(2023, {"scope1": 900})])
    entity.update(
        method="glide_path",
        targets=[{"baseline_year": 2021, "target_year": 2030, "reduction": 0.5}],
    )
    [result] = await post(api, "emissions-projections", [entity])
    assert [item["year"] for item in result["data"]] == list(range(2024, 2031))
    assert result["data"][0] == {"year": 2024, "emissions": {"scope1": 833.33, "scope2": 333.33}}
    assert result["data"][-1] == {"year": 2030, "emissions": {"scope1": 500.0, "scope2": 200.0}}
    assert "p5" not in result["data"][0]


async def test_glide_path_with_two_targets_and_projection_years(api: httpx.AsyncClient) -> None:
    entity = equity([year(2022, {"scope1": 1000, "scope2": 400})])
    entity.update(
        method="glide_path",
        projection_years=[2026, 2035, 2045],
        targets=[
            {"baseline_year": 2022, "target_year": 2030, "reduction": 0.5, "scopes": ["scope1"]},
            {"baseline_year": 2022, "target_year": 2040, "reduction": 0.9, "scopes": ["scope1"]},
        ],
    )
    [result] = await post(api, "emissions-projections", [entity])
    assert result["data"] == [
        {"year": 2026, "emissions": {"scope1": 750.0}},
        {"year": 2035, "emissions": {"scope1": 300.0}},
        {"year": 2045, "emissions": {"scope1": 100.0}},
    ]


async def test_climate_risk_projections(api: httpx.AsyncClient) -> None:
    entity = equity([year(2023, {"scope1": 1000, "scope2": 0}, total_assets=1e6)])
    entity.update(
        projections=[{"year": 2030, "emissions": {"scope1": 500}}], scenarios=["ipcc_two_degree"]
    )
    [result] = await post(api, "climate-risk-projections", [entity])
    assert result["data"] == [
        {
            "year": 2030,
            "scenarios": [
                {
                    "scenario": "ipcc_two_degree",
                    "transition_risk": {
                        "potential_carbon_liability": 75000.0,
                        "pcl_to_value": 0.075,
                    },
                    "physical_risk": {"average_annual_loss": 1500.0},
                }
            ],
        }
    ]


async def test_temperature_alignment_projections(api: httpx.AsyncClient) -> None:
    entity = equity([year(2023, {"scope1": 1}, revenue=BILLION)])
    entity["projected_emissions"] = [
        {"year": 2030, "emissions": {"scope1": 660_000}},
        {"year": 2040, "emissions": {"scope1": 0}},
    ]
    [result] = await post(api, "temperature-alignment-projections", [entity])
    assert result["data"] == [
        {"year": 2030, "temperature_alignment": 2.0},
        {"year": 2040, "temperature_alignment": 1.2},
    ]


async def test_company_ranking(api: httpx.AsyncClient) -> None:
    emissions = {"scope1": 600_000, "scope2": 60_000, "scope3": 8_520_000}
    entity = equity([year(2023, emissions, revenue=BILLION)], industry="Oil & Gas")
    [result] = await post(api, "company-ranking", [entity])
    assert result["data"] == [
        {
            "year": 2023,
            "rankings": {
                "industry": {
                    "scope1_intensity_percentile": 40.0,
                    "scope1_2_intensity_percentile": 40.0,
                    "scope1_2_3_intensity_percentile": 66.7,
                },
                "sector": {
                    "scope1_intensity_percentile": 50.0,
                    "scope1_2_intensity_percentile": 50.0,
                    "scope1_2_3_intensity_percentile": 75.0,
                },
            },
        }
    ]


async def test_results_come_in_input_order(api: httpx.AsyncClient) -> None:
    entities = [
        equity([year(2023, revenue=(i + 1) * 1_000_000)], identifier=f"E{i}", name=f"n{i}")
        for i in range(30)
    ]
    results = await post(api, "emissions-estimates", entities)
    assert [r["entity_info"]["name"] for r in results] == [f"n{i}" for i in range(30)]
    assert [r["data"][0]["emissions"]["scope1"] for r in results] == [
        600.0 * (i + 1) for i in range(30)
    ]


async def test_hazard_risk(api: httpx.AsyncClient) -> None:
    response = await api.get("hazard-risk", params={"latitude": 0, "longitude": 90})
    assert response.status_code == 200
    body = response.json()
    assert body["location"] == {"latitude": 0.0, "longitude": 90.0}
    assert len(body["hazards"]) == 16
    by_key = {(h["hazard"], h["scenario"]): h for h in body["hazards"]}
    assert by_key["cyclone", "baseline"] == {
        "hazard": "cyclone",
        "scenario": "baseline",
        "year": 2020,
        "intensity": 75.0,
        "probability": 0.03,
    }
    assert by_key["cyclone", "rcp8p5"]["intensity"] == 112.5
    assert by_key["cyclone", "rcp8p5"]["probability"] == 0.045
    assert by_key["cyclone", "rcp8p5"]["year"] == 2050
    polar = (await api.get("hazard-risk", params={"latitude": -90, "longitude": 0})).json()
    assert polar["hazards"][0]["intensity"] == 37.5


@pytest.mark.parametrize("prefix", ["", "/latest"])
async def test_customers_create_get_and_conflict(server: ReferenceServer, prefix: str) -> None:
    root = server.base_url.split("/api/v1")[0]
    url = f"{root}{prefix}/api/v1/customers"
    async with connect(server, **{"X-API-Key": server.keys.account}) as client:
        created = await client.post(url, json={"external_id": "desk-7", "name": "Desk 7"})
        assert created.status_code == 201
        customer = created.json()
        assert customer["external_id"] == "desk-7"
        assert customer["name"] == "Desk 7"
        assert customer["created_at"].endswith("Z")
        again = await client.post(url, json={"external_id": "desk-7"})
        fetched = await client.get(f"{url}/{customer['id']}")
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["type"] == "conflict_error"
    assert error["code"] == "customer_exists"
    assert error["existing_id"] == customer["id"]
    assert error["details"][0]["existing_id"] == customer["id"]
    assert fetched.json() == customer
    assert server.keys.register_customer("desk-7") == customer["id"]


async def test_customer_ids_are_deterministic_per_seed() -> None:
    first = ReferenceServer(seed=3)
    second = ReferenceServer(seed=3)
    other = ReferenceServer(seed=4)
    assert first.keys.account == second.keys.account != other.keys.account
    ids = [s.keys.register_customer("x") for s in (first, second, other)]
    assert ids[0] == ids[1] != ids[2]


async def test_customers_list_paginates_with_a_cursor(server: ReferenceServer) -> None:
    ids = [server.keys.register_customer(f"c{i}") for i in range(5)]
    seen: list[str] = []
    pages = 0
    async with connect(server, **{"X-API-Key": server.keys.account}) as client:
        params: dict[str, Any] = {"limit": 2}
        while True:
            page = (await client.get("customers", params=params)).json()
            pages += 1
            seen += [c["id"] for c in page["data"]]
            if not page["has_more"]:
                assert page["next_cursor"] is None
                break
            params["after"] = page["next_cursor"]
        default = (await client.get("customers")).json()
    assert seen == ids
    assert pages == 3
    assert len(default["data"]) == 5
    assert default["has_more"] is False


async def test_unknown_customer_is_404(server: ReferenceServer) -> None:
    other = server.keys.add("account")
    foreign = server.keys.register_customer("theirs", account_key=other)
    async with connect(server, **{"X-API-Key": server.keys.account}) as client:
        missing = await client.get("customers/00000000-0000-0000-0000-000000000000")
        theirs = await client.get(f"customers/{foreign}")
    assert missing.status_code == theirs.status_code == 404
    assert missing.json()["error"]["code"] == "customer_not_found"


async def test_usage_per_customer(server: ReferenceServer) -> None:
    first = server.keys.register_customer("a")
    second = server.keys.register_customer("b")
    key = {"X-API-Key": server.keys.account}
    entities = [equity([year(2023, revenue=1e6)]) for _ in range(3)]
    async with connect(server, **key, **{"X-Customer-ID": first}) as client:
        await client.post("emissions-estimates", json=entities)
        await client.post("emissions-estimates", json=entities[:1])
        await client.get("hazard-risk", params={"latitude": 1, "longitude": 2})
        await client.post("emissions-estimates", json=[{}])  # 422: not counted
    async with connect(server, **key, **{"X-Customer-ID": second}) as client:
        await client.post(
            "temperature-alignment", json=[equity([year(2023, {"scope1": 1}, revenue=1)])]
        )
    async with connect(server, **key) as client:
        usage = (
            await client.get("usage", params={"start": "2000-01-01", "end": "2999-12-31"})
        ).json()
        only_b = await client.get(
            "usage", params={"start": "2000-01-01", "end": "2999-12-31", "customer_id": second}
        )
        before = await client.get("usage", params={"start": "2000-01-01", "end": "2000-01-02"})
    assert usage["period"] == {"start": "2000-01-01", "end": "2999-12-31"}
    assert usage["requests"] == 4
    assert usage["entities"] == 6
    assert usage["by_endpoint"] == {
        "/emissions-estimates": {"requests": 2, "entities": 4},
        "/hazard-risk": {"requests": 1, "entities": 1},
        "/temperature-alignment": {"requests": 1, "entities": 1},
    }
    assert [(c["customer_id"], c["external_id"], c["requests"]) for c in usage["by_customer"]] == [
        (first, "a", 3),
        (second, "b", 1),
    ]
    assert only_b.json()["requests"] == 1
    assert before.json()["requests"] == 0


async def test_usage_per_end_user_and_single_tenant(server: ReferenceServer) -> None:
    entity = equity([year(2023, revenue=1e6)])
    for user in ("bob", "alice", "bob"):
        headers = {"X-API-Key": server.keys.multi, "X-End-User-Id": user}
        async with connect(server, **headers) as client:
            await client.post("emissions-estimates", json=[entity, entity])
    async with connect(server, **{"X-API-Key": server.keys.single}) as client:
        await client.post("emissions-estimates", json=[entity])
        single = (
            await client.get("usage", params={"start": "2000-01-01", "end": "2999-01-01"})
        ).json()
    headers = {"X-API-Key": server.keys.multi, "X-End-User-Id": "admin"}
    async with connect(server, **headers) as client:
        multi = (
            await client.get("usage", params={"start": "2000-01-01", "end": "2999-01-01"})
        ).json()
    assert [(u["end_user_id"], u["requests"], u["entities"]) for u in multi["by_end_user"]] == [
        ("alice", 1, 2),
        ("bob", 2, 4),
    ]
    assert multi["entities"] == 6
    assert single["requests"] == 1
    assert "by_customer" not in single
    assert "by_end_user" not in single
