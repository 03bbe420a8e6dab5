"""The committed facade is what the generator makes, and every async member has a twin."""

from __future__ import annotations

import importlib.util
import inspect
import typing

import pytest

import emmi_async.sync
from emmi_async import AsyncEmmi, Emmi
from scripts import generate_sync
from scripts.generate_sync import OUTPUT, diff_members, public_members


def _ruff_available() -> bool:
    return importlib.util.find_spec("ruff") is not None


@pytest.mark.skipif(not _ruff_available(), reason="the generator formats its output with ruff")
def test_committed_facade_is_up_to_date() -> None:
    expected = generate_sync.generate()
    stale = diff_members(expected, OUTPUT.read_text(encoding="utf-8"))
    assert not stale, (
        f"emmi_async/sync.py is stale in: {', '.join(stale)}; "
        "run `python -m scripts.generate_sync` and commit the result"
    )


def test_diff_names_the_stale_member() -> None:
    current = OUTPUT.read_text(encoding="utf-8")
    edited = current.replace(
        "return self._portal.call(self._async.health)",
        "return self._portal.call(self._async.info)",
        1,
    )
    assert edited != current
    assert diff_members(current, edited) == ["SyncServiceResource.health"]
    without = current.replace("    def ensure(", "    def _gone(")
    assert "SyncCustomersResource.ensure" in diff_members(current, without)


def _twins() -> list[tuple[type, type]]:
    return [(cls, getattr(emmi_async.sync, name)) for cls, name in generate_sync._iter_twins()]


def test_the_twins_cover_the_client_resources_and_batch_runner() -> None:
    names = {sync.__name__ for _, sync in _twins()}
    expected = {"Emmi", "SyncEmissionsResource", "SyncCustomersResource", "SyncBatchRunner"}
    assert expected | {"SyncOutcomeStream", "SyncEmissionsResourceWithRawResponse"} <= names
    assert set(emmi_async.sync.__all__) == names


@pytest.mark.parametrize(("async_cls", "sync_cls"), _twins(), ids=lambda c: c.__name__)
def test_every_async_member_has_a_sync_twin(async_cls: type, sync_cls: type) -> None:
    missing = [
        f"{async_cls.__name__}.{member.name} (as {sync_cls.__name__}.{member.sync_name})"
        for member in public_members(async_cls)
        if member.sync_name not in vars(sync_cls)
    ]
    assert not missing, f"async members without a blocking twin: {', '.join(missing)}"


def _comparable(func: object) -> list[tuple[str, object, object, object]]:
    signature = inspect.signature(func)  # type: ignore[arg-type]
    return [
        (p.name, p.kind, p.default, p.annotation) for p in list(signature.parameters.values())[1:]
    ]


def _rewrite(annotation: object) -> object:
    """The annotation text as the twin should have it (the generator's rewrites)."""
    text = str(annotation)
    for old, new in (
        ("Awaitable[list[ResultT]]", "list[ResultT]"),
        ("Awaitable[HazardRisk]", "HazardRisk"),
        ("Awaitable[Any]", "Any"),
        ("AsyncIterator[", "Iterator["),
        ("ClientT", "SyncClientT"),
    ):
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(("async_cls", "sync_cls"), _twins(), ids=lambda c: c.__name__)
def test_twins_take_the_same_parameters_and_keep_the_docstrings(
    async_cls: type, sync_cls: type
) -> None:
    for member in public_members(async_cls):
        if member.kind in ("special", "property"):
            continue
        async_func = getattr(async_cls, member.name)
        sync_func = getattr(sync_cls, member.sync_name)
        want = [(n, k, d, _rewrite(a)) for n, k, d, a in _comparable(async_func)]
        have = [(n, k, d, str(a)) for n, k, d, a in _comparable(sync_func)]
        assert have == want, f"{sync_cls.__name__}.{member.sync_name}"
        doc = inspect.getdoc(async_func)
        if doc is not None:
            first_line = doc.splitlines()[0]
            assert (inspect.getdoc(sync_func) or "").startswith(first_line)


def test_overloads_of_batch_come_through() -> None:
    source = inspect.getsource(Emmi)
    assert source.count("@overload\n    def batch(") == 2
    assert "Callable[..., list[ResultT]]" in source
    assert "-> SyncBatchRunner[HazardRisk]" in source


def test_properties_are_properties() -> None:
    for name in ("emissions", "customers", "auth", "base_url", "is_closed"):
        assert isinstance(inspect.getattr_static(Emmi, name), property), name
    assert isinstance(inspect.getattr_static(AsyncEmmi, "emissions"), property)
    getter = inspect.getattr_static(Emmi, "emissions").fget
    assert typing.get_type_hints(getter)["return"] is emmi_async.sync.SyncEmissionsResource
