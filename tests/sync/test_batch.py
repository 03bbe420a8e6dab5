"""The blocking batch runner: ``run`` blocks, ``stream`` is a plain iterator that can stop."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from typing import Any

from emmi_async import BatchReport, BatchStats, Emmi, EntityValidationError, Outcome, models
from emmi_async._sync_support import BUFFER_SIZE
from emmi_async.sync import SyncBatchRunner, SyncOutcomeStream
from tests.sync.conftest import entity


def _portfolio(size: int, *, bad: int | None = None) -> list[dict[str, Any]]:
    entities = [entity(f"E{i}") for i in range(size)]
    if bad is not None:
        entities[bad]["data"] = []  # refused by the SDK's own validation
    return entities


class _Counting:
    """An entity iterable that counts what the runner pulled, and whether it was closed."""

    def __init__(self, entities: list[dict[str, Any]]) -> None:
        self.entities = entities
        self.pulled = 0
        self.finished = threading.Event()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            for item in self.entities:
                self.pulled += 1
                yield item
        finally:
            self.finished.set()


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.005)


def test_run_blocks_and_reports_every_entity_in_input_order(client: Emmi) -> None:
    runner = client.batch(client.emissions.estimate, max_concurrency=4, chunk_size=20)
    assert isinstance(runner, SyncBatchRunner)
    assert not runner.stats
    report = runner.run(_portfolio(250, bad=17))
    assert isinstance(report, BatchReport)
    assert [outcome.index for outcome in report.outcomes] == list(range(250))
    assert not report.ok
    [failure] = report.failures
    assert failure.index == 17
    assert isinstance(failure.error, EntityValidationError)
    assert all(
        isinstance(result, models.EmissionsEstimateResult)
        for i, result in enumerate(report.results)
        if i != 17
    )
    assert isinstance(runner.stats, BatchStats)
    assert runner.stats.succeeded == 249
    assert report.stats.requests == 13


def test_hazard_batches(client: Emmi) -> None:
    points = [{"latitude": float(i), "longitude": 10.0} for i in range(30)]
    report = client.batch(client.hazards.get).run(points)
    assert report.ok
    assert all(isinstance(result, models.HazardRisk) for result in report.results)


def test_stream_yields_one_outcome_per_entity(client: Emmi) -> None:
    runner = client.batch(client.emissions.estimate, chunk_size=7)
    stream = runner.stream(_portfolio(300))
    assert isinstance(stream, SyncOutcomeStream)
    assert iter(stream) is stream
    outcomes = list(stream)
    assert sorted(outcome.index for outcome in outcomes) == list(range(300))
    assert all(isinstance(outcome, Outcome) and outcome.ok for outcome in outcomes)
    ordered = list(runner.stream(_portfolio(50), ordered=True))
    assert [outcome.index for outcome in ordered] == list(range(50))


def test_leaving_the_with_block_stops_the_run(client: Emmi) -> None:
    source = _Counting(_portfolio(20_000))
    runner = client.batch(client.emissions.estimate, max_concurrency=2)
    taken = []
    with runner.stream(source) as outcomes:
        for outcome in outcomes:
            taken.append(outcome)
            if len(taken) == 5:
                break
        channel = outcomes._channel
    assert channel is not None
    assert channel.finished.is_set()  # close() waited for the run to stop
    assert source.pulled < 20_000
    stats = runner.stats
    assert stats is not None
    assert stats.in_flight == 0
    assert list(outcomes) == []  # a stopped stream is exhausted
    assert client.service.health() is not None  # the client carries on


def test_a_dropped_stream_is_cancelled(client: Emmi) -> None:
    source = _Counting(_portfolio(20_000))
    stream = client.batch(client.emissions.estimate, max_concurrency=2).stream(source)
    next(stream)
    channel = stream._channel
    assert channel is not None
    del stream
    gc.collect()
    assert channel.finished.wait(20)
    assert source.pulled < 20_000


def test_the_bridge_buffers_a_bounded_number_of_outcomes(client: Emmi) -> None:
    # More than everything may hold ahead of a stalled consumer: the runner's window
    # (~4,100 entities) and outcome buffer (as many), and the bridge's buffer.
    total = 20_000
    runner = client.batch(client.emissions.estimate, max_concurrency=2)
    with runner.stream(_portfolio(total)) as stream:
        first = next(stream)
        channel = stream._channel
        assert channel is not None
        _wait_for(lambda: channel.producer_waiting, "the pump to wait for the consumer")
        assert len(channel.items) <= BUFFER_SIZE
        stats = runner.stats
        assert stats is not None
        assert stats.entities < total  # backpressure reached the runner's input
        rest = list(stream)
    assert sorted(o.index for o in [first, *rest]) == list(range(total))


def test_customer_listing_can_stop_early(server: Any) -> None:
    with Emmi.from_async(server.client("account")) as client:
        for i in range(30):
            client.customers.create(external_id=f"c{i}")
        listing = client.customers.list(limit=5)
        first = [next(listing) for _ in range(3)]
        assert len({customer.id for customer in first}) == 3
        listing.close()  # type: ignore[attr-defined]
        assert list(listing) == []
        assert len(list(client.customers.list(limit=7))) == 31
