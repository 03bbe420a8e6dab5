"""Streaming a large portfolio holds a bounded amount of memory, whatever its size."""

from __future__ import annotations

import gc
import sys
import tracemalloc
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from emmi_async.models import TemperatureAlignmentResult
from emmi_async.testing import ReferenceServer

pytestmark = pytest.mark.anyio

TOTAL = 200_000
TRACED = range(100_000, 110_000)
"""Outcomes during which tracemalloc runs (tracing all 200,000 would take a minute)."""


def portfolio(total: int) -> Iterator[dict[str, Any]]:
    for index in range(total):
        yield {
            "entity_info": {"identifier": f"E{index}", "asset_type": "equity"},
            "data": [{"year": 2022, "emissions": {"scope1": 1.0}, "financials": {"revenue": 1e6}}],
        }


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_streaming_200k_entities_keeps_memory_bounded() -> None:
    """A canned server (no computation), chunks of 40, results dropped as they come.

    Holding outcomes takes about 1.6 kB each (16 MB per 10,000, 320 MB for all); the
    runner's own state is a window of 2 x 8 chunks of 40. Two probes: the count of
    allocated blocks, sampled along the whole run, must not grow with it; and tracemalloc,
    over 10,000 outcomes in the middle of the run, must see a peak far below 16 MB.
    """
    server = ReferenceServer(canned=True)
    blocks: list[int] = []
    count = 0
    peak = 0
    async with server, server.client() as client:
        runner = client.batch(client.temperature_alignment.assess, chunk_size=40, max_concurrency=8)
        async with runner.stream(portfolio(TOTAL)) as stream:
            async for outcome in stream:
                assert outcome.ok
                count += 1
                if count % 10_000 == 0:
                    blocks.append(sys.getallocatedblocks())
                if count == TRACED.start:
                    tracemalloc.start()
                elif count == TRACED.stop:
                    peak = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
    assert count == TOTAL
    assert runner.stats is not None
    assert runner.stats.requests == TOTAL // 40
    # Allocated blocks from 20,000 outcomes on: no growth with the input (holding the
    # outcomes would add some 5 million blocks).
    warm = blocks[1]
    assert max(blocks) - warm < 200_000, blocks
    assert 0 < peak < 4_000_000, peak


def live_results() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is TemperatureAlignmentResult)


async def test_results_are_decoded_only_as_a_slow_consumer_takes_them() -> None:
    """Results exist (as objects the GC scans) only for the chunk the consumer reads.

    Answers wait as bytes until the consumer decodes them, just before it hands their
    results out; an idle worker keeps nothing of its last chunk. Here 8 workers and a
    window of 41 chunks could otherwise hold some 4,900 decoded results at once; the
    chunk being read is at most 100.
    """
    total, chunk = 3_000, 100
    seen: list[int] = []
    async with ReferenceServer(canned=True) as server, server.client() as client:
        runner = client.batch(
            client.temperature_alignment.assess, chunk_size=chunk, max_concurrency=8
        )
        count = 0
        async with runner.stream(portfolio(total)) as stream:
            async for outcome in stream:
                assert outcome.ok
                count += 1
                await anyio.sleep(0.0002)  # a consumer slower than the server
                if count % 250 == 0:
                    del outcome
                    seen.append(live_results())
    assert count == total
    assert len(seen) == total // 250
    assert max(seen) <= chunk, seen
