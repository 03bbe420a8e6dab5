"""Hypothesis strategies for every model, derived from the attrs classes' field types."""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from hypothesis import strategies as st

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_JSON_SCALARS = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _TEXT
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)
_ZONES = st.sampled_from(
    [None, dt.timezone.utc, dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")]
)


def _extra(cls: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    names = {field.name for field in attrs.fields(cls)} - {"extra"}
    keys = _TEXT.filter(lambda key: key not in names)
    return st.dictionaries(keys, _JSON, max_size=3)


def for_type(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy of JSON-round-trippable values of ``tp`` (no NaN, no surrogates)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(st.none() if arg is type(None) else for_type(arg) for arg in args))
    if origin is Sequence or origin is tuple:
        return st.lists(for_type(args[0]), max_size=2).map(tuple)
    if origin is Mapping:
        return st.dictionaries(_TEXT, for_type(args[1]), max_size=2)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if attrs.has(tp):
        return for_model(tp)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        bool: st.booleans(),
        int: st.integers(-(2**53), 2**53),
        float: st.floats(allow_nan=False, allow_infinity=False),
        str: _TEXT,
        uuid.UUID: st.uuids(),
        dt.date: st.dates(),
        dt.datetime: st.datetimes(timezones=_ZONES),
    }
    return simple[tp]


def for_model(cls: type[Any]) -> st.SearchStrategy[Any]:
    """Instances of the attrs model ``cls`` with every field drawn from its type."""
    hints = typing.get_type_hints(cls)
    fields = {}
    for field in attrs.fields(cls):
        if field.name == "extra":
            fields["extra"] = _extra(cls)
        else:
            fields[field.name] = st.deferred(lambda tp=hints[field.name]: for_type(tp))
    return st.builds(cls, **fields)
