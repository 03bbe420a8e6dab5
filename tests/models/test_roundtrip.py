"""Every model survives unstructure -> (JSON ->) structure unchanged."""

from __future__ import annotations

import json
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emmi_async import models
from tests.models._strategies import for_model

MODELS = sorted(
    (obj for obj in vars(models).values() if isinstance(obj, type) and attrs.has(obj)),
    key=lambda cls: cls.__name__,
)
MODELS = [cls for cls in MODELS if cls is not models.AnalysisSpec]


def test_every_public_model_is_slotted_and_keyword_only() -> None:
    assert len(MODELS) == 42  # a new model must be added to models.__all__ and tested here
    for cls in MODELS:
        assert "__slots__" in vars(cls), cls
        assert all(field.kw_only for field in attrs.fields(cls)), cls
        assert attrs.fields_dict(cls)["extra"].default is not attrs.NOTHING, cls


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip(cls: type[Any], data: st.DataObject) -> None:
    value = data.draw(for_model(cls))
    plain = models.to_json(value)
    assert models.structure(plain, cls) == value
    # Through real JSON bytes too, and the plain form is stdlib-json ready.
    assert models.structure(orjson.loads(models.dumps(value)), cls) == value
    assert json.loads(json.dumps(plain)) == plain
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        value.extra = {}
