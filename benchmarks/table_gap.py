"""Where ``run_frame`` loses to the expert baseline, by substitution inside real runs.

The expert baseline (aiohttp + orjson with dicts, chunks of 100, 64 worker tasks) with one
part at a time replaced by the table path's own, interleaved in one process pinned to the
client core (the canned server on the other), CPU per entity against the baseline's
round by round:

- ``baseline``: ``orjson.dumps`` of dicts, aiohttp's POST, ``orjson.loads``;
- ``+ polars reader``: the answer read by ``parse_results`` (``polars.read_json`` with the
  body schema) instead of ``orjson.loads``;
- ``+ SDK pipeline``: the POST through ``client.request`` (httpx over our aiohttp
  transport: auth, pool gate, rate-limit headers, redaction) instead of aiohttp directly;
- ``+ both``: the SDK pipeline and the polars reader;
- ``run_frame``: the whole table path on the same entities (a polars frame, 3 rows each).

What ``run_frame`` costs beyond ``+ both`` is the table path's own work: ``prepare_frame``
(instead of ``orjson.dumps``), the run core (producer, window, workers, delivery; the
consumer decodes each answer), ``ResultBook`` and the result table.

Run: ``python benchmarks/table_gap.py [--entities N] [--rounds R]``. Results:
benchmarks/README.md, "Tables (session 6)".
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
    dict_portfolio,
    table_rows,
)

from emmi_async import AsyncEmmi
from emmi_async.frames._decode import parse_results
from emmi_async.frames._layout import OUTPUTS

OUTPUT = OUTPUTS["emissions-estimates"]


class Substituted(ExpertBaseline):
    """The baseline with its POST (``sdk``) and/or its reader (``polars``) replaced."""

    def __init__(self, base_url: str, portfolio: Sequence[Any], *, sdk: bool, polars: bool) -> None:
        super().__init__(base_url, portfolio, 100, 64)
        self._base_url = base_url
        self._sdk = sdk
        self._polars = polars
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
        body = orjson.dumps(chunk)
        if self._sdk:
            response = await self._client.request(
                "POST", "emissions-estimates", scope="data", content=body, parse=False
            )
            data = response.data
        else:
            async with self._session.post(self._url, data=body, headers=POST_HEADERS) as answer:
                data = await answer.read()
        if self._polars:
            parse_results(data, len(chunk), OUTPUT, "baseline")
            done.ok += len(chunk)
            return
        results = orjson.loads(data)["results"]
        for result in results:
            done.checksum += result["data"][0]["emissions"]["scope1"]
        done.ok += len(results)

    async def aclose(self) -> None:
        await super().aclose()
        if self._client is not None:
            await self._client.aclose()


class RunFrame:
    """``runner.run_frame`` on the same entities as a polars frame."""

    def __init__(self, base_url: str, rows: Any) -> None:
        self._base_url = base_url + API_PREFIX
        self._rows = rows
        self._client: AsyncEmmi | None = None
        self._runner: Any = None

    async def open(self) -> None:
        self._client = AsyncEmmi(
            api_key=API_KEY, customer_id=CUSTOMER_ID, base_url=self._base_url, max_connections=64
        )
        self._runner = self._client.batch(
            self._client.emissions.estimate, chunk_size=100, max_concurrency=64, adaptive=False
        )

    async def process(self, count: int) -> Done:
        table = await self._runner.run_frame(self._rows.slice(0, 3 * count))
        done = Done()
        ok = table.filter(table["status"] == "ok")
        done.ok = ok["identifier"].n_unique()
        return done

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


async def measure(port: int, entities: int, rounds: int) -> dict[str, list[float]]:
    base_url = f"http://127.0.0.1:{port}"
    dicts = dict_portfolio(entities)
    pipes: dict[str, Any] = {
        "baseline": ExpertBaseline(base_url, dicts, 100, 64),
        "+ polars reader": Substituted(base_url, dicts, sdk=False, polars=True),
        "+ SDK pipeline": Substituted(base_url, dicts, sdk=True, polars=False),
        "+ both": Substituted(base_url, dicts, sdk=True, polars=True),
        "run_frame": RunFrame(base_url, table_rows(dicts)),
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
            await pipes[name].process(entities)
            cpu[name].append(1e6 * (time.process_time() - started) / entities)
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
