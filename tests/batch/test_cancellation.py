"""Stopping a run at any point leaks no task and no connection."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emmi_async.testing import FaultConfig, ReferenceServer

from ._support import (
    client_connections,
    entity,
    indexes_once,
    matches,
    running_tasks,
    wait_for_no_connections,
)

pytestmark = pytest.mark.anyio

SLOWISH = FaultConfig(latency_ms=5, latency_jitter_ms=30, seed=3)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stop_at=st.floats(0.0, 0.25),
    ordered=st.booleans(),
    max_concurrency=st.integers(1, 16),
    how=st.sampled_from(["cancel", "break", "aclose"]),
    stop_after=st.integers(0, 50),
)
async def test_stopping_anywhere_in_process(
    stop_at: float, ordered: bool, max_concurrency: int, how: str, stop_after: int
) -> None:
    server = ReferenceServer(faults=SLOWISH)
    baseline = running_tasks()
    async with server, server.client() as client:
        runner = client.batch(
            client.emissions.estimate, chunk_size=5, max_concurrency=max_concurrency
        )
        seen = []
        stream = runner.stream((entity(i) for i in range(2_000)), ordered=ordered)
        if how == "cancel":
            with anyio.move_on_after(stop_at):
                async with stream:
                    async for outcome in stream:
                        seen.append(outcome)
        elif how == "break":
            async with stream:
                async for outcome in stream:
                    seen.append(outcome)
                    if len(seen) > stop_after:
                        break
        else:
            async for outcome in stream:
                seen.append(outcome)
                if len(seen) > stop_after:
                    await stream.aclose()
                    break
        # Nothing of the run is left: no task, nothing in flight.
        assert running_tasks() == baseline
        assert runner.stats is not None
        assert runner.stats.in_flight == 0
        assert len({outcome.index for outcome in seen}) == len(seen)
        assert all(matches(outcome) for outcome in seen)
        # The pool is still good for the next run.
        report = await client.batch(client.emissions.estimate).run(entity(i) for i in range(20))
        assert report.ok
    assert running_tasks() == baseline


@pytest.mark.parametrize("how", ["cancel", "break"])
async def test_stopping_over_loopback_closes_every_connection(how: str) -> None:
    server = ReferenceServer(port=0, faults=FaultConfig(latency_ms=20, latency_jitter_ms=20))
    baseline = running_tasks()
    async with server:
        port = server.port
        assert port is not None
        async with server.client() as client:
            runner = client.batch(client.emissions.estimate, chunk_size=2, max_concurrency=16)
            seen = []
            if how == "cancel":
                # Cancelled from outside the stream, with requests in flight: once some
                # outcomes came (not after a fixed time, which a loaded machine may spend
                # before the first answer).
                with anyio.fail_after(60), anyio.CancelScope() as scope:
                    async with runner.stream(entity(i) for i in range(5_000)) as stream:
                        async for outcome in stream:
                            seen.append(outcome)
                            if len(seen) == 10:
                                scope.cancel()
                assert scope.cancelled_caught
            else:
                async with runner.stream(entity(i) for i in range(5_000)) as stream:
                    async for outcome in stream:
                        seen.append(outcome)
                        if len(seen) == 10:
                            break
            assert 0 < len(seen) < 5_000
            assert runner.stats is not None
            assert runner.stats.in_flight == 0
            assert all(matches(outcome) for outcome in seen)
            # Still usable: the cancelled requests did not poison the pool.
            after = await client.batch(client.emissions.estimate).run(map(entity, range(30)))
            indexes_once(after.outcomes, 30)
            assert after.ok
            # The probe does see this client's sockets (kept alive in the pool) ...
            assert client_connections(port) > 0
        # ... and none is left once the client is closed.
        assert await wait_for_no_connections(port) == 0
        assert running_tasks() == baseline
