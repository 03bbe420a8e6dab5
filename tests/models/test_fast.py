"""The fast paths give what the model path gives: same bytes, same problems, same models.

Oracle: the model path as it was (``coerce`` + ``problems`` + ``encode`` for requests, the
converter for results). The generated inputs are mostly valid (so that the fast path is
taken) with random variations the model path normalises (key order, ``None`` values, enum
members) and, in the other half, random faults of every kind.
"""

from __future__ import annotations

import copy
import math
import pickle
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from emmi_async import EntityValidationError
from emmi_async.models import (
    ANALYSES,
    AnalysisSpec,
    AssetType,
    DataYear,
    Emissions,
    EntityInfo,
    Financials,
    ResponseDecodeError,
    converter,
    to_json,
)
from emmi_async.models._common import extra_field
from emmi_async.models._fast import (
    _FINANCIALS_KINDS,
    Slow,
    _builder,
    _FlatDict,
    result_structurer,
)
from tests.models._strategies import for_model

SPECS = list(ANALYSES.values())
EMISSIONS = {
    None: (
        "scope1",
        "scope2",
        "scope3",
        "underlying_scope1",
        "underlying_scope2",
        "underlying_scope3",
    ),
    "equity": ("scope1", "scope2", "scope3"),
    "debt": ("underlying_scope1", "underlying_scope2", "underlying_scope3"),
    "infrastructure": ("scope1", "scope2"),
    "property": ("scope1", "scope2"),
}
EQUITY_ONLY = {spec.name for spec in SPECS if spec.equity_only}
NEEDS = {  # (emissions, financials, revenue) in every year
    "emissions-estimates": (False, True, False),
    "climate-risk": (True, False, False),
    "temperature-alignment": (True, True, False),
    "emissions-projections": (False, False, False),
    "climate-risk-projections": (True, True, False),
    "temperature-alignment-projections": (False, False, False),
    "company-ranking": (True, True, True),
}
JUNK = st.sampled_from(
    [
        *(None, True, False, "", " ", "12", "equity", "EUR", 1.5, -1.0, 0, 2021.0, 2**64),
        *([], {}, (), math.nan, math.inf, -math.inf, [1], {"scope1": 1.0}, AssetType.DEBT),
    ]
)


class Draw:
    """A helper around hypothesis' ``draw`` that makes a value valid or, sometimes, not."""

    def __init__(self, draw: Any, bad_rate: int) -> None:
        self.draw = draw
        self.bad_rate = bad_rate  # in tenths; 0 = every value valid

    def bad(self) -> bool:
        return self.bad_rate > 0 and self.draw(st.integers(0, 9)) < self.bad_rate

    def value(self, valid: st.SearchStrategy[Any]) -> Any:
        return self.draw(JUNK) if self.bad() else self.draw(valid)

    def obj(self, fields: dict[str, Any], optional: dict[str, Any]) -> dict[str, Any]:
        """``fields`` plus a random part of ``optional``; maybe shuffled, with extra keys."""
        result = dict(fields)
        for key, value in optional.items():
            choice = self.draw(st.integers(0, 4))
            if choice == 0:
                continue
            result[key] = None if choice == 1 else value
        keys = list(result)
        if self.draw(st.booleans()):
            keys = self.draw(st.permutations(keys))
        if self.bad() and keys:
            keys.remove(self.draw(st.sampled_from(keys)))  # a required key may go
        result = {key: result[key] for key in keys}
        if self.bad():
            result[self.draw(st.sampled_from(["scope_1", "extra", "Year", "currency"]))] = 1
        return result


def _amount(d: Draw, negative: bool = False) -> Any:
    low = -1e12 if negative else 0
    return d.value(st.integers(0, 10**9) | st.floats(low, 1e12) | st.just(-0.0))


def _year(d: Draw, years: st.SearchStrategy[int]) -> Any:
    return d.value(years)


@st.composite
def entities(draw: Any, name: str) -> dict[str, Any]:
    d = Draw(draw, draw(st.sampled_from([0, 0, 0, 1, 2, 4])))
    assets = ["equity"] if name in EQUITY_ONLY else ["equity", "debt", "infrastructure", "property"]
    asset_value = d.value(st.sampled_from([*assets, AssetType(assets[0])]))
    asset = asset_value.value if isinstance(asset_value, AssetType) else asset_value
    text = st.text(max_size=6)
    info = d.obj(
        {},
        {
            "identifier": d.value(text),
            "name": d.value(text),
            "asset_type": asset_value,
            "country": d.value(text),
            "industry_classification_system": d.value(st.sampled_from(["rbics", "x"])),
            "industry": d.value(text),
            "sector": d.value(text),
        },
    )
    keys = EMISSIONS.get(asset if isinstance(asset, str) else None, EMISSIONS[None])
    need_e, need_f, need_r = NEEDS[name]
    projected = name.endswith("alignment-projections") or name == "climate-risk-projections"
    count = 1 if projected else draw(st.integers(1, 4))
    years = draw(st.lists(st.integers(1990, 2050), min_size=count, max_size=count, unique=True))
    if d.bad():
        years = draw(st.lists(st.integers(1985, 2105), max_size=5))

    def emissions() -> Any:
        chosen = draw(st.lists(st.sampled_from(keys), unique=True, min_size=1))
        return d.obj({}, {key: _amount(d) for key in chosen})

    def year_item(y: int) -> dict[str, Any]:
        fields: dict[str, Any] = {"year": _year(d, st.just(y))}
        optional: dict[str, Any] = {}
        financials = d.obj(
            {"revenue": _amount(d)} if need_r else {},
            {
                "currency": d.value(st.sampled_from(["EUR", "USD", "JPY"])),
                "revenue": _amount(d),
                "total_assets": _amount(d),
                "ebitda": _amount(d, negative=True),
                "total_debt": _amount(d),
            },
        )
        (fields if need_e else optional)["emissions"] = emissions()
        (fields if need_f else optional)["financials"] = financials
        return d.obj(fields, optional)

    data: Any = [year_item(y) for y in years]
    if draw(st.booleans()):
        data = tuple(data)
    fields: dict[str, Any] = {"entity_info": d.value(st.just(info)), "data": d.value(st.just(data))}
    optional: dict[str, Any] = {}
    scenario_list = st.lists(st.sampled_from(["ngfs_net_zero", "x", " a "]), min_size=1)
    later = st.integers(min(max(years, default=2000) + 1, 2100), 2100)
    if name == "climate-risk":
        optional["scenarios"] = d.value(scenario_list)
    elif name == "emissions-projections":
        method = d.value(st.sampled_from(["monte_carlo", "glide_path", "other"]))
        fields["method"] = method
        optional["projection_years"] = d.value(
            st.lists(st.integers(2025, 2100), min_size=1, max_size=3, unique=True)
        )
        first = years[0] if years else 2000
        target = d.obj(
            {"baseline_year": _year(d, st.just(first))},
            {
                "target_year": _year(d, st.integers(min(first + 1, 2100), 2100)),
                "reduction": d.value(st.floats(0, 1) | st.sampled_from([0, 1])),
            },
        )
        optional["targets"] = d.value(st.just([target]) | st.just([]))
        if method == "monte_carlo" and not d.bad():
            fields["projection_years"] = optional.pop("projection_years")
    elif projected:
        items = [
            d.obj({"year": _year(d, st.just(y)), "emissions": emissions()}, {})
            for y in draw(st.lists(later, min_size=1, max_size=3, unique=True))
        ]
        key = "projections" if name == "climate-risk-projections" else "projected_emissions"
        fields[key] = d.value(st.just(items))
        if name == "climate-risk-projections":
            fields["scenarios"] = d.value(scenario_list)
    return d.obj(fields, optional)


def model_path(spec: AnalysisSpec[Any, Any], obj: Any, index: int) -> tuple[str, Any]:
    """What the SDK did before the fast path: models, rules, encode."""
    try:
        entity = spec.coerce(obj, index)
    except EntityValidationError as exc:
        return "problems", tuple(exc.problems)
    found = spec.problems(entity, index)
    if found:
        return "problems", tuple(found)
    try:
        return "body", spec.encode([entity])[1:-1]
    except Exception as exc:
        return "raises", type(exc)


def fast_path(spec: AnalysisSpec[Any, Any], obj: Any, index: int) -> tuple[str, Any]:
    try:
        return "body", spec.prepare_json(obj, index)
    except EntityValidationError as exc:
        return "problems", tuple(exc.problems)
    except Exception as exc:
        return "raises", type(exc)


def assert_sound(shortcut: Callable[[Any], Any] | None, obj: Any, expected: Any) -> None:
    """Soundness of a fast path itself: whenever it vouches for ``obj`` (a dict or a model
    instance), the model path sends exactly the bytes it gives (``expected``)."""
    assert shortcut is not None
    try:
        sent = orjson.dumps(shortcut(obj))
    except Slow:
        return
    assert expected == ("body", sent)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_prepare_json_is_the_model_path(spec: AnalysisSpec[Any, Any], data: st.DataObject) -> None:
    obj = data.draw(entities(spec.name))
    index = data.draw(st.integers(0, 5))
    expected = model_path(spec, obj, index)
    assert fast_path(spec, obj, index) == expected
    if expected[0] == "body":
        assert orjson.loads(expected[1]) == orjson.loads(spec.prepare_json(obj, index))
    assert_sound(spec._fast_entity, obj, expected)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_valid_json_shaped_dicts_take_the_shortcut(
    spec: AnalysisSpec[Any, Any], data: st.DataObject
) -> None:
    """Completeness: a valid entity in plain JSON types never needs models."""
    obj = data.draw(entities(spec.name))
    if model_path(spec, obj, 0)[0] != "body":
        return
    fast = spec._fast_entity
    assert fast is not None
    if _plain(obj):
        fast(obj)  # no Slow


def _plain(value: Any, key: str = "") -> bool:
    """JSON types with integral values as ints (``2021.0`` is normalised by the models);
    an ``AssetType`` member only as an ``asset_type`` (elsewhere it is a str subclass)."""
    if type(value) is dict:
        return all(_plain(item, name) for name, item in value.items())
    if type(value) in (list, tuple):
        return all(_plain(item) for item in value)
    if type(value) is int:
        return abs(value) < 2**63
    if type(value) is AssetType:
        return key == "asset_type"
    return type(value) in (str, float) or value is None


def test_the_benchmark_entity_takes_the_shortcut_unchanged() -> None:
    obj = {
        "entity_info": {
            "identifier": "ISIN7",
            "name": "Co",
            "asset_type": "equity",
            "sector": "IT",
        },
        "data": [
            {
                "year": year,
                "emissions": {"scope1": 1200.5, "scope2": 340},
                "financials": {"currency": "USD", "revenue": 1.5e9, "ebitda": -3.2e8},
            }
            for year in (2021, 2022, 2023)
        ],
    }
    spec = ANALYSES["emissions-estimates"]
    assert spec._fast_entity is not None
    assert spec._fast_entity(obj) is obj
    assert spec.prepare_json(obj, 0) == orjson.dumps(obj)


def test_prepare_body_matches_prepare_and_encode() -> None:
    spec = ANALYSES["climate-risk"]
    good = {"entity_info": {"asset_type": "debt"}, "data": [{"year": 2022, "emissions": {}}]}
    bad = {"entity_info": {}, "data": [{"year": 1900, "emissions": {"scope9": 1}}]}
    body, count = spec.prepare_body([good, good])
    assert (body, count) == (spec.encode(spec.prepare([good, good])), 2)
    with pytest.raises(EntityValidationError) as fast_error:
        spec.prepare_body([good, bad, bad])
    with pytest.raises(EntityValidationError) as model_error:
        spec.prepare([good, bad, bad])
    assert fast_error.value.problems == model_error.value.problems
    with pytest.raises(TypeError):
        spec.prepare_body(good)  # type: ignore[arg-type]


# -- model input ------------------------------------------------------------------------

MODEL_JUNK = JUNK | st.sampled_from(
    [
        *(2**63, -(2**63) - 1, 1e400, "", "scope1", "EUR ", "eur", "monte_carlo", "glide_path"),
        *(1990, 2100, 1989, 2101, 0.5, 1, True, [2030], (2030, 2030), ("x",), [" "]),
        *(type("Text", (str,), {})("equity"), type("Amount", (float,), {})(1.0)),
        *(Emissions(), Financials(), EntityInfo()),
        DataYear(year=2022),
    ]
)


@st.composite
def poked(draw: Any, value: Any, depth: int = 0) -> Any:
    """``value`` (a model, or a list or tuple of them) with one field somewhere replaced
    by junk (a model of another class too); instances are not type-checked at run time,
    so any value may sit in any field."""
    if attrs.has(type(value)):
        name = draw(st.sampled_from([field.name for field in attrs.fields(type(value))]))
        current = getattr(value, name)
        nested = attrs.has(type(current)) or type(current) in (list, tuple)
        choice = draw(st.integers(0, 5))
        new: Any
        if name == "extra":
            new = draw(st.sampled_from([{}, {"scope_1": 1}, {"x": [1, {"y": None}]}, None]))
        elif choice < 3 and depth < 4 and nested:
            new = draw(poked(current, depth + 1))
        elif choice == 3:
            new = None
        else:
            new = draw(MODEL_JUNK)
        return attrs.evolve(value, **{name: new})
    if type(value) in (list, tuple) and value:
        position = draw(st.integers(0, len(value) - 1))
        items = list(value)
        items[position] = draw(poked(items[position], depth + 1))
        if draw(st.integers(0, 3)) == 0:
            items.append(items[position])  # a duplicate year, target or scenario
        return type(value)(items)
    return draw(MODEL_JUNK)


@st.composite
def model_entities(draw: Any, spec: AnalysisSpec[Any, Any]) -> Any:
    """Instances of ``spec.entity_type``: from the dict strategy (mostly valid), maybe
    poked, or drawn field by field from the class (mostly invalid)."""
    if draw(st.integers(0, 4)) == 0:
        return draw(for_model(spec.entity_type))
    obj = draw(entities(spec.name))
    try:
        entity = spec.coerce(obj, 0)
    except EntityValidationError:
        return draw(for_model(spec.entity_type))
    if draw(st.booleans()):
        entity = draw(poked(entity))
    return entity


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_prepare_json_of_models_is_the_model_path(
    spec: AnalysisSpec[Any, Any], data: st.DataObject
) -> None:
    """Model input: same bytes, or the same problems or exception, as the model path."""
    entity = data.draw(model_entities(spec))
    index = data.draw(st.integers(0, 5))
    expected = model_path(spec, entity, index)
    assert fast_path(spec, entity, index) == expected
    assert_sound(spec._fast_model, entity, expected)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_valid_models_of_plain_values_take_the_encoder(
    spec: AnalysisSpec[Any, Any], data: st.DataObject
) -> None:
    """Completeness: a valid instance made from plain JSON values never needs cattrs."""
    obj = data.draw(entities(spec.name))
    if model_path(spec, obj, 0)[0] != "body" or not _plain(obj):
        return
    entity = spec.coerce(obj, 0)
    if any(target.extra for target in getattr(entity, "targets", None) or ()):
        return  # an open model's unknown keys are sent: the converter writes them
    encode = spec._fast_model
    assert encode is not None
    assert orjson.dumps(encode(entity)) == spec.encode([entity])[1:-1]  # no Slow


VALID = {
    "emissions-estimates": {
        "entity_info": {"identifier": "A", "asset_type": "debt"},
        "data": [
            {
                "year": 2022,
                "emissions": {"underlying_scope1": 5, "underlying_scope3": 0.5},
                "financials": {"currency": "USD", "ebitda": -(2**63), "total_debt": 2**64 - 1},
            }
        ],
    },
    "climate-risk": {
        "entity_info": {"asset_type": "property", "name": "P"},
        "data": [{"year": 2020, "emissions": {"scope2": 1.0}}],
        "scenarios": ("ngfs_net_zero", " x "),
    },
    "temperature-alignment": {
        "entity_info": {},
        "data": [
            {"year": 2021, "emissions": {}, "financials": {}},
            {"year": 2022, "emissions": {"scope1": 1}, "financials": {"revenue": 0}},
        ],
    },
    "emissions-projections": {
        "entity_info": {"asset_type": "equity"},
        "data": [{"year": 2021, "emissions": {"scope1": 2.0}}],
        "method": "glide_path",
        "projection_years": [],
        "targets": [{"baseline_year": 2021, "reduction": 1}, {"baseline_year": 2019}],
    },
    "climate-risk-projections": {
        "entity_info": {"sector": "S"},
        "data": [{"year": 2023, "emissions": {"scope3": 3.0}, "financials": {}}],
        "projections": [{"year": 2024, "emissions": {}}],
        "scenarios": ["a"],
    },
    "temperature-alignment-projections": {
        "entity_info": {"asset_type": AssetType.EQUITY},
        "data": [{"year": 2023}],
        "projected_emissions": [{"year": 2100, "emissions": {"scope1": 0}}],
    },
    "company-ranking": {
        "entity_info": {"country": "France"},
        "data": [{"year": 1990, "emissions": {}, "financials": {"revenue": 1e9}}],
    },
}


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_each_endpoint_encodes_a_valid_model_as_the_converter(spec: AnalysisSpec[Any, Any]) -> None:
    entity = spec.coerce(VALID[spec.name], 0)
    encode = spec._fast_model
    assert encode is not None
    expected = orjson.dumps(converter.unstructure(entity))
    assert orjson.dumps(encode(entity)) == expected
    assert spec.prepare_json(entity, 0) == expected
    assert spec.prepare_json(VALID[spec.name], 0) == expected


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_each_endpoint_names_the_problems_of_a_bad_model(spec: AnalysisSpec[Any, Any]) -> None:
    entity = spec.coerce(VALID[spec.name], 3)
    year = entity.data[0]
    bad = attrs.evolve(
        entity,
        data=[attrs.evolve(year, year=1900), year],
        extra={"oops": 1},
    )
    assert spec._fast_model is not None
    with pytest.raises(Slow):
        spec._fast_model(bad)
    with pytest.raises(EntityValidationError) as error:
        spec.prepare_json(bad, 3)
    assert list(error.value.problems) == spec.problems(bad, 3)
    fields = {problem.field for problem in error.value.problems}
    assert {"oops", "data[0].year"} <= fields
    assert {problem.index for problem in error.value.problems} == {3}


def test_model_subclasses_and_wrong_entity_classes_take_the_model_path() -> None:
    spec = ANALYSES["emissions-estimates"]
    entity = spec.coerce(VALID["emissions-estimates"], 0)
    sub = type("Sub", (spec.entity_type,), {})
    mine = sub(entity_info=entity.entity_info, data=entity.data)
    assert spec.prepare_json(mine, 0) == spec.prepare_json(entity, 0)
    with pytest.raises(Slow):
        spec._fast_model(mine)  # type: ignore[misc]
    other = ANALYSES["climate-risk"].coerce(VALID["climate-risk"], 0)
    with pytest.raises(TypeError, match="entity 2"):
        spec.prepare_json(other, 2)


def test_flat_dict_checkers_are_made_per_key_tuple_and_bounded() -> None:
    checker = _FlatDict(Financials, _FINANCIALS_KINDS, ("revenue",))
    checker._LIMIT = 2
    canonical = {"currency": "EUR", "revenue": 1.0}
    assert checker.encode(canonical) is canonical
    odd = {"revenue": 2, "currency": "USD", "ebitda": None}
    assert list(checker.encode(odd).items()) == [("currency", "USD"), ("revenue", 2)]
    with pytest.raises(Slow):
        checker.encode({"currency": "EUR"})  # revenue required here
    with pytest.raises(Slow):
        checker.encode({"currency": "EUR", "revenue": 1.0, "scope1": 1})  # unknown key
    assert len(checker.shapes) == 2  # refused key tuples take no room
    with pytest.raises(Slow):  # a third shape: past the bound, the model path decides
        checker.encode({"revenue": 1.0})
    assert checker.encode(canonical) is canonical


def test_odd_key_orders_and_nulls_give_the_model_bytes() -> None:
    spec = ANALYSES["company-ranking"]
    obj = {
        "data": [
            {
                "financials": {"revenue": 5, "currency": None, "ebitda": -1.5},
                "year": 2020,
                "emissions": {"scope3": 1.0, "scope1": 2, "underlying_scope1": None},
            }
        ],
        "entity_info": {"sector": "S", "asset_type": AssetType.EQUITY, "name": None},
    }
    entity = spec.coerce(obj, 0)
    assert spec.prepare_json(obj, 0) == spec.encode([entity])[1:-1]
    assert spec.prepare_json(entity, 0) == spec.encode([entity])[1:-1]
    assert spec._fast_entity is not None
    spec._fast_entity(obj)  # vouched for, rebuilt


# -- results ------------------------------------------------------------------------------


@st.composite
def mutated(draw: Any, value: Any) -> Any:
    """``value`` (parsed JSON) with random keys dropped, added or given odd values."""
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            choice = draw(st.integers(0, 19))
            if choice == 0:
                continue  # missing (fine when optional)
            result[key] = draw(JUNK) if choice == 1 else draw(mutated(item))
        if draw(st.integers(0, 4)) == 0:
            result[draw(st.sampled_from(["unknown", "extra", "year", "p5"]))] = draw(JUNK)
        return result
    if isinstance(value, list):
        return [draw(mutated(item)) for item in value]
    return value


RESULT_TYPES = sorted({spec.result_type for spec in SPECS}, key=lambda cls: cls.__name__)


def drawn_results(
    spec: AnalysisSpec[Any, Any], data: st.DataObject, max_size: int
) -> tuple[list[Any], list[Any] | None]:
    """Results as JSON (valid ones, mutated half of the time), and what the converter
    makes of them (``None`` when it refuses them)."""
    models = data.draw(st.lists(for_model(spec.result_type), max_size=max_size))
    payload = orjson.loads(orjson.dumps(to_json(models)))
    if data.draw(st.booleans()):
        payload = data.draw(mutated(payload))
    try:
        return payload, [converter.structure(item, spec.result_type) for item in payload]
    except Exception:
        return payload, None


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_decode_is_the_converter(spec: AnalysisSpec[Any, Any], data: st.DataObject) -> None:
    payload, expected = drawn_results(spec, data, max_size=3)
    cls = spec.result_type
    if expected is None:
        with pytest.raises(ResponseDecodeError) as error:
            spec.decode({"results": payload})
        assert list(error.value.errors) == spec._result_errors(payload)
    else:
        decoded = spec.decode({"results": payload})  # (bytes would turn a NaN into null)
        assert repr(decoded) == repr(expected)  # (NaN != NaN: == would fail on a NaN)
        assert [type(item) for item in decoded] == [cls] * len(payload)
        if not data.draw(st.integers(0, 3)):
            assert [to_json(item) for item in decoded] == [to_json(item) for item in expected]
    # Soundness of the generated structurer alone.
    for item in payload:
        try:
            built = spec._fast_result(item)
        except Exception:
            continue
        reference = converter.structure(item, cls)
        assert repr(built) == repr(reference)
        assert _same_types(built, reference)


def _same_types(left: Any, right: Any) -> bool:
    if type(left) is not type(right):
        return False
    if attrs.has(type(left)):
        return all(
            _same_types(getattr(left, f.name), getattr(right, f.name))
            for f in attrs.fields(type(left))
        )
    if isinstance(left, (tuple, list)):
        return len(left) == len(right) and all(map(_same_types, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same_types(left[k], right[k]) for k in left)
    return True


def test_decode_keeps_unknown_keys_and_tolerates_missing_optionals() -> None:
    spec = ANALYSES["emissions-estimates"]
    payload = {
        "results": [
            {"data": [{"year": 2022, "emissions": {"scope1": 1, "new": [1]}, "x": None}], "y": 2}
        ]
    }
    (result,) = spec.decode(payload)
    assert result == converter.structure(payload["results"][0], spec.result_type)
    assert result.extra == {"y": 2}
    assert result.entity_info is None
    assert result.data[0].extra == {"x": None}
    assert result.data[0].estimated == ()
    assert result.data[0].emissions.extra == {"new": [1]}
    assert type(result.data[0].emissions.scope1) is int


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_consuming_decode_is_the_converter(
    spec: AnalysisSpec[Any, Any], data: st.DataObject
) -> None:
    """``decode(payload, consume=True)`` (the batch runner's: models built in the parsed
    list, each result released as its model exists) gives the same models or errors,
    also when a result fails after others were built in place."""
    payload, expected = drawn_results(spec, data, max_size=4)
    cls = spec.result_type
    handed = copy.deepcopy(payload)  # (orjson would turn a NaN into null)
    if expected is None:
        with pytest.raises(ResponseDecodeError) as plain:
            spec.decode({"results": payload})
        with pytest.raises(ResponseDecodeError) as consumed:
            spec.decode({"results": handed}, consume=True)
        assert consumed.value.errors == plain.value.errors
        assert str(consumed.value) == str(plain.value)
    else:
        decoded = spec.decode({"results": handed}, consume=True)
        assert repr(decoded) == repr(expected)
        assert [type(item) for item in decoded] == [cls] * len(payload)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_decode_that_takes_the_json_apart_is_the_converter(
    spec: AnalysisSpec[Any, Any], data: st.DataObject
) -> None:
    """``decode(parsed, consume=True, source=body)`` (the batch runner's: the parsed dicts
    become the models' ``extra``) gives the same models, ``extra`` in the same order, or
    the same errors, also when a result fails after others were taken apart."""
    payload, _ = drawn_results(spec, data, max_size=4)
    try:
        source = orjson.dumps({"results": payload})  # (a NaN is null from here on)
    except TypeError:  # an integer beyond 64 bits: no body holds one
        assume(False)
    fresh = orjson.loads(source)["results"]
    try:
        expected = [converter.structure(item, spec.result_type) for item in fresh]
    except Exception:
        with pytest.raises(ResponseDecodeError) as plain:
            spec.decode({"results": fresh})
        with pytest.raises(ResponseDecodeError) as owned:
            spec.decode(orjson.loads(source), consume=True, source=source)
        assert owned.value.errors == plain.value.errors
        assert str(owned.value) == str(plain.value)
        return
    decoded = spec.decode(orjson.loads(source), consume=True, source=source)
    assert repr(decoded) == repr(expected)  # extra's keys in the body's order, too
    assert [type(item) for item in decoded] == [spec.result_type] * len(fresh)
    for item, copy_of_item in zip(orjson.loads(source)["results"], fresh, strict=True):
        try:
            built = spec._owned_result(item)
        except Exception:
            continue
        assert _same_types(built, converter.structure(copy_of_item, spec.result_type))


def test_unknown_keys_stay_in_the_bodys_order() -> None:
    spec = ANALYSES["emissions-estimates"]
    year = {"year": 2022, "zeta": 1, "emissions": {"scope1": 1.5}, "alpha": 2, "mid": 3}
    body = orjson.dumps({"results": [{"data": [year], "b": 1, "a": 2}]})
    for decoded in (
        spec.decode(body),
        spec.decode({"results": [orjson.loads(body)["results"][0]]}),
        [converter.structure(orjson.loads(body)["results"][0], spec.result_type)],
    ):
        assert list(decoded[0].data[0].extra) == ["zeta", "alpha", "mid"]
        assert list(decoded[0].extra) == ["b", "a"]


def test_a_body_taken_apart_is_read_again_for_the_converter() -> None:
    """The first results are taken apart before the third fails the fast path; the
    converter still sees the body as sent: same errors, and a value only the converter
    accepts gives the same models as a decode that copies."""
    spec = ANALYSES["emissions-estimates"]
    good = {"data": [{"year": 2022, "emissions": {"scope1": 1.5}, "note": "kept"}], "u": 1}
    bad = {"data": [{"year": "2022", "emissions": {}}]}
    body = orjson.dumps({"results": [good, good, bad]})
    with pytest.raises(ResponseDecodeError) as error:
        spec.decode(orjson.loads(body), consume=True, source=body)
    assert [path for path, _ in error.value.errors] == ["results[2].data[0].year"]
    odd = {"data": [{"year": 2022.0, "emissions": {"scope1": 1.5}, "w": 0}]}  # converter only
    body = orjson.dumps({"results": [good, odd]})
    decoded = spec.decode(orjson.loads(body), consume=True, source=body)
    assert repr(decoded) == repr(spec.decode({"results": [good, odd]}))
    assert decoded[0].data[0].extra == {"note": "kept"}
    assert decoded[1].data[0].year == 2022
    assert decoded[1].data[0].extra == {"w": 0}


def test_a_consuming_decode_of_bytes_fills_the_parsed_list() -> None:
    spec = ANALYSES["emissions-estimates"]
    good = {"data": [{"year": 2022, "emissions": {"scope1": 1.5}, "estimated": ["scope2"]}]}
    bad = {"data": [{"year": "2022", "emissions": {}}]}
    body = orjson.dumps({"results": [good, good, bad]})
    with pytest.raises(ResponseDecodeError) as error:
        spec.decode(body)
    assert [path for path, _ in error.value.errors] == ["results[2].data[0].year"]
    assert spec.decode(orjson.dumps({"results": [good, good]})) == spec.decode(
        {"results": [good, good]}
    )
    shared = spec.decode(orjson.dumps({"results": [good, good]}))
    assert shared[0].data[0].estimated is shared[1].data[0].estimated  # one tuple per content


def test_models_without_unknown_keys_share_one_read_only_empty_extra() -> None:
    from emmi_async.models import EntityInfo
    from emmi_async.models._common import EMPTY_EXTRA

    spec = ANALYSES["emissions-estimates"]
    payload = {"results": [{"data": [{"year": 2022, "emissions": {"scope1": 1.0}}]}]}
    (fast,) = spec.decode(orjson.dumps(payload))
    slow = converter.structure(payload["results"][0], spec.result_type)
    for model in (fast, slow, fast.data[0], fast.data[0].emissions, EntityInfo()):
        assert model.extra is EMPTY_EXTRA
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert EntityInfo() == EntityInfo(extra={})
    assert repr(EntityInfo()) == repr(EntityInfo(extra={}))
    assert EMPTY_EXTRA == {}
    with pytest.raises(TypeError):
        EntityInfo().extra["x"] = 1  # type: ignore[index]
    assert copy.deepcopy(EntityInfo()).extra is EMPTY_EXTRA


def test_decoded_results_are_frozen_instances_of_exactly_their_classes() -> None:
    """The structurers build each model in a subclass and then give it its class: what
    comes out is the class itself, frozen, and behaves as the constructor's models do."""
    spec = ANALYSES["emissions-estimates"]
    year = {"year": 2022, "emissions": {"scope1": 1.5}, "estimated": ["scope1"], "u": 1}
    body = orjson.dumps({"results": [{"entity_info": {"name": "n"}, "data": [year]}]})
    (owned,) = spec.decode(body)  # the runner's: the parsed JSON taken apart
    for result in (owned, spec._fast_result(orjson.loads(body)["results"][0])):
        assert result.entity_info is not None
        models = (result, result.entity_info, result.data[0], result.data[0].emissions)
        constructed = (
            converter.structure(orjson.loads(body)["results"][0], spec.result_type),
            EntityInfo(name="n"),
        )
        assert [type(model) for model in models] == [
            spec.result_type,
            EntityInfo,
            type(constructed[0].data[0]),
            Emissions,
        ]
        assert models[:2] == constructed
        assert hash(result.entity_info) == hash(constructed[1])
        for model in models:
            with pytest.raises(attrs.exceptions.FrozenInstanceError):
                model.extra = {}
            with pytest.raises(attrs.exceptions.FrozenInstanceError):
                del model.extra
            assert weakref.ref(model)() is model
            assert pickle.loads(pickle.dumps(model)) == model
            assert copy.copy(model) == model
            assert attrs.evolve(model) == model


class _OwnMeta(type):
    pass


@attrs.frozen(kw_only=True)
class _WithMetaclass(metaclass=_OwnMeta):
    value: int
    extra: Mapping[str, Any] = extra_field()


def test_a_class_without_a_builder_is_structured_through_its_slots() -> None:
    assert _builder(_WithMetaclass) is None
    assert _builder(Emissions) is _builder(Emissions) is not None  # one per class
    for owned in (False, True):
        structure = result_structurer(_WithMetaclass, converter.get_structure_hook, owned=owned)
        built = structure({"value": 3, "other": "kept"})
        assert type(built) is _WithMetaclass
        assert built == _WithMetaclass(value=3, extra={"other": "kept"})


def test_a_null_where_a_field_has_a_default_reads_as_the_default() -> None:
    """``"estimated": null`` is read as no estimated scopes, on every path, where it
    failed the whole answer before; a null for a field that holds ``None`` stays one."""
    spec = ANALYSES["emissions-estimates"]
    year = {"year": 2022, "emissions": {"scope1": 1.5}, "estimated": None}
    year["data_quality_score"] = None
    body = orjson.dumps({"results": [{"data": [year]}]})
    expected = spec.decode({"results": [{"data": [{"year": 2022, "emissions": {"scope1": 1.5}}]}]})
    assert spec.decode(body) == expected
    assert spec.decode(orjson.loads(body)) == expected
    assert spec._fast_result(orjson.loads(body)["results"][0]) == expected[0]
    assert converter.structure(orjson.loads(body)["results"][0], spec.result_type) == expected[0]
    assert expected[0].data[0].estimated == ()
