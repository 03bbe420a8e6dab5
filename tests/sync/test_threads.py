"""Many threads on one client, callers inside running event loops, and the loop's own thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import trio

from emmi_async import BatchEvent, Emmi, models
from emmi_async._sync_support import PortalThreadError
from emmi_async.testing import ReferenceServer
from tests.sync.conftest import ServerTap, entity, tapped

THREADS = 16
CALLS = 25
MAX_CONNECTIONS = 4


@pytest.fixture
def loopback() -> Iterator[tuple[ReferenceServer, ServerTap]]:
    server = ReferenceServer(port=0, rate_limit=None, end_user_rate_limit=None)
    tap = tapped(server)
    with server:
        yield server, tap


def test_sixteen_threads_share_one_client_and_one_pool(
    loopback: tuple[ReferenceServer, ServerTap],
) -> None:
    server, tap = loopback
    client = Emmi.from_async(server.client(max_connections=MAX_CONNECTIONS))
    start = threading.Barrier(THREADS)
    loop_threads: set[int] = set()

    def work(worker: int) -> list[float | None]:
        start.wait()
        got: list[float | None] = []
        for call in range(CALLS):
            one = entity(f"T{worker}-{call}")
            one["data"][0]["emissions"] = {"scope1": worker * 1000 + call}
            [result] = client.emissions.estimate([one])
            got.append(result.data[0].emissions.scope1)
            thread = client._portal.thread
            assert thread is not None
            loop_threads.add(thread.ident or 0)
        return got

    with client, ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))
    for worker, got in enumerate(results):
        assert got == [float(worker * 1000 + call) for call in range(CALLS)]
    assert tap.requests == THREADS * CALLS
    assert len(loop_threads) == 1  # one event loop served every thread
    assert 1 <= len(tap.peers) <= MAX_CONNECTIONS  # one pool, within its limit


def test_results_match_their_callers_across_threads(client: Emmi) -> None:
    def work(worker: int) -> list[float | None]:
        revenue = (worker + 1) * 1_000_000_000
        results: list[float | None] = []
        for _ in range(10):
            one = entity(f"W{worker}")
            one["data"][0]["emissions"] = {"scope1": worker + 1}
            one["data"][0]["financials"]["revenue"] = revenue
            [result] = client.emissions.estimate([one])
            results.append(result.data[0].emissions.scope1)
        return results

    with ThreadPoolExecutor(THREADS) as pool:
        for worker, scope1s in enumerate(pool.map(work, range(THREADS))):
            assert scope1s == [float(worker + 1)] * 10


@pytest.mark.parametrize("library", ["asyncio", "trio"])
def test_a_caller_inside_a_running_event_loop_does_not_deadlock(client: Emmi, library: str) -> None:
    async def notebook_cell() -> tuple[models.Health, list[models.EmissionsEstimateResult]]:
        # as in Jupyter: blocking code called from a coroutine of another loop
        health = client.service.health()
        results = client.emissions.estimate([entity()])
        report = client.batch(client.emissions.estimate).run([entity("a"), entity("b")])
        assert report.ok
        return health, results

    if library == "asyncio":
        health, results = asyncio.run(notebook_cell())
    else:
        health, results = trio.run(notebook_cell)
    assert isinstance(health, models.Health)
    assert len(results) == 1


def test_a_call_from_the_loop_thread_is_refused_not_deadlocked(client: Emmi) -> None:
    refused: list[BaseException] = []

    def on_progress(event: BatchEvent) -> None:
        try:
            client.service.health()
        except PortalThreadError as exc:
            refused.append(exc)

    report = client.batch(client.emissions.estimate, on_progress=on_progress).run([entity()])
    assert report.ok
    assert refused
    assert "own event-loop thread" in str(refused[0])
    assert isinstance(refused[0], RuntimeError)
