"""Transient faults (5xx, 429 bursts, dropped connections, truncated bodies) lose nothing."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emmi_async.batch import BatchEvent
from emmi_async.testing import FaultConfig, ReferenceServer

from ._support import ESTIMATES, entities_used, entity, indexes_once, matches

pytestmark = pytest.mark.anyio

# 5 % 5xx, 1 % dropped connections, 1 % truncated bodies, and a trickle of 429s.
NOISY = FaultConfig(
    status_rates={500: 0.02, 502: 0.015, 503: 0.015, 429: 0.005},
    drop_rate=0.01,
    truncate_rate=0.01,
    paths=frozenset({ESTIMATES}),
    seed=11,
)
# A burst: most requests refused with 429 + Retry-After: 1 for a while.
BURST = FaultConfig(status_rates={429: 0.4}, paths=frozenset({ESTIMATES}), seed=12)


def burst_schedule(server: ReferenceServer, requests: int) -> Any:
    """An on_progress hook that turns a 429 burst on after 30 % of ``requests`` were sent
    and off after 40 % (counted in requests: results may be decoded well after their
    responses came, so entities done would lag the server's clock)."""
    state = {"phase": "before", "throttled": 0}

    def on_progress(event: BatchEvent) -> None:
        sent = event.stats.requests
        if state["phase"] == "before" and sent >= 0.30 * requests:
            server.faults = BURST
            state["phase"] = "burst"
        elif state["phase"] == "burst" and sent >= 0.40 * requests:
            server.faults = NOISY
            state["phase"] = "after"
        if event.kind == "throttled":
            state["throttled"] += event.count

    return on_progress, state


async def reference_results(indexes: list[int]) -> dict[int, Any]:
    """The same entities estimated one by one on a fault-free server."""
    clean = ReferenceServer(seed=99)
    async with clean, clean.client() as client:
        return {index: (await client.emissions.estimate(entity(index)))[0] for index in indexes}


async def test_ten_thousand_entities_through_faults_in_process() -> None:
    total = 10_000
    server = ReferenceServer(faults=NOISY, seed=5)
    on_progress, state = burst_schedule(server, total // 50)
    async with server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=50, on_progress=on_progress)
        report = await runner.run(entity(i) for i in range(total))

    outcomes = report.outcomes
    assert [outcome.index for outcome in outcomes] == list(range(total))
    indexes_once(outcomes, total)
    assert report.failures == []
    assert all(matches(outcome) for outcome in outcomes)
    assert all(outcome.identifier == f"E{outcome.index}" for outcome in outcomes)
    stats = report.stats
    assert (stats.entities, stats.succeeded, stats.failed) == (total, total, 0)
    # The faults did happen, and were recovered from.
    assert state["phase"] == "after"
    assert stats.throttled >= 5, stats.summary()
    assert stats.retries >= 10, stats.summary()
    assert stats.requests == total // 50 + stats.retries
    # Each entity was computed at least once (a truncated body is computed, then lost).
    assert entities_used(server, server.keys.single) >= total

    sample = sorted(random.Random(3).sample(range(total), 25))
    expected = await reference_results(sample)
    assert {index: outcomes[index].result for index in sample} == expected


async def test_faults_over_loopback() -> None:
    """Real sockets: dropped connections and cut bodies are real TCP closes."""
    total = 2_000
    faults = FaultConfig(
        status_rates={500: 0.03, 503: 0.03},
        drop_rate=0.03,
        truncate_rate=0.03,
        paths=frozenset({ESTIMATES}),
        seed=21,
    )
    server = ReferenceServer(port=0, faults=faults, seed=6)
    async with server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=20, max_concurrency=8)
        outcomes = [outcome async for outcome in runner.stream(entity(i) for i in range(total))]
        stats = runner.stats
    assert stats is not None
    indexes_once(outcomes, total)
    assert [outcome for outcome in outcomes if not outcome.ok] == []
    assert all(matches(outcome) for outcome in outcomes)
    assert stats.retries >= 3, stats.summary()


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    chunk_size=st.integers(1, 100),
    max_concurrency=st.integers(1, 12),
    total=st.integers(0, 400),
    ordered=st.booleans(),
    seed=st.integers(0, 2**16),
)
async def test_any_chunking_loses_nothing(
    chunk_size: int, max_concurrency: int, total: int, ordered: bool, seed: int
) -> None:
    faults = FaultConfig(
        status_rates={500: 0.03, 502: 0.02},
        drop_rate=0.02,
        truncate_rate=0.02,
        malformed_rate=0.01,
        seed=seed,
    )
    server = ReferenceServer(faults=faults, seed=seed)
    async with server, server.client() as client:
        runner = client.batch(
            client.emissions.estimate, chunk_size=chunk_size, max_concurrency=max_concurrency
        )
        outcomes = [
            o async for o in runner.stream(iter(map(entity, range(total))), ordered=ordered)
        ]
    indexes_once(outcomes, total)
    if ordered:
        assert [outcome.index for outcome in outcomes] == list(range(total))
    assert all(matches(outcome) for outcome in outcomes), [o.error for o in outcomes if not o.ok]
