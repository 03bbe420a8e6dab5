"""The exported surface of ``emmi_async`` (after httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import pickle
import warnings

import pytest

import emmi_async
from emmi_async import resources


def test_all_is_sorted_and_complete() -> None:
    assert emmi_async.__all__ == sorted(emmi_async.__all__)
    assert len(set(emmi_async.__all__)) == len(emmi_async.__all__)
    for name in emmi_async.__all__:
        value = getattr(emmi_async, name)
        if name not in ("models", "__version__", "NOT_GIVEN", "HttpBackend"):
            assert value.__module__.startswith("emmi_async"), name
    assert set(emmi_async.__all__) <= set(dir(emmi_async))


def test_every_exception_is_exported_and_an_emmi_error() -> None:
    from emmi_async import _exceptions

    for name in _exceptions.__all__:
        value = getattr(_exceptions, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, emmi_async.EmmiError), name
            if name != "ValidationError":
                assert getattr(emmi_async, name) is value, name


def test_validation_error_is_a_deprecated_alias() -> None:
    with pytest.warns(DeprecationWarning, match="UnprocessableEntityError"):
        alias = emmi_async.ValidationError  # type: ignore[attr-defined]
    assert alias is emmi_async.UnprocessableEntityError
    assert "ValidationError" not in emmi_async.__all__


def test_resources_are_named_apart_from_models() -> None:
    assert resources.EmissionsResource is not emmi_async.models.Emissions
    assert resources.RankingsResource is not emmi_async.models.Rankings
    assert set(resources.__all__).isdisjoint(
        name for name in emmi_async.models.__all__ if not name.endswith("Resource")
    ) or {"Emissions", "Rankings"} >= (set(resources.__all__) & set(emmi_async.models.__all__))
    # the former names still import, as aliases
    assert resources.Emissions is resources.EmissionsResource
    assert resources.Hazards is resources.HazardsResource


def test_not_given_is_a_public_falsy_singleton() -> None:
    assert not emmi_async.NOT_GIVEN
    assert repr(emmi_async.NOT_GIVEN) == "NOT_GIVEN"
    assert emmi_async.NotGiven() is emmi_async.NOT_GIVEN
    assert pickle.loads(pickle.dumps(emmi_async.NOT_GIVEN)) is emmi_async.NOT_GIVEN
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = emmi_async.AsyncEmmi(timeout=7.0)
        assert client.with_options(timeout=emmi_async.NOT_GIVEN).timeout == client.timeout
        assert client.with_options(timeout=None).timeout.read is None
