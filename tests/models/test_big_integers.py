"""An integer amount the JSON encoder cannot write (beyond 64 bits) is an input problem
naming the field and the entity, on the dict shortcut and on the model path alike, not a
bare ``TypeError`` from the encoder (found by the hypothesis test of the shortcut)."""

from __future__ import annotations

from typing import Any

import pytest

from emmi_async import EntityValidationError
from emmi_async.models import ANALYSES, EmissionsEstimateEntity, structure

SPEC = ANALYSES["emissions-estimates"]


def entity(**amounts: Any) -> dict[str, Any]:
    financials = {"currency": "EUR", "revenue": 1.0, "total_assets": 2.0, "ebitda": -3}
    emissions = {"scope1": 1.0, "scope2": 2}
    for name, value in amounts.items():
        (emissions if name.startswith("scope") else financials)[name] = value
    return {
        "entity_info": {
            "identifier": "BIG",
            "name": "Big AG",
            "asset_type": "equity",
            "country": "DE",
            "industry_classification_system": "GICS",
            "industry": "Banks",
            "sector": "Financials",
        },
        "data": [{"year": 2022, "financials": financials, "emissions": emissions}],
    }


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("total_debt", 2**64, "data[0].financials.total_debt"),
        ("ebitda", -(2**63) - 1, "data[0].financials.ebitda"),
        ("scope1", 10**30, "data[0].emissions.scope1"),
    ],
)
def test_an_integer_beyond_64_bits_is_named(field: str, value: int, path: str) -> None:
    item = entity(**{field: value})
    with pytest.raises(EntityValidationError) as caught:
        SPEC.prepare_json(item, 4)
    message = str(caught.value)
    assert f"entity 4 ('BIG'): {path}: an integer too large to send" in message
    model = structure(item, EmissionsEstimateEntity)
    assert [problem.field for problem in SPEC.problems(model, 4)] == [path]


def test_integers_within_64_bits_are_sent_as_they_are() -> None:
    body = SPEC.prepare_json(entity(total_debt=2**64 - 1, ebitda=-(2**63)), 0)
    assert b'"total_debt":18446744073709551615' in body
    assert b'"ebitda":-9223372036854775808' in body
