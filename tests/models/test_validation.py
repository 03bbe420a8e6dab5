"""Every client-side rule: which entity (index, identifier), which field, what message."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from emmi_async import EntityValidationError, Problem
from emmi_async.models import (
    CLIMATE_RISK,
    CLIMATE_RISK_PROJECTIONS,
    COMPANY_RANKING,
    EMISSIONS_ESTIMATES,
    EMISSIONS_PROJECTIONS,
    TEMPERATURE_ALIGNMENT,
    TEMPERATURE_ALIGNMENT_PROJECTIONS,
    AnalysisSpec,
    AssetType,
    DataYear,
    Emissions,
    EmissionsEstimateEntity,
    EntityInfo,
    Financials,
)


def year(y: int, **emissions: float) -> dict[str, Any]:
    return {
        "year": y,
        "emissions": emissions or {"scope1": 10.0, "scope2": 5.0},
        "financials": {"currency": "EUR", "revenue": 1000.0, "total_assets": 5000.0},
    }


def entity(asset: str = "equity", years: tuple[int, ...] = (2022,), **extra: Any) -> dict[str, Any]:
    return {
        "entity_info": {"identifier": "ACME", "name": "Acme", "asset_type": asset},
        "data": [year(y) for y in years],
        **extra,
    }


VALID: dict[str, dict[str, Any]] = {
    "emissions-estimates": entity(),
    "climate-risk": entity(scenarios=["ipcc_net_zero", "a_brand_new_scenario"]),
    "temperature-alignment": entity(years=(2021, 2022)),
    "emissions-projections": entity(
        years=(2020, 2021, 2022), method="monte_carlo", projection_years=[2030, 2040]
    ),
    "climate-risk-projections": entity(
        projections=[{"year": 2030, "emissions": {"scope1": 8.0}}], scenarios=["ngfs_net_zero"]
    ),
    "temperature-alignment-projections": entity(
        projected_emissions=[{"year": 2030, "emissions": {"scope1": 8.0}}]
    ),
    "company-ranking": entity(),
}
SPECS = [
    EMISSIONS_ESTIMATES,
    CLIMATE_RISK,
    TEMPERATURE_ALIGNMENT,
    EMISSIONS_PROJECTIONS,
    CLIMATE_RISK_PROJECTIONS,
    TEMPERATURE_ALIGNMENT_PROJECTIONS,
    COMPANY_RANKING,
]


def problems(spec: AnalysisSpec[Any, Any], obj: Any, index: int = 3) -> list[tuple[str, str]]:
    """(field, message) of every problem; also checks each names the entity."""
    found = spec.problems(spec.coerce(obj, index), index)
    for problem in found:
        assert problem.index == index
        assert problem.identifier == "ACME"
    return [(problem.field, problem.message) for problem in found]


def edited(name: str, **changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(VALID[name])
    obj.update(changes)
    return obj


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_valid_entities_have_no_problems(spec: AnalysisSpec[Any, Any]) -> None:
    assert problems(spec, VALID[spec.name]) == []
    assert spec.prepare([VALID[spec.name]] * 2) == [spec.coerce(VALID[spec.name], 0)] * 2


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_empty_data(spec: AnalysisSpec[Any, Any]) -> None:
    assert ("data", "must hold at least one year") in problems(spec, edited(spec.name, data=[]))


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (1989, "must be between 1990 and 2100, got 1989"),
        (2101, "must be between 1990 and 2100, got 2101"),
    ],
)
def test_years_outside_range(y: int, message: str) -> None:
    obj = entity(years=(2022, y))
    assert problems(EMISSIONS_ESTIMATES, obj) == [("data[1].year", message)]


def test_duplicate_years() -> None:
    obj = entity(years=(2021, 2022, 2021))
    assert problems(EMISSIONS_ESTIMATES, obj) == [
        ("data[2].year", "duplicate year 2021 (also at data[0].year)")
    ]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("scope1", -1.0, "must not be negative, got -1.0"),
        ("scope2", math.nan, "must be a finite number, got nan"),
        ("scope1", math.inf, "must be a finite number, got inf"),
    ],
)
def test_bad_emission_amounts(key: str, value: float, message: str) -> None:
    obj = entity()
    obj["data"][0]["emissions"][key] = value
    assert problems(EMISSIONS_ESTIMATES, obj) == [(f"data[0].emissions.{key}", message)]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("revenue", -5.0, "must not be negative, got -5.0"),
        ("total_assets", math.inf, "must be a finite number, got inf"),
        ("total_debt", -1, "must not be negative, got -1"),
        ("ebitda", math.nan, "must be a finite number, got nan"),
    ],
)
def test_bad_financial_amounts(key: str, value: float, message: str) -> None:
    obj = entity(years=(2021, 2022))
    obj["data"][1]["financials"][key] = value
    assert problems(EMISSIONS_ESTIMATES, obj) == [(f"data[1].financials.{key}", message)]


def test_negative_ebitda_is_allowed() -> None:
    obj = entity()
    obj["data"][0]["financials"]["ebitda"] = -2.5e6
    assert problems(EMISSIONS_ESTIMATES, obj) == []


@pytest.mark.parametrize("currency", ["usd", "US", "USDT", "U$D", "ÄBC"])
def test_currency_must_be_three_capital_letters(currency: str) -> None:
    obj = entity(years=(2021, 2022))
    obj["data"][1]["financials"]["currency"] = currency
    assert problems(EMISSIONS_ESTIMATES, obj) == [
        (
            "data[1].financials.currency",
            f"must be a three-letter ISO 4217 code in capitals (A-Z), got {currency!r}",
        )
    ]


def test_currency_may_be_omitted_and_country_is_not_required() -> None:
    obj = entity()
    del obj["data"][0]["financials"]["currency"]
    assert "country" not in obj["entity_info"]
    assert problems(EMISSIONS_ESTIMATES, obj) == []


@pytest.mark.parametrize(
    ("asset", "emissions", "expected"),
    [
        ("equity", {"scope1": 1.0, "scope3": 2.0}, []),
        (
            "equity",
            {"underlying_scope1": 1.0},
            [
                (
                    "data[0].emissions.underlying_scope1",
                    "not accepted for equity entities (they take scope1, scope2, scope3)",
                )
            ],
        ),
        ("debt", {"underlying_scope1": 1.0, "underlying_scope3": 2.0}, []),
        (
            "debt",
            {"scope2": 1.0},
            [
                (
                    "data[0].emissions.scope2",
                    "not accepted for debt entities "
                    "(they take underlying_scope1, underlying_scope2, underlying_scope3)",
                )
            ],
        ),
        ("infrastructure", {"scope1": 1.0, "scope2": 2.0}, []),
        (
            "infrastructure",
            {"scope3": 1.0},
            [
                (
                    "data[0].emissions.scope3",
                    "not accepted for infrastructure entities (they take scope1, scope2)",
                )
            ],
        ),
        (
            "property",
            {"scope3": 1.0, "underlying_scope2": 1.0},
            [
                (
                    "data[0].emissions.scope3",
                    "not accepted for property entities (they take scope1, scope2)",
                ),
                (
                    "data[0].emissions.underlying_scope2",
                    "not accepted for property entities (they take scope1, scope2)",
                ),
            ],
        ),
    ],
)
def test_emission_keys_follow_the_asset_type(
    asset: str, emissions: dict[str, float], expected: list[tuple[str, str]]
) -> None:
    obj = entity(asset)
    obj["data"][0]["emissions"] = emissions
    assert problems(CLIMATE_RISK, obj) == expected


def test_without_asset_type_the_key_rules_are_skipped() -> None:
    obj = entity()
    del obj["entity_info"]["asset_type"]
    obj["data"][0]["emissions"] = {"scope3": 1.0, "underlying_scope1": 2.0}
    assert problems(CLIMATE_RISK, obj) == []
    assert problems(COMPANY_RANKING, obj) == []


@pytest.mark.parametrize(
    "spec",
    [
        EMISSIONS_PROJECTIONS,
        CLIMATE_RISK_PROJECTIONS,
        TEMPERATURE_ALIGNMENT_PROJECTIONS,
        COMPANY_RANKING,
    ],
    ids=lambda spec: spec.name,
)
def test_equity_only_endpoints(spec: AnalysisSpec[Any, Any]) -> None:
    assert spec.equity_only
    obj = edited(spec.name)
    obj["entity_info"]["asset_type"] = "debt"
    for item in obj["data"]:
        item["emissions"] = {"underlying_scope1": 1.0}
    for item in obj.get("projections", obj.get("projected_emissions", [])):
        item["emissions"] = {"underlying_scope1": 1.0}
    found = problems(spec, obj)
    assert found[0] == (
        "entity_info.asset_type",
        f"{spec.name} accepts equity entities only, got 'debt'",
    )


@pytest.mark.parametrize(
    ("spec", "part"),
    [
        (EMISSIONS_ESTIMATES, "financials"),
        (CLIMATE_RISK, "emissions"),
        (TEMPERATURE_ALIGNMENT, "emissions"),
        (TEMPERATURE_ALIGNMENT, "financials"),
        (COMPANY_RANKING, "emissions"),
        (COMPANY_RANKING, "financials"),
        (CLIMATE_RISK_PROJECTIONS, "emissions"),
        (CLIMATE_RISK_PROJECTIONS, "financials"),
    ],
)
def test_required_parts_per_endpoint(spec: AnalysisSpec[Any, Any], part: str) -> None:
    obj = edited(spec.name)
    del obj["data"][-1][part]
    last = len(obj["data"]) - 1
    assert problems(spec, obj) == [(f"data[{last}].{part}", f"required by {spec.name}")]


@pytest.mark.parametrize(
    ("spec", "part"),
    [
        (EMISSIONS_ESTIMATES, "emissions"),
        (CLIMATE_RISK, "financials"),
        (EMISSIONS_PROJECTIONS, "financials"),
        (TEMPERATURE_ALIGNMENT_PROJECTIONS, "financials"),
    ],
)
def test_parts_not_required_where_the_docs_are_silent(
    spec: AnalysisSpec[Any, Any], part: str
) -> None:
    obj = edited(spec.name)
    for item in obj["data"]:
        del item[part]
    assert problems(spec, obj) == []


def test_ranking_needs_revenue() -> None:
    obj = edited("company-ranking")
    del obj["data"][0]["financials"]["revenue"]
    assert problems(COMPANY_RANKING, obj) == [("data[0].financials.revenue", "required")]


class TestScenarios:
    def test_unknown_ids_are_allowed(self) -> None:
        obj = edited("climate-risk", scenarios=["ngfs_below_2_degrees", "ngfs_delayed_transition"])
        assert problems(CLIMATE_RISK, obj) == []

    def test_optional_for_climate_risk(self) -> None:
        obj = edited("climate-risk")
        del obj["scenarios"]
        assert problems(CLIMATE_RISK, obj) == []

    def test_given_list_must_not_be_empty(self) -> None:
        obj = edited("climate-risk", scenarios=[])
        assert problems(CLIMATE_RISK, obj) == [("scenarios", "must hold at least one scenario id")]

    def test_ids_must_be_non_empty_strings(self) -> None:
        obj = edited("climate-risk-projections", scenarios=["ipcc_net_zero", " "])
        assert problems(CLIMATE_RISK_PROJECTIONS, obj) == [
            ("scenarios[1]", "must be a non-empty string, got ' '")
        ]

    def test_required_for_climate_risk_projections(self) -> None:
        obj = edited("climate-risk-projections")
        del obj["scenarios"]
        with pytest.raises(EntityValidationError) as caught:
            CLIMATE_RISK_PROJECTIONS.coerce(obj, 0)
        assert [(p.field, p.message) for p in caught.value.problems] == [
            ("scenarios", "required field missing")
        ]
        empty = edited("climate-risk-projections", scenarios=[])
        assert problems(CLIMATE_RISK_PROJECTIONS, empty) == [
            ("scenarios", "must hold at least one scenario id")
        ]


class TestEmissionsProjections:
    def test_monte_carlo_needs_three_years(self) -> None:
        obj = edited("emissions-projections")
        obj["data"] = obj["data"][:2]
        assert problems(EMISSIONS_PROJECTIONS, obj) == [
            ("data", "monte_carlo needs at least 3 years of history, got 2")
        ]

    @pytest.mark.parametrize("years", [None, []])
    def test_monte_carlo_needs_projection_years(self, years: list[int] | None) -> None:
        obj = edited("emissions-projections", projection_years=years)
        assert problems(EMISSIONS_PROJECTIONS, obj) == [
            ("projection_years", "monte_carlo needs at least one projection year")
        ]

    def test_projection_years_range_and_duplicates(self) -> None:
        obj = edited("emissions-projections", projection_years=[2030, 2030, 2150])
        assert problems(EMISSIONS_PROJECTIONS, obj) == [
            ("projection_years[1]", "duplicate year 2030 (also at projection_years[0])"),
            ("projection_years[2]", "must be between 1990 and 2100, got 2150"),
        ]

    def test_glide_path_needs_targets(self) -> None:
        obj = edited("emissions-projections", method="glide_path", projection_years=None)
        assert problems(EMISSIONS_PROJECTIONS, obj) == [
            ("targets", "glide_path needs at least one reduction target")
        ]

    def test_glide_path_needs_emissions_for_a_year(self) -> None:
        obj = edited(
            "emissions-projections",
            method="glide_path",
            targets=[{"baseline_year": 2020, "target_year": 2030, "reduction": 0.5}],
        )
        for item in obj["data"]:
            item["emissions"] = {}
        assert problems(EMISSIONS_PROJECTIONS, obj) == [
            ("data", "glide_path needs emissions for at least one year")
        ]

    def test_valid_glide_path_with_open_target_fields(self) -> None:
        obj = edited(
            "emissions-projections",
            method="glide_path",
            data=[year(2022)],
            targets=[
                {"baseline_year": 2019, "target_year": 2030, "reduction": 0.42, "scope": "1+2"}
            ],
        )
        assert problems(EMISSIONS_PROJECTIONS, obj) == []
        entity = EMISSIONS_PROJECTIONS.coerce(obj, 0)
        assert entity.targets is not None
        assert entity.targets[0].extra == {"scope": "1+2"}
        assert b'"scope":"1+2"' in EMISSIONS_PROJECTIONS.encode([entity])

    def test_target_rules(self) -> None:
        obj = edited(
            "emissions-projections",
            method="glide_path",
            targets=[
                {"baseline_year": 1980},
                {"baseline_year": 2020, "target_year": 2015, "reduction": 1.5},
            ],
        )
        assert problems(EMISSIONS_PROJECTIONS, obj) == [
            ("targets[0].baseline_year", "must be between 1990 and 2100, got 1980"),
            ("targets[1].target_year", "must be after baseline_year 2020, got 2015"),
            ("targets[1].reduction", "is a fraction of baseline emissions, 0 to 1, got 1.5"),
        ]

    def test_unknown_methods_are_allowed_but_not_empty(self) -> None:
        assert problems(EMISSIONS_PROJECTIONS, edited("emissions-projections", method="ai")) == []
        assert problems(EMISSIONS_PROJECTIONS, edited("emissions-projections", method="")) == [
            ("method", "required: a projection method such as 'monte_carlo'")
        ]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (CLIMATE_RISK_PROJECTIONS, "projections"),
        (TEMPERATURE_ALIGNMENT_PROJECTIONS, "projected_emissions"),
    ],
    ids=lambda x: getattr(x, "name", x),
)
class TestProjectionEndpoints:
    def test_exactly_one_baseline_year(self, spec: AnalysisSpec[Any, Any], field: str) -> None:
        obj = edited(spec.name, data=[year(2021), year(2022)])
        assert problems(spec, obj) == [
            ("data", f"{spec.name} needs exactly one baseline year, got 2")
        ]

    def test_at_least_one_projected_year(self, spec: AnalysisSpec[Any, Any], field: str) -> None:
        assert problems(spec, edited(spec.name, **{field: []})) == [
            (field, "must hold at least one projected year")
        ]

    def test_projected_years(self, spec: AnalysisSpec[Any, Any], field: str) -> None:
        obj = edited(
            spec.name,
            **{
                field: [
                    {"year": 2021, "emissions": {"scope1": 1.0}},
                    {"year": 2030, "emissions": {"scope1": -1.0}},
                    {"year": 2030, "emissions": {"underlying_scope1": 1.0}},
                ]
            },
        )
        assert problems(spec, obj) == [
            (f"{field}[1].emissions.scope1", "must not be negative, got -1.0"),
            (
                f"{field}[2].emissions.underlying_scope1",
                "not accepted for equity entities (they take scope1, scope2, scope3)",
            ),
            (f"{field}[2].year", f"duplicate year 2030 (also at {field}[1].year)"),
            (f"{field}[0].year", "must be after the baseline year 2022, got 2021"),
        ]


def test_unknown_request_fields_are_reported() -> None:
    obj = entity(options={"fast": True})
    obj["entity_info"]["isin"] = "US0000000000"
    obj["data"][0]["emissions"]["scope_1"] = 5.0
    obj["data"][0]["financials"]["net income"] = 5.0
    message = "unknown field (not part of the API; check the spelling)"
    assert problems(EMISSIONS_ESTIMATES, obj) == [
        ("options", message),
        ("entity_info.isin", message),
        ("data[0].emissions.scope_1", message),
        ("data[0].financials['net income']", message),
    ]


def test_malformed_dict_names_entity_and_every_field() -> None:
    obj = entity()
    obj["data"][0]["year"] = "2022"
    obj["data"][0]["financials"]["revenue"] = "1,000"
    obj["entity_info"]["asset_type"] = "stock"
    with pytest.raises(EntityValidationError) as caught:
        EMISSIONS_ESTIMATES.coerce(obj, 7)
    assert caught.value.problems == (
        Problem(
            index=7,
            identifier="ACME",
            field="entity_info.asset_type",
            message="expected one of equity, debt, infrastructure, property; got string 'stock'",
        ),
        Problem(
            index=7,
            identifier="ACME",
            field="data[0].year",
            message="expected an integer, got string '2022'",
        ),
        Problem(
            index=7,
            identifier="ACME",
            field="data[0].financials.revenue",
            message="expected a number, got string '1,000'",
        ),
    )
    assert "entity 7 ('ACME'): data[0].year: expected an integer" in str(caught.value)


def test_missing_required_keys_in_a_dict() -> None:
    with pytest.raises(EntityValidationError) as caught:
        EMISSIONS_ESTIMATES.coerce({"data": [{"emissions": {}}]}, 0)
    assert [(p.index, p.identifier, p.field, p.message) for p in caught.value.problems] == [
        (0, None, "entity_info", "required field missing"),
        (0, None, "data[0].year", "required field missing"),
    ]


def test_model_instances_with_wrong_types_are_caught() -> None:
    bad = EmissionsEstimateEntity(
        entity_info=EntityInfo(identifier="ACME", asset_type="equity", name=5),  # type: ignore[arg-type]
        data=[
            DataYear(
                year=True,  # type: ignore[arg-type]
                emissions=Emissions(scope1="1"),  # type: ignore[arg-type]
                financials=Financials(revenue=1.0),
            ),
            {"year": 2022},  # type: ignore[list-item]
        ],
    )
    assert problems(EMISSIONS_ESTIMATES, bad) == [
        ("entity_info.name", "expected a string, got 5"),
        ("data[0].emissions.scope1", "expected a number, got '1'"),
        ("data[1]", "expected DataYear, got dict"),
        ("data[0].year", "expected an integer year, got True"),
    ]


def test_asset_type_as_plain_string_in_an_instance() -> None:
    entity_ = EmissionsEstimateEntity(
        entity_info=EntityInfo(asset_type="debt"),  # type: ignore[arg-type]
        data=[DataYear(year=2022, financials=Financials(), emissions=Emissions(scope1=1.0))],
    )
    assert [(p.field, p.message) for p in EMISSIONS_ESTIMATES.problems(entity_, 0)] == [
        (
            "data[0].emissions.scope1",
            "not accepted for debt entities "
            "(they take underlying_scope1, underlying_scope2, underlying_scope3)",
        )
    ]
    assert AssetType.DEBT == "debt"
