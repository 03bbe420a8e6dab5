"""A rate-limited server is approached without a 429 storm; a dead one ends the run."""

from __future__ import annotations

import anyio
import pytest

from emmi_async import AsyncEmmi, SingleTenantAuth
from emmi_async._exceptions import APIConnectionError, RateLimitError, ServerError
from emmi_async.batch import BatchAbortedError
from emmi_async.testing import FaultConfig, RateLimit, ReferenceServer

from ._support import closed_port, entity, error_types, indexes_once, matches

pytestmark = pytest.mark.anyio

# 200 requests a second, bursts of 40 (Retry-After and X-RateLimit-Reset: 1 s).
LIMIT = RateLimit(requests=40, per_seconds=0.2)
CONCURRENCY = 64


async def naive_wave(client: AsyncEmmi, count: int) -> int:
    """What a client without a shared pause does: ``count`` requests at once. Its 429s."""
    refused = 0

    async def one(index: int) -> None:
        nonlocal refused
        try:
            await client.with_options(max_retries=0).emissions.estimate(entity(index))
        except RateLimitError:
            refused += 1

    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(one, index)
    return refused


async def test_rate_limited_server_without_a_429_storm() -> None:
    total = 200
    server = ReferenceServer(rate_limit=LIMIT)
    async with server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=1)
        assert runner.max_concurrency == CONCURRENCY
        report = await runner.run(entity(i) for i in range(total))
        # For comparison, a naive fan-out at the same concurrency once the bucket is full
        # again: 40 tokens (plus what trickles in while the wave is sent) for 64 requests,
        # a fifth to a third refused in every such wave, depending on how fast this
        # machine sends 64 requests (the runner's first wave is no better; later ones are).
        await anyio.sleep(1.0)
        naive = await naive_wave(client, CONCURRENCY)
    indexes_once(report.outcomes, total)
    assert report.ok
    assert all(matches(outcome) for outcome in report.outcomes)
    stats = report.stats
    assert stats.requests == total + stats.retries
    assert stats.throttled > 0  # the limit was met ...
    assert stats.throttled <= 0.25 * stats.requests, stats.summary()  # ... and respected
    assert naive > 0  # the same limit refuses a naive wave outright


@pytest.mark.parametrize("status", [503, 500])
async def test_server_that_is_down_ends_the_run(status: int) -> None:
    total = 3_000
    server = ReferenceServer(faults=FaultConfig(status_rates={status: 1.0}))
    async with server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=10)
        with anyio.fail_after(60):  # a hang is the failure this test looks for
            report = await runner.run(entity(i) for i in range(total))
    indexes_once(report.outcomes, total)
    kinds = error_types(report.outcomes)
    assert set(kinds) == {"ServerError", "BatchAbortedError"}, kinds
    assert kinds["BatchAbortedError"] > total // 2
    for outcome in report.outcomes:
        if isinstance(outcome.error, BatchAbortedError):
            assert isinstance(outcome.error.cause, ServerError)
            assert outcome.error.cause.status_code == status
    # 300 chunks, up to 6 attempts each, would be 1,800 requests without the budget.
    chunks = total // 10
    assert report.stats.requests <= CONCURRENCY + 10 + 0.2 * report.stats.requests + chunks // 10


async def test_closed_port_ends_the_run() -> None:
    total = 2_000
    async with AsyncEmmi(
        auth=SingleTenantAuth("sk_test_single_4n8jKmPqRs9uVw_8f1c"),
        base_url=f"http://127.0.0.1:{closed_port()}/api/v1",
    ) as client:
        runner = client.batch(client.emissions.estimate, chunk_size=10, max_concurrency=8)
        with anyio.fail_after(60):
            report = await runner.run(entity(i) for i in range(total))
    indexes_once(report.outcomes, total)
    kinds = error_types(report.outcomes)
    assert report.stats.succeeded == 0
    assert kinds["BatchAbortedError"] > total // 2, kinds
    assert all(
        isinstance(o.error, (APIConnectionError, BatchAbortedError)) for o in report.outcomes
    )
    assert report.stats.requests <= 200, report.stats.summary()
