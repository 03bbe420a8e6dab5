"""The collector's pause around a decode: off inside, as found afterwards, whatever the
nesting, the exceptions or the threads; and the object path decodes inside it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from emmi_async.batch._collector import collector_paused
from emmi_async.models import AnalysisSpec
from emmi_async.testing import ReferenceServer

from ._support import entity, matches


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


def test_off_inside_and_on_again_after(collector_on: None) -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_switched_off_stays_off(collector_on: None) -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_nested_pauses_end_with_the_outer_one(collector_on: None) -> None:
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_exception_ends_the_pause(collector_on: None) -> None:
    with pytest.raises(ZeroDivisionError), collector_paused():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_overlapping_pauses_of_two_threads(collector_on: None) -> None:
    """A enters, B enters, A leaves (still paused for B), B leaves: on again. The other
    order of leaving is the same code path from B's side."""
    entered = threading.Event()
    leave = threading.Event()
    seen: list[bool] = []

    def other() -> None:
        with collector_paused():
            entered.set()
            leave.wait(5)
            seen.append(gc.isenabled())

    thread = threading.Thread(target=other)
    with collector_paused():
        thread.start()
        assert entered.wait(5)
    # This thread's pause ended; the other one's holds.
    assert not gc.isenabled()
    leave.set()
    thread.join(5)
    assert seen == [False]
    assert gc.isenabled()


@pytest.mark.anyio
async def test_the_object_path_decodes_with_the_collector_paused(
    collector_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    during: list[bool] = []
    decode = AnalysisSpec.decode

    def spy(self: AnalysisSpec[Any, Any], payload: Any, **options: Any) -> Any:
        during.append(gc.isenabled())
        return decode(self, payload, **options)

    monkeypatch.setattr(AnalysisSpec, "decode", spy)
    async with ReferenceServer() as server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=10, max_concurrency=4)
        outcomes = [outcome async for outcome in runner.stream(entity(i) for i in range(45))]
    assert len(outcomes) == 45
    assert all(matches(outcome) for outcome in outcomes)
    assert during
    assert not any(during)
    assert gc.isenabled()
