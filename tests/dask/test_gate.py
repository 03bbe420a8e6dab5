"""DaskGate's lease keeping, with stand-ins for distributed's Semaphore and Variable."""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio
import pytest

pytest.importorskip("distributed")

from emmi_async.dask import DaskGate, GateSpec

pytestmark = pytest.mark.anyio


class FakeSemaphore:
    """A counting semaphore with distributed's calls (acquire with timeout, release)."""

    def __init__(self, leases: int) -> None:
        self._inner = threading.BoundedSemaphore(leases)
        self.acquired = 0
        self.released = 0
        self.lock = threading.Lock()

    def acquire(self, timeout: float | None = None) -> bool:
        got = self._inner.acquire(timeout=timeout)
        if got:
            with self.lock:
                self.acquired += 1
        return got

    def release(self) -> bool:
        with self.lock:
            self.released += 1
        self._inner.release()
        return True


class FakeVariable:
    def __init__(self) -> None:
        self.value: Any = 0.0

    def get(self, timeout: float | None = None) -> Any:
        return self.value

    def set(self, value: Any) -> None:
        self.value = value


def gate(leases: int = 3) -> tuple[DaskGate, FakeSemaphore, FakeVariable]:
    semaphore, variable = FakeSemaphore(leases), FakeVariable()
    spec = GateSpec("test", leases, hold=0.5, poll=0.0)
    return DaskGate(spec, semaphore=semaphore, pause=variable), semaphore, variable


async def test_never_more_in_flight_than_leases_and_all_go_back_when_idle() -> None:
    subject, semaphore, _ = gate(3)
    in_flight = peak = 0

    async def request() -> None:
        nonlocal in_flight, peak
        await subject.acquire()
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.005)
        in_flight -= 1
        await subject.release()

    async with anyio.create_task_group() as group:
        for _ in range(60):
            group.start_soon(request)
    assert peak == 3
    assert subject.requests == 60
    # Busy: leases were kept for the next request rather than fetched each time ...
    assert subject.cluster_acquires < 30
    # ... and once idle, every lease went back.
    assert semaphore.released == semaphore.acquired


async def test_a_published_pause_holds_every_holder() -> None:
    subject, _, variable = gate(2)
    variable.set(time.time() + 0.3)  # published by another worker
    started = time.perf_counter()
    await subject.acquire()
    assert time.perf_counter() - started >= 0.25
    await subject.release()


async def test_a_cancelled_acquire_keeps_no_lease() -> None:
    subject, semaphore, _ = gate(1)
    await subject.acquire()
    with anyio.move_on_after(0.2):
        await subject.acquire()  # waits: the only lease is in use
    await subject.release()
    assert semaphore.released == semaphore.acquired
