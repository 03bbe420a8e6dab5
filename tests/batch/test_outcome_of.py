"""``outcome_of`` (the runner's cheap constructor) builds what ``Outcome(...)`` builds."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emmi_async.batch._outcome import Outcome, outcome_of


def test_outcome_has_nothing_that_the_direct_constructor_would_skip() -> None:
    for field in attrs.fields(Outcome):
        assert field.validator is None, field.name
        assert field.converter is None, field.name
    assert getattr(Outcome, "__attrs_post_init__", None) is None
    assert getattr(Outcome, "__attrs_pre_init__", None) is None


@given(
    index=st.integers(0, 2**40),
    identifier=st.none() | st.text(max_size=5),
    result=st.none() | st.integers() | st.text(max_size=5),
    failed=st.booleans(),
    attempts=st.integers(0, 9),
)
def test_outcome_of_is_the_constructor(
    index: int, identifier: str | None, result: Any, failed: bool, attempts: int
) -> None:
    error = ValueError("bad") if failed else None
    built = outcome_of(index, identifier, result, error, attempts)
    expected = Outcome(index, identifier, result=result, error=error, attempts=attempts)
    assert type(built) is Outcome
    assert built == expected
    assert repr(built) == repr(expected)
    assert hash(built) == hash(expected)
    assert attrs.astuple(built, recurse=False) == attrs.astuple(expected, recurse=False)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.index = 1  # type: ignore[misc]


class _Str(str):
    pass


class _Info:
    identifier = "from-an-object"


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"entity_info": {"identifier": "a"}}, "a"),
        ({"entity_info": {"identifier": _Str("b")}}, "b"),
        ({"entity_info": {"identifier": 3}}, None),
        ({"entity_info": {}}, None),
        ({"entity_info": None}, None),
        ({"entity_info": _Info()}, "from-an-object"),
        ({}, None),
        ([], None),
        (None, None),
    ],
)
def test_identifiers_are_read_leniently(item: Any, expected: str | None) -> None:
    from emmi_async.batch._operation import _identifier_of

    assert _identifier_of(item) == expected
