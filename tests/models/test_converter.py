"""The converter: lenient responses, strict scalars, JSON-ready output, clear errors."""

from __future__ import annotations

import datetime as dt
import pickle
import uuid

import orjson
import pytest

from emmi_async import EmmiError, models
from emmi_async.models import (
    AssetType,
    Customer,
    Emissions,
    EmissionsEstimateResult,
    EntityInfo,
    Health,
    ResponseDecodeError,
    StructureError,
    Usage,
)


def test_unknown_response_fields_are_kept_in_extra_at_every_level() -> None:
    body = {
        "entity_info": {"name": "Acme", "asset_type": "equity", "lei": "5493001KJTIIGC8Y1R12"},
        "data": [
            {
                "year": 2023,
                "emissions": {"scope1": 1.5, "scope4": 9},
                "estimated": ["scope2"],
                "confidence": {"low": 1, "high": 2},
            }
        ],
        "model_version": "7.1",
    }
    result = models.structure(body, EmissionsEstimateResult)
    assert result.extra == {"model_version": "7.1"}
    assert result.entity_info is not None
    assert result.entity_info.extra == {"lei": "5493001KJTIIGC8Y1R12"}
    assert result.data[0].extra == {"confidence": {"low": 1, "high": 2}}
    assert result.data[0].emissions.extra == {"scope4": 9}
    assert result.data[0].emissions.scope1 == 1.5
    # ... and go back out unchanged.
    assert models.to_json(result) == body


def test_missing_optional_response_fields_default() -> None:
    result = models.structure({"data": [{"year": 2023, "emissions": {}}]}, EmissionsEstimateResult)
    year = result.data[0]
    assert result.entity_info is None
    assert year.estimated == ()
    assert year.data_quality_score is None
    assert year.emissions == Emissions()
    assert result.extra == {}


def test_null_optional_fields_are_none_and_dropped_on_output() -> None:
    info = models.structure({"name": None, "asset_type": None, "country": "France"}, EntityInfo)
    assert info == EntityInfo(country="France")
    assert models.to_json(info) == {"country": "France"}


def test_missing_required_response_field_names_the_path() -> None:
    body = orjson.dumps({"data": [{"year": 2023, "emissions": {}}, {"emissions": {}}]})
    with pytest.raises(ResponseDecodeError) as caught:
        models.decode(body, EmissionsEstimateResult)
    assert caught.value.errors == (("data[1].year", "required field missing"),)
    assert "data[1].year: required field missing" in str(caught.value)
    assert isinstance(caught.value, EmmiError)
    assert isinstance(caught.value, ValueError)


def test_decode_rejects_a_body_that_is_not_json() -> None:
    with pytest.raises(ResponseDecodeError, match="not valid JSON"):
        models.decode(b"<html>", Customer)


def test_every_bad_field_is_reported_not_only_the_first() -> None:
    with pytest.raises(StructureError) as caught:
        models.structure(
            {"data": [{"year": "2023", "emissions": [], "data_quality_score": True}]},
            EmissionsEstimateResult,
        )
    assert dict(caught.value.errors) == {
        "data[0].year": "expected an integer, got string '2023'",
        "data[0].emissions": "expected an object, got list",
        "data[0].data_quality_score": "expected an integer, got boolean True",
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12", "expected a number, got string '12'"),
        (True, "expected a number, got boolean True"),
        ([1], "expected a number, got list"),
    ],
)
def test_numbers_are_strict(value: object, message: str) -> None:
    with pytest.raises(StructureError) as caught:
        models.structure({"scope1": value}, Emissions)
    assert caught.value.errors == (("scope1", message),)


def test_integral_floats_are_accepted_as_integers() -> None:
    year = models.structure(
        {"year": 2023.0, "temperature_alignment": 1}, models.TemperatureAlignmentYear
    )
    assert year.year == 2023
    assert type(year.year) is int


def test_strings_are_not_split_into_lists() -> None:
    with pytest.raises(StructureError) as caught:
        models.structure(
            {"year": 2023, "emissions": {}, "estimated": "scope2"}, models.EmissionsEstimateYear
        )
    assert caught.value.errors == (("estimated", "expected a list, got string 'scope2'"),)


def test_enums_structure_from_values_and_unstructure_to_values() -> None:
    info = models.structure({"asset_type": "debt"}, EntityInfo)
    assert info.asset_type is AssetType.DEBT
    assert models.to_json(info) == {"asset_type": "debt"}
    with pytest.raises(StructureError) as caught:
        models.structure({"asset_type": "bond"}, EntityInfo)
    assert caught.value.errors == (
        ("asset_type", "expected one of equity, debt, infrastructure, property; got string 'bond'"),
    )


def test_uuids_and_datetimes() -> None:
    customer_id = uuid.uuid4()
    customer = models.decode(
        orjson.dumps(
            {"id": str(customer_id), "external_id": "desk-7", "created_at": "2024-05-01T12:30:00Z"}
        ),
        Customer,
    )
    assert customer.id == customer_id
    assert customer.created_at == dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
    assert models.to_json(customer) == {
        "id": str(customer_id),
        "external_id": "desk-7",
        "created_at": "2024-05-01T12:30:00+00:00",
    }
    with pytest.raises(ResponseDecodeError) as caught:
        models.decode({"id": "not-a-uuid"}, Customer)
    assert caught.value.errors == (("id", "expected a UUID, got string 'not-a-uuid'"),)


def test_usage_dates_and_mapping_by_endpoint() -> None:
    usage = models.decode(
        {
            "period": {"start": "2024-01-01", "end": "2024-01-31"},
            "requests": 12,
            "entities": 900,
            "by_endpoint": {"/emissions-estimates": {"requests": 12, "entities": 900}},
            "by_end_user": [{"end_user_id": "acme_1", "requests": 12, "entities": 900}],
        },
        Usage,
    )
    assert usage.period.start == dt.date(2024, 1, 1)
    assert usage.by_endpoint["/emissions-estimates"].entities == 900
    assert usage.by_end_user is not None
    assert usage.by_end_user[0].end_user_id == "acme_1"
    assert usage.by_customer is None
    with pytest.raises(ResponseDecodeError) as caught:
        models.decode(
            {
                "period": {"start": "Jan", "end": "2024-01-31"},
                "requests": 1,
                "entities": 1,
                "by_endpoint": {"/x": {"requests": "many"}},
            },
            Usage,
        )
    assert dict(caught.value.errors) == {
        "period.start": "expected an ISO date (YYYY-MM-DD), got string 'Jan'",
        "by_endpoint['/x'].requests": "expected an integer, got string 'many'",
    }


def test_health_keeps_everything_in_extra() -> None:
    health = models.decode(b'{"status": "ok", "checks": {"db": "ok"}}', Health)
    assert health.status == "ok"
    assert health.extra == {"status": "ok", "checks": {"db": "ok"}}
    assert models.decode(b'{"status": {"db": "ok"}}', Health).status is None


def test_top_level_that_is_not_an_object() -> None:
    with pytest.raises(ResponseDecodeError) as caught:
        models.decode(b"[1, 2]", Health)
    assert caught.value.errors == (("", "expected an object, got list"),)


def test_models_and_errors_pickle() -> None:
    result = models.structure(
        {"data": [{"year": 2023, "emissions": {"scope1": 1.0}, "x": 1}]}, EmissionsEstimateResult
    )
    assert pickle.loads(pickle.dumps(result)) == result
    error = ResponseDecodeError("unexpected response", [("data", "required field missing")])
    copy = pickle.loads(pickle.dumps(error))
    assert copy.errors == error.errors
    assert str(copy) == str(error)


def test_dumps_drops_none() -> None:
    assert models.dumps(Emissions(scope1=1.0, scope3=None)) == b'{"scope1":1.0}'
