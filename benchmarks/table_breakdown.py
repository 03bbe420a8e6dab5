"""Where the table path's CPU goes, per entity, by stage, against the expert baseline's stages.

One process pinned to the client core, the canned server on the other; the same 10,000
entities (3 rows each) for every stage; each stage timed on its own with the GC off
(``time.process_time``), repeated, best of ``--repeats``:

- baseline: ``orjson.dumps`` of 100 dicts, an aiohttp POST (body read), ``orjson.loads``;
- engines tried for decoding: pyarrow's JSON reader and polars without a schema;
- table path: ``prepare_frame`` (group, check, encode), the source's per-entity loop
  (``TableSource.admit`` minus ``prepare_frame``), one pipeline request per chunk
  (``client.request(..., parse=False)``), ``parse_results`` per chunk, ``flatten_results``
  in bulk, and the whole ``run_frame`` (what is left is the runner core and the result
  table's assembly).

Run: ``python benchmarks/table_breakdown.py [--entities N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
from _canned_server import request_entity
from batch import API_KEY, API_PREFIX, CUSTOMER_ID, ENDPOINT, POST_HEADERS, table_rows

from emmi_async import AsyncEmmi
from emmi_async.frames import RULES
from emmi_async.frames._decode import flatten_results, parse_results
from emmi_async.frames._encode import prepare_frame
from emmi_async.frames._layout import OUTPUTS

CHUNK = 100


def pyarrow_read(body: bytes) -> Any:
    """The estimates answer through pyarrow's JSON reader, with the table path's schema."""
    import pyarrow as pa
    import pyarrow.json as pj

    scopes = ("scope1", "scope2", "scope3", "underlying_scope1", "underlying_scope2")
    item = pa.struct(
        [
            ("year", pa.int64()),
            (
                "emissions",
                pa.struct([(name, pa.float64()) for name in (*scopes, "underlying_scope3")]),
            ),
            ("estimated", pa.list_(pa.string())),
            ("data_quality_score", pa.int64()),
        ]
    )
    schema = pa.schema([("results", pa.list_(pa.struct([("data", pa.list_(item))])))])
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    read = pj.ReadOptions(use_threads=False, block_size=1 << 20)
    return pj.read_json(pa.BufferReader(body), read_options=read, parse_options=options)


def best(repeats: int, work: Callable[[], object]) -> float:
    """The least CPU seconds of ``repeats`` calls of ``work``, GC off."""
    times = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
        gc.enable()
    return min(times)


async def best_async(repeats: int, work: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        started = time.process_time()
        await work()
        times.append(time.process_time() - started)
        gc.enable()
    return min(times)


async def measure(port: int, entities: int, repeats: int) -> dict[str, float]:
    dicts = [request_entity(i) for i in range(entities)]
    rows = table_rows(dicts)
    chunks = [dicts[i : i + CHUNK] for i in range(0, entities, CHUNK)]
    bodies = [orjson.dumps(chunk) for chunk in chunks]
    url = f"http://127.0.0.1:{port}"
    figures: dict[str, float] = {}

    # -- baseline stages
    figures["baseline: orjson.dumps"] = best(repeats, lambda: [orjson.dumps(c) for c in chunks])
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def posts() -> list[bytes]:
            answers = []
            for body in bodies:
                async with session.post(url + ENDPOINT, data=body, headers=POST_HEADERS) as r:
                    answers.append(await r.read())
            return answers

        answers = await posts()
        figures["baseline: aiohttp POST"] = await best_async(repeats, posts)
    figures["baseline: orjson.loads"] = best(repeats, lambda: [orjson.loads(a) for a in answers])

    # -- table path stages
    rules = RULES["emissions-estimates"]
    output = OUTPUTS["emissions-estimates"]
    figures["table: prepare_frame"] = best(
        repeats, lambda: prepare_frame(rows, rules, options={}, attribution=None)
    )
    prepared = prepare_frame(rows, rules, options={}, attribution=None)

    def source_loop() -> None:
        entities_frame = prepared.entities
        identifiers = entities_frame["identifier"].to_list()
        items = entities_frame["body"].to_list()
        entities_frame["identifier"].hash().to_list()
        jobs: list[list[Any]] = [[]]
        for identifier, item in zip(identifiers, items, strict=True):
            jobs[-1].append((identifier, item))
            if len(jobs[-1]) == CHUNK:
                jobs.append([])

    figures["table: per-entity loop (to_list, hashes, chunking)"] = best(repeats, source_loop)
    async with AsyncEmmi(
        api_key=API_KEY,
        customer_id=CUSTOMER_ID,
        base_url=url + API_PREFIX,
        max_connections=64,
    ) as client:
        table_bodies = [
            b"[" + b",".join(prepared.entities["body"].to_list()[i : i + CHUNK]) + b"]"
            for i in range(0, entities, CHUNK)
        ]

        async def requests() -> None:
            for body in table_bodies:
                await client.request(
                    "POST", "emissions-estimates", scope="data", content=body, parse=False
                )

        await requests()
        figures["table: pipeline request (httpx over aiohttp)"] = await best_async(
            repeats, requests
        )
        figures["table: parse_results"] = best(
            repeats, lambda: [parse_results(a, CHUNK, output, "x") for a in answers]
        )
        figures["engine tried: pyarrow.json.read_json (same schema)"] = best(
            repeats, lambda: [pyarrow_read(a) for a in answers]
        )
        figures["engine tried: polars json_decode, schema inferred"] = best(
            repeats,
            lambda: [
                pl.Series([a], dtype=pl.Binary).cast(pl.String).str.json_decode() for a in answers
            ],
        )
        parsed = [parse_results(a, CHUNK, output, "x") for a in answers]
        indexes = [list(range(i, i + CHUNK)) for i in range(0, entities, CHUNK)]
        identifiers = [[f"E{i}" for i in chunk] for chunk in indexes]
        figures["table: flatten_results (bulk)"] = best(
            repeats, lambda: flatten_results(parsed, indexes, identifiers, output)
        )
        runner = client.batch(client.emissions.estimate, max_concurrency=64, adaptive=False)
        await runner.run_frame(rows.slice(0, 300))
        figures["table: whole run_frame"] = await best_async(
            repeats, lambda: runner.run_frame(rows)
        )
    return {name: 1e6 * seconds / entities for name, seconds in figures.items()}


class _StageClock:
    """Process CPU (every thread: polars works in its own pool) spent inside the table
    path's synchronous stages during a real ``run_frame``, by stage. Whatever the run
    costs beyond them runs on the event loop: the pipeline, aiohttp, the run core."""

    STAGES = (
        ("emmi_async.frames._tables", "prepare_frame", "in run: prepare_frame"),
        ("emmi_async.frames._tables", "parse_results", "in run: parse_results"),
        ("emmi_async.frames._tables", "ResultBook._flatten", "in run: flatten_results"),
        ("emmi_async.frames", "_to_native", "in run: result table to the input's library"),
    )

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys([label for *_, label in self.STAGES], 0.0)
        self._saved: list[tuple[Any, str, Any]] = []

    def install(self) -> None:
        import importlib

        for module_name, dotted, label in self.STAGES:
            owner: Any = importlib.import_module(module_name)
            *path, name = dotted.split(".")  # a function, or a method ("Class.method")
            for part in path:
                owner = getattr(owner, part)
            original = getattr(owner, name)
            self._saved.append((owner, name, original))
            setattr(owner, name, self._timed(original, label))

    def remove(self) -> None:
        for module, name, original in self._saved:
            setattr(module, name, original)
        self._saved.clear()

    def _timed(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.process_time() - start

        return timed


async def in_run(port: int, entities: int, rounds: int) -> dict[str, float]:
    """The best of ``rounds`` whole ``run_frame`` runs, split by :class:`_StageClock`."""
    rows = table_rows([request_entity(i) for i in range(entities)])
    best: dict[str, float] = {}
    async with AsyncEmmi(
        api_key=API_KEY,
        customer_id=CUSTOMER_ID,
        base_url=f"http://127.0.0.1:{port}{API_PREFIX}",
        max_connections=64,
    ) as client:
        runner = client.batch(client.emissions.estimate, max_concurrency=64, adaptive=False)
        await runner.run_frame(rows.slice(0, 300))
        for _ in range(rounds):
            clock = _StageClock()
            clock.install()
            gc.collect()
            cpu, thread = time.process_time(), time.thread_time()
            try:
                await runner.run_frame(rows)
            finally:
                clock.remove()
            cpu, thread = time.process_time() - cpu, time.thread_time() - thread
            figures = {"in run: whole run_frame (process CPU)": cpu, **clock.seconds}
            figures["in run: of which the main thread"] = thread
            figures["in run: event loop (pipeline, aiohttp, run core, delivery)"] = cpu - sum(
                clock.seconds.values()
            )
            if not best or cpu < best["in run: whole run_frame (process CPU)"]:
                best = figures
    return {name: 1e6 * seconds / entities for name, seconds in best.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    h.pin_to_core()
    with h.ServerProcess() as server:
        figures = asyncio.run(measure(server.port, args.entities, args.repeats))
        figures.update(asyncio.run(in_run(server.port, 3 * args.entities, args.repeats)))
    print("| stage | CPU µs per entity |\n|---|---:|")
    for name, value in figures.items():
        print(f"| {name} | {value:.2f} |")
    baseline = sum(v for k, v in figures.items() if k.startswith("baseline"))
    stages = sum(v for k, v in figures.items() if k.startswith("table:") and "whole" not in k)
    whole = figures["table: whole run_frame"]
    print(f"| baseline stages, summed | {baseline:.2f} |")
    print(f"| table stages, summed | {stages:.2f} |")
    print(f"| run_frame minus its stages (runner core, result assembly) | {whole - stages:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
