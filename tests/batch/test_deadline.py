"""A deadline ends the run on time and still gives every entity exactly one outcome."""

from __future__ import annotations

import anyio
import httpx
import orjson
import pytest

from emmi_async import AsyncEmmi, EntityValidationError, SingleTenantAuth
from emmi_async.batch import BatchDeadlineError
from emmi_async.testing import FaultConfig, ReferenceServer

from ._support import client_bad, entity, error_types, indexes_once, matches

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("ordered", [True, False])
async def test_slow_server_and_short_deadline(ordered: bool) -> None:
    total = 400
    server = ReferenceServer(faults=FaultConfig(latency_ms=100))
    async with server, server.client() as client:
        runner = client.batch(
            client.emissions.estimate, chunk_size=5, max_concurrency=2, deadline=1.0
        )
        outcomes = [o async for o in runner.stream(map(entity, range(total)), ordered=ordered)]
    indexes_once(outcomes, total)
    if ordered:
        assert [o.index for o in outcomes] == list(range(total))
    kinds = error_types(outcomes)
    assert set(kinds) == {"ok", "BatchDeadlineError"}, kinds
    # 80 chunks of 100 ms two at a time take 4 s: the deadline of 1 s cut the run short,
    # after the first chunks were through.
    assert kinds["ok"] > 0
    assert kinds["BatchDeadlineError"] > 0
    assert all(matches(o) for o in outcomes if o.ok)
    assert all(o.identifier == f"E{o.index}" for o in outcomes)
    stats = runner.stats
    assert stats is not None
    assert (stats.entities, stats.succeeded, stats.failed) == (
        total,
        kinds["ok"],
        total - kinds["ok"],
    )


async def test_deadline_over_loopback_with_async_input() -> None:
    async def portfolio():  # type: ignore[no-untyped-def]
        for index in range(300):
            yield entity(index)

    server = ReferenceServer(port=0, faults=FaultConfig(latency_ms=100))
    async with server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=5, max_concurrency=2)
        runner.deadline = 0.8
        report = await runner.run(portfolio())
    indexes_once(report.outcomes, 300)
    kinds = error_types(report.outcomes)
    assert set(kinds) == {"ok", "BatchDeadlineError"}, kinds


async def test_deadline_while_the_consumer_is_slow_loses_no_early_failure() -> None:
    """Entities refused before sending wait in the runner while the consumer dawdles.

    The consumer takes one outcome, then sleeps past the deadline: the runner's producer is
    blocked handing a batch of early failures to the full outcome stream when the deadline
    cancels it. That batch must still come out.
    """
    total = 1_000
    server = ReferenceServer(faults=FaultConfig(latency_ms=50))
    inputs = [client_bad(i) for i in range(900)] + [entity(i) for i in range(900, total)]
    async with server, server.client() as client:
        runner = client.batch(
            client.emissions.estimate, chunk_size=5, max_concurrency=1, deadline=0.3
        )
        outcomes = []
        async with runner.stream(inputs) as stream:
            async for outcome in stream:
                outcomes.append(outcome)
                if len(outcomes) == 1:
                    await anyio.sleep(0.6)
    indexes_once(outcomes, total)
    # What was read before the deadline failed validation; what was not is late.
    refused = [o.index for o in outcomes if isinstance(o.error, EntityValidationError)]
    assert refused == list(range(len(refused)))
    assert 0 < len(refused) <= 900
    late = [o for o in outcomes if o.index >= len(refused)]
    assert all(o.ok or isinstance(o.error, BatchDeadlineError) for o in late)


async def test_deadline_after_the_consumer_had_half_a_split_chunk() -> None:
    """A chunk of 10 is refused as too large and split in halves. The consumer has the
    first half's results when the deadline passes during the second half's request: the
    first half keeps its results, the second fails for the deadline, each entity once."""

    async def answer(request: httpx.Request) -> httpx.Response:
        entities = orjson.loads(request.content)
        if len(entities) > 5:
            error = {"type": "request_too_large", "code": "too_many", "message": "at most 5"}
            return httpx.Response(413, json={"error": error}, headers={"x-request-id": "r1"})
        if entities[0]["entity_info"]["identifier"] == "E5":
            await anyio.sleep(30)  # the second half outlives the deadline
        results = [
            {"entity_info": {}, "data": [{"year": 2022, "emissions": {"scope1": 1.0}}]}
            for _ in entities
        ]
        return httpx.Response(200, json={"results": results}, headers={"x-request-id": "r2"})

    auth = SingleTenantAuth("sk_test_single_abcdefgh12_abcd")
    transport = httpx.MockTransport(answer)
    async with AsyncEmmi(auth=auth, base_url="http://emmi.test", transport=transport) as client:
        runner = client.batch(
            client.emissions.estimate, chunk_size=10, max_concurrency=1, deadline=0.5
        )
        with anyio.fail_after(10):
            outcomes = [o async for o in runner.stream(map(entity, range(10)))]
    indexes_once(outcomes, 10)
    by_index = {outcome.index: outcome for outcome in outcomes}
    assert all(by_index[index].ok for index in range(5))
    assert all(isinstance(by_index[index].error, BatchDeadlineError) for index in range(5, 10))
    stats = runner.stats
    assert stats is not None
    assert (stats.succeeded, stats.failed, stats.splits) == (5, 5, 1)
