"""The endpoint registry: coerce, prepare, encode, decode."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from emmi_async import EntityValidationError
from emmi_async.models import (
    ANALYSES,
    CLIMATE_RISK,
    CLIMATE_RISK_PROJECTIONS,
    COMPANY_RANKING,
    EMISSIONS_ESTIMATES,
    EMISSIONS_PROJECTIONS,
    TEMPERATURE_ALIGNMENT,
    TEMPERATURE_ALIGNMENT_PROJECTIONS,
    AnalysisSpec,
    ClimateRiskEntity,
    ClimateRiskProjectionResult,
    ClimateRiskResult,
    CompanyRankingResult,
    EmissionsEstimateEntity,
    EmissionsEstimateResult,
    EmissionsProjectionResult,
    ResponseDecodeError,
    TemperatureAlignmentProjectionResult,
    TemperatureAlignmentResult,
)
from tests.models.test_validation import VALID, entity


def test_registry_names_types_and_flags() -> None:
    expected = {
        "emissions-estimates": (EMISSIONS_ESTIMATES, EmissionsEstimateResult, False),
        "emissions-projections": (EMISSIONS_PROJECTIONS, EmissionsProjectionResult, True),
        "climate-risk": (CLIMATE_RISK, ClimateRiskResult, False),
        "climate-risk-projections": (CLIMATE_RISK_PROJECTIONS, ClimateRiskProjectionResult, True),
        "temperature-alignment": (TEMPERATURE_ALIGNMENT, TemperatureAlignmentResult, False),
        "temperature-alignment-projections": (
            TEMPERATURE_ALIGNMENT_PROJECTIONS,
            TemperatureAlignmentProjectionResult,
            True,
        ),
        "company-ranking": (COMPANY_RANKING, CompanyRankingResult, True),
    }
    assert set(ANALYSES) == set(expected)
    for name, (spec, result_type, equity_only) in expected.items():
        assert ANALYSES[name] is spec
        assert spec.name == name
        assert spec.result_type is result_type
        assert spec.equity_only is equity_only
        assert spec.max_entities == 100


def test_coerce_passes_instances_through() -> None:
    instance = EMISSIONS_ESTIMATES.coerce(entity(), 0)
    assert isinstance(instance, EmissionsEstimateEntity)
    assert EMISSIONS_ESTIMATES.coerce(instance, 1) is instance


def test_coerce_rejects_other_types() -> None:
    other = CLIMATE_RISK.coerce(VALID["climate-risk"], 0)
    with pytest.raises(TypeError, match="entity 4: emissions-estimates takes"):
        EMISSIONS_ESTIMATES.coerce(other, 4)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got list"):
        EMISSIONS_ESTIMATES.coerce([entity()], 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="coerce it first"):
        EMISSIONS_ESTIMATES.problems(other, 0)  # type: ignore[arg-type]


def test_prepare_lists_every_problem_of_every_entity() -> None:
    bad_shape = entity()
    bad_shape["data"][0]["year"] = "2022"
    bad_rule = entity()
    bad_rule["entity_info"]["identifier"] = "OTHER"
    bad_rule["data"][0]["financials"]["currency"] = "eur"
    with pytest.raises(EntityValidationError) as caught:
        EMISSIONS_ESTIMATES.prepare([entity(), bad_shape, bad_rule])
    assert [(p.index, p.identifier, p.field) for p in caught.value.problems] == [
        (1, "ACME", "data[0].year"),
        (2, "OTHER", "data[0].financials.currency"),
    ]
    assert str(caught.value).startswith("2 problems in the input, nothing was sent:")


def test_prepare_empty_and_too_many() -> None:
    with pytest.raises(EntityValidationError) as caught:
        EMISSIONS_ESTIMATES.prepare([])
    assert [(p.index, p.field, p.message) for p in caught.value.problems] == [
        (None, "entities", "at least one entity is required")
    ]
    with pytest.raises(EntityValidationError) as caught:
        EMISSIONS_ESTIMATES.prepare([entity()] * 101)
    assert [(p.index, p.field, p.message) for p in caught.value.problems] == [
        (None, "entities", "emissions-estimates takes at most 100 entities per request, got 101")
    ]
    assert len(EMISSIONS_ESTIMATES.prepare([entity()] * 100)) == 100
    small: AnalysisSpec[Any, Any] = AnalysisSpec(
        "emissions-estimates",
        EmissionsEstimateEntity,
        EmissionsEstimateResult,
        equity_only=False,
        max_entities=2,
    )
    with pytest.raises(EntityValidationError):
        small.prepare([entity()] * 3)


def test_prepare_rejects_a_single_entity_and_wrong_types() -> None:
    with pytest.raises(TypeError, match="sequence of entities, got dict"):
        EMISSIONS_ESTIMATES.prepare(entity())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="entity 1"):
        EMISSIONS_ESTIMATES.prepare([entity(), 42])  # type: ignore[list-item]


@pytest.mark.parametrize("name", sorted(VALID))
def test_encode_reproduces_the_api_json_and_drops_none(name: str) -> None:
    spec = ANALYSES[name]
    obj = copy.deepcopy(VALID[name])
    with_nulls = copy.deepcopy(obj)
    with_nulls["entity_info"]["country"] = None
    with_nulls["data"][0]["emissions"]["scope3"] = None
    entities = spec.prepare([with_nulls, obj])
    assert orjson.loads(spec.encode(entities)) == [obj, obj]


def test_encode_sends_enum_values_and_tuples_as_arrays() -> None:
    body = CLIMATE_RISK.encode([CLIMATE_RISK.coerce(VALID["climate-risk"], 0)])
    assert body.startswith(
        b'[{"entity_info":{"identifier":"ACME","name":"Acme","asset_type":"equity"}'
    )
    assert b'"scenarios":["ipcc_net_zero","a_brand_new_scenario"]' in body


def estimate(year: int, **extra: Any) -> dict[str, Any]:
    return {
        "year": year,
        "emissions": {"scope1": 1.0, "scope2": 2.0, "scope3": 3.0},
        "estimated": ["scope3"],
        "data_quality_score": 4,
        **extra,
    }


def test_decode_bytes_and_parsed_payloads_keeping_unknown_fields() -> None:
    payload = {
        "results": [
            {"entity_info": {"name": "Acme", "asset_type": "equity"}, "data": [estimate(2022)]},
            {"data": [estimate(2023, uncertainty=0.2)], "warnings": ["x"]},
        ],
        "request_id": "req_1",
    }
    results = EMISSIONS_ESTIMATES.decode(orjson.dumps(payload))
    assert results == EMISSIONS_ESTIMATES.decode(payload)
    assert [type(r) for r in results] == [EmissionsEstimateResult] * 2
    assert results[0].data[0].emissions.scope3 == 3.0
    assert results[0].data[0].estimated == ("scope3",)
    assert results[1].extra == {"warnings": ["x"]}
    assert results[1].data[0].extra == {"uncertainty": 0.2}


def test_decode_does_not_check_the_count() -> None:
    assert EMISSIONS_ESTIMATES.decode(b'{"results": []}') == []


def test_decode_climate_risk_and_ranking_shapes() -> None:
    risk = CLIMATE_RISK.decode(
        {
            "results": [
                {
                    "data": [
                        {
                            "year": 2022,
                            "scenarios": [
                                {
                                    "scenario": "ngfs_net_zero",
                                    "transition_risk": {
                                        "potential_carbon_liability": 10.0,
                                        "pcl_to_value": 0.1,
                                    },
                                    "physical_risk": {"average_annual_loss": 0.01},
                                },
                                {"scenario": "brand_new"},
                            ],
                        }
                    ]
                }
            ]
        }
    )
    scenarios = risk[0].data[0].scenarios
    assert scenarios[0].transition_risk is not None
    assert scenarios[0].transition_risk.pcl_to_value == 0.1
    assert scenarios[1].scenario == "brand_new"
    assert scenarios[1].physical_risk is None
    ranking = COMPANY_RANKING.decode(
        {
            "results": [
                {
                    "data": [
                        {
                            "year": 2022,
                            "rankings": {
                                "industry": {"scope1_intensity_percentile": 12.5},
                                "sector": {"scope1_2_3_intensity_percentile": 80},
                            },
                        }
                    ]
                }
            ]
        }
    )
    rankings = ranking[0].data[0].rankings
    assert rankings.industry is not None
    assert rankings.industry.scope1_intensity_percentile == 12.5
    assert rankings.sector is not None
    assert rankings.sector.scope1_2_3_intensity_percentile == 80


def test_decode_errors_name_the_result_and_field() -> None:
    payload = {"results": [{"data": [estimate(2022)]}, {"data": [{"year": 2022}]}]}
    with pytest.raises(ResponseDecodeError) as caught:
        EMISSIONS_ESTIMATES.decode(payload)
    assert caught.value.errors == (("results[1].data[0].emissions", "required field missing"),)
    assert "unexpected emissions-estimates response" in str(caught.value)


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        (b'{"data": []}', (("results", "required field missing"),)),
        (b'{"results": {}}', (("results", "expected a list"),)),
        (b'{"results": [1]}', (("results[0]", "expected an object, got int"),)),
    ],
)
def test_decode_malformed_bodies(payload: bytes, errors: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(ResponseDecodeError) as caught:
        EMISSIONS_ESTIMATES.decode(payload)
    assert caught.value.errors == errors


def test_decode_a_body_that_is_not_json() -> None:
    with pytest.raises(ResponseDecodeError, match="emissions-estimates response is not valid JSON"):
        EMISSIONS_ESTIMATES.decode(b"<html>")


def test_encode_decode_of_instances_built_by_hand() -> None:
    spec = CLIMATE_RISK
    built = ClimateRiskEntity(
        entity_info=spec.coerce(VALID["climate-risk"], 0).entity_info,
        data=list(spec.coerce(VALID["climate-risk"], 0).data),
        scenarios=["ipcc_two_degree"],
    )
    assert spec.problems(built, 0) == []
    encoded = orjson.loads(spec.encode([built]))
    assert encoded[0]["scenarios"] == ["ipcc_two_degree"]
    assert spec.coerce(encoded[0], 0) == ClimateRiskEntity(
        entity_info=built.entity_info, data=tuple(built.data), scenarios=("ipcc_two_degree",)
    )
