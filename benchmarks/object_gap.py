"""Where the object path loses to the expert baseline, by substitution (issue 12).

The expert baseline (aiohttp + orjson, chunks of 100 dicts, C = 64 worker tasks) with
the object path's own steps put in, one at a time, beside the batch runner itself, in
one pinned process against the canned server, rounds interleaved:

- ``+ checks and models``: each entity checked and encoded as the runner does it
  (``AnalysisOperation.prepare``, then ``encode`` of the chunk) instead of
  ``orjson.dumps``, and each answer decoded into result models as the runner does it
  (``orjson.loads`` and the generated structurers, the collector paused) instead of
  ``orjson.loads`` alone; every result is touched as the baseline touches its dicts;
- ``+ SDK pipeline``: the same, with the POST through the SDK's request pipeline
  (``client.request``: httpx over our aiohttp transport, auth, the pool's gate,
  rate-limit headers, redaction) and the runner's ``AnalysisOperation.decode``;
- ``runner, dict input`` and ``runner, model input``: ``client.batch(...).stream``,
  every outcome's result touched the same way.

What a row adds to the one above it is what that step costs inside a run; what the
runner adds to ``+ SDK pipeline`` is the run core (producer, window, workers, retries
and their decisions, outcomes, delivery).

Run: ``python benchmarks/object_gap.py [--entities N] [--rounds R]``. Results:
benchmarks/README.md, "Object path (session 7)".
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
from batch import (
    API_KEY,
    API_PREFIX,
    CUSTOMER_ID,
    POST_HEADERS,
    Done,
    ExpertBaseline,
    RunnerPipeline,
    dict_portfolio,
    model_portfolio,
)

from emmi_async import AsyncEmmi
from emmi_async.batch._collector import collector_paused
from emmi_async.batch._operation import AnalysisOperation, post_chunk
from emmi_async.models import EMISSIONS_ESTIMATES

OPERATION = AnalysisOperation(EMISSIONS_ESTIMATES)


class Substituted(ExpertBaseline):
    """The baseline with the runner's checks and models, and (``sdk``) its pipeline."""

    def __init__(self, base_url: str, portfolio: Sequence[Any], *, sdk: bool) -> None:
        super().__init__(base_url, portfolio, 100, 64)
        self._base_url = base_url
        self._sdk = sdk
        self._client: AsyncEmmi | None = None

    async def open(self) -> None:
        await super().open()
        self._client = AsyncEmmi(
            api_key=API_KEY,
            customer_id=CUSTOMER_ID,
            base_url=self._base_url + API_PREFIX,
            max_connections=self.concurrency,
        )

    async def _post(self, chunk: Sequence[Any], done: Done) -> None:
        assert self._session is not None
        assert self._client is not None
        body = OPERATION.encode([OPERATION.prepare(entity, i) for i, entity in enumerate(chunk)])
        if self._sdk:
            response = await post_chunk(self._client, OPERATION.name, body, len(chunk))
            results = OPERATION.decode(response, len(chunk))
        else:
            async with self._session.post(self._url, data=body, headers=POST_HEADERS) as answer:
                data = await answer.read()
            with collector_paused():
                results = EMISSIONS_ESTIMATES.decode(orjson.loads(data), consume=True, source=data)
        for result in results:
            done.checksum += result.data[0].emissions.scope1
        done.ok += len(results)

    async def aclose(self) -> None:
        await super().aclose()
        if self._client is not None:
            await self._client.aclose()


async def measure(port: int, entities: int, rounds: int) -> dict[str, list[float]]:
    base_url = f"http://127.0.0.1:{port}"
    dicts = dict_portfolio(entities)
    models = model_portfolio(dicts)
    pipes: dict[str, Any] = {
        "baseline": ExpertBaseline(base_url, dicts, 100, 64),
        "+ checks and models": Substituted(base_url, dicts, sdk=False),
        "+ SDK pipeline": Substituted(base_url, dicts, sdk=True),
        "runner, dict input": RunnerPipeline(
            base_url, dicts, chunk=100, concurrency=64, label="dict input"
        ),
        "runner, model input": RunnerPipeline(
            base_url, models, chunk=100, concurrency=64, label="model input"
        ),
    }
    for pipe in pipes.values():
        await pipe.open()
        done = await pipe.process(entities)  # warm-up
        if done.ok != entities:
            raise RuntimeError(f"{done.ok} of {entities} entities ok")
    cpu: dict[str, list[float]] = {name: [] for name in pipes}
    order = list(pipes)
    for round_number in range(rounds):
        for name in order if round_number % 2 == 0 else order[::-1]:
            gc.collect()
            started = time.process_time()
            done = await pipes[name].process(entities)
            cpu[name].append(1e6 * (time.process_time() - started) / entities)
            if done.ok != entities:
                raise RuntimeError(f"{name}: {done.ok} of {entities} entities ok")
    for pipe in pipes.values():
        await pipe.aclose()
    return cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    h.pin_to_core()
    stalled, started = h.cpu_pressure_total(), time.perf_counter()
    with h.ServerProcess() as server:
        cpu = asyncio.run(measure(server.port, args.entities, args.rounds))
    pressure = (h.cpu_pressure_total() - stalled) / (time.perf_counter() - started)
    print(f"{args.rounds} rounds of {args.entities:,} entities; CPU pressure {pressure:.0%}")
    print("| pipeline | CPU µs/entity (median, range) | CPU x baseline (median, range) |")
    print("|---|---:|---:|")
    baseline = cpu["baseline"]
    for name, values in cpu.items():
        ratios = [value / base for value, base in zip(values, baseline, strict=True)]
        print(
            f"| {name} | {statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"
            f" | {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
