"""Outcome order, the report, its stats, and progress events."""

from __future__ import annotations

import collections

import anyio
import anyio.lowlevel
import pytest

from emmi_async.batch import BatchEvent
from emmi_async.testing import FaultConfig, ReferenceServer

from ._support import (
    ESTIMATES,
    client_bad,
    entity,
    indexes_once,
    matches,
    risk_entity,
    server_bad,
    throttle_first,
    throttled,
)

pytestmark = pytest.mark.anyio

FLAKY = FaultConfig(status_rates={500: 0.05}, drop_rate=0.03, paths=frozenset({ESTIMATES}), seed=4)


async def entities_slowly(total: int):  # type: ignore[no-untyped-def]
    """An async input that yields now and then, so that chunks finish out of order."""
    for index in range(total):
        if index % 7 == 0:
            await anyio.lowlevel.checkpoint()
        yield entity(index)


async def test_ordered_stream_gives_input_order() -> None:
    server = ReferenceServer(faults=FaultConfig(latency_jitter_ms=20, seed=1))
    async with server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=3, max_concurrency=8)
        async with runner.stream(entities_slowly(300), ordered=True) as stream:
            indexes = [outcome.index async for outcome in stream if matches(outcome)]
    assert indexes == list(range(300))


async def test_unordered_stream_gives_each_index_once() -> None:
    server = ReferenceServer(faults=FaultConfig(latency_jitter_ms=20, seed=2))
    async with server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=3, max_concurrency=8)
        outcomes = [outcome async for outcome in runner.stream(entities_slowly(300))]
    indexes_once(outcomes, 300)
    assert all(matches(outcome) for outcome in outcomes)
    # With random latency the completion order differs from the input order.
    assert [outcome.index for outcome in outcomes] != list(range(300))


async def test_run_report_and_stats() -> None:
    total = 500
    server = ReferenceServer(faults=throttled())
    async with server, server.client() as client:
        runner = client.batch(
            client.emissions.estimate,
            chunk_size=10,
            max_concurrency=16,
            on_progress=throttle_first(server, FLAKY),
        )
        report = await runner.run(entity(i) for i in range(total))
        server.faults = None
        await runner.run([entity(0)])
    assert runner.stats is not None
    assert runner.stats.entities == 1
    assert [outcome.index for outcome in report.outcomes] == list(range(total))
    assert report.ok
    assert report.results == [outcome.result for outcome in report.outcomes]
    stats = report.stats
    assert stats.entities == stats.succeeded == stats.done == total
    assert stats.failed == stats.resumed == stats.splits == 0
    assert stats.in_flight == 0
    assert stats.retries > 0
    assert stats.throttled > 0
    assert stats.requests == total // 10 + stats.retries
    assert len(stats.latencies) == stats.requests
    p50, p99 = stats.latency_p50, stats.latency_p99
    assert p50 is not None
    assert p99 is not None
    assert 0 < p50 <= p99
    summary = stats.summary()
    assert summary["requests"] == stats.requests
    assert summary["throttled"] == stats.throttled
    # The report holds a snapshot: the runner's second run left it alone.
    assert report.stats is not runner.stats


async def test_progress_events_add_up() -> None:
    total = 600
    bad_client = set(range(5, total, 97))
    bad_server = set(range(11, total, 131))
    events: list[BatchEvent] = []
    done_seen: list[int] = []

    def on_progress(event: BatchEvent) -> None:
        events.append(event)
        done_seen.append(event.stats.done)
        then_flaky(event)

    server = ReferenceServer(faults=throttled())
    then_flaky = throttle_first(
        server, FaultConfig(status_rates={500: 0.05}, drop_rate=0.03, seed=8)
    )

    def make(index: int) -> dict[str, object]:
        if index in bad_client:
            return {**client_bad(index), "scenarios": ["ipcc_net_zero"]}
        return server_bad(index) if index in bad_server else risk_entity(index)

    async with server, server.client() as client:
        runner = client.batch(
            client.climate_risk.assess, chunk_size=25, max_concurrency=16, on_progress=on_progress
        )
        report = await runner.run(make(i) for i in range(total))
    stats = report.stats
    counts = collections.Counter()
    for event in events:
        counts[event.kind] += event.count
    kinds = collections.Counter(event.kind for event in events)
    assert stats.failed == len(bad_client) + len(bad_server)
    assert counts["done"] == stats.succeeded == total - stats.failed
    assert counts["failed"] == stats.failed, (counts, stats.summary())
    assert counts["done"] + counts["failed"] == total
    assert counts["throttled"] == kinds["throttled"] == stats.throttled > 0
    assert kinds["retried"] == stats.retries > 0
    assert kinds["split"] == stats.splits > 0
    assert done_seen == sorted(done_seen)
    assert done_seen[-1] == total
