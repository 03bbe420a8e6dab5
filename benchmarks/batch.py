"""The batch runner against hand-written clients: throughput, CPU per entity, memory.

Against the canned server (``_canned_server.py``, pinned to core 0; every client here
pinned to core 1, in child processes):

0. the server's ceiling (``wrk -t1``) for 100-entity and 1-entity POSTs, set against the
   fastest client rate of each scenario (it must be >= 4x);
1. expert: ``client.batch(client.emissions.estimate)`` (chunk 100, concurrency 64) with
   dict and with model input, against aiohttp + orjson with plain dicts (chunks of 100,
   64 worker tasks); interleaved blocks in one process after a warm-up;
2. naive: ``httpx.AsyncClient()`` + ``asyncio.gather``, one POST per entity, semaphore 64;
3. single-entity requests (``chunk_size=1``) at C = 16, 64, 256 on asyncio and trio:
   CPU per request, PoolTimeouts, connections opened;
4. a portfolio from a generator through ``runner.stream()``, one line per outcome to a
   file: peak RSS and time.

Every outcome's result is touched the same way on both sides (``data[0].emissions.scope1``,
from the dict or from the model). GC time (``gc.callbacks``) is reported per entity
beside process CPU. ``--profile`` prints a cProfile breakdown of the runner's CPU.

Run: ``python benchmarks/batch.py [--quick] [--json PATH]``; ``python benchmarks/batch.py
--profile``. Results: benchmarks/README.md, "## Batch runner".
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import io
import itertools
import json
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import anyio
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
from _canned_server import request_entity

import emmi_async
from emmi_async import AsyncEmmi
from emmi_async.models import EMISSIONS_ESTIMATES

API_PREFIX = "/api/v1"
ENDPOINT = API_PREFIX + "/emissions-estimates"
API_KEY = "emmi_sk_" + "k" * 64
CUSTOMER_ID = "6f1c2b9e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
AUTH_HEADERS = {"X-API-Key": API_KEY, "X-Customer-ID": CUSTOMER_ID}
POST_HEADERS = {"Content-Type": "application/json", "Accept": "application/json", **AUTH_HEADERS}
BLOCK_TIME_LIMIT = 120.0


def error_name(error: BaseException) -> str:
    """An error's type, with the httpx timeout it wraps when there is one."""
    name = type(error).__name__
    match = re.search(r"\((\w+Timeout)\)", str(error))
    return f"{name}({match.group(1)})" if match else name


# --------------------------------------------------------------------------- GC clock


class GcClock:
    """Wall time spent in the cyclic garbage collector (all generations) while installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1

    def install(self) -> None:
        """Start counting."""
        gc.callbacks.append(self._callback)

    def remove(self) -> None:
        """Stop counting."""
        gc.callbacks.remove(self._callback)


GC_CLOCK = GcClock()


# --------------------------------------------------------------------------- pipelines


@dataclass
class Done:
    """What one ``process`` call achieved."""

    ok: int = 0
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    checksum: float = 0.0


class Pipeline(Protocol):
    """One client configuration turning entities into touched results."""

    name: str
    backend: str  # "asyncio" or "trio"
    concurrency: int

    async def open(self) -> None:
        """Create clients and sessions (on the pipeline's own loop)."""
        ...

    async def process(self, count: int) -> Done:
        """Send the first ``count`` entities of the portfolio; touch every result."""
        ...

    async def aclose(self) -> None:
        """Close what ``open`` created."""
        ...


class ExpertBaseline:
    """aiohttp + orjson with plain dicts: chunks of 100, a fixed set of C worker tasks."""

    backend = "asyncio"

    def __init__(self, base_url: str, portfolio: Sequence[Any], chunk: int, concurrency: int):
        self.name = f"aiohttp + orjson, dicts (baseline), chunk {chunk}"
        self.concurrency = concurrency
        self._url = base_url + ENDPOINT
        self._portfolio = portfolio
        self._chunk = chunk
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """A session with a connector of C connections."""
        connector = aiohttp.TCPConnector(limit=self.concurrency, keepalive_timeout=60.0)
        timeout = aiohttp.ClientTimeout(total=60.0)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)

    async def _post(self, chunk: Sequence[Any], done: Done) -> None:
        assert self._session is not None
        body = orjson.dumps(chunk)
        async with self._session.post(self._url, data=body, headers=POST_HEADERS) as response:
            data = await response.read()
            if response.status != 200:
                raise RuntimeError(f"status {response.status}")
        results = orjson.loads(data)["results"]
        if len(results) != len(chunk):
            raise RuntimeError(f"{len(results)} results for {len(chunk)} entities")
        for result in results:
            done.checksum += result["data"][0]["emissions"]["scope1"]
        done.ok += len(results)

    async def process(self, count: int) -> Done:
        """C workers pull chunk offsets from one shared iterator."""
        done = Done()
        starts = iter(range(0, count, self._chunk))

        async def worker() -> None:
            for start in starts:
                chunk = self._portfolio[start : min(start + self._chunk, count)]
                done.requests += 1
                try:
                    await self._post(chunk, done)
                except Exception as exc:
                    done.errors[error_name(exc)] += len(chunk)

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return done

    async def aclose(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()


class ClientBaseline(ExpertBaseline):
    """The expert baseline with an ``AsyncEmmi`` client beside its session, for pipelines
    that put one of the SDK's steps in place of one of its own (``table_gap.py``,
    ``object_gap.py``): same chunks of 100, same C worker tasks."""

    def __init__(self, base_url: str, portfolio: Sequence[Any]) -> None:
        super().__init__(base_url, portfolio, 100, 64)
        self._base_url = base_url
        self._client: AsyncEmmi | None = None

    async def open(self) -> None:
        """The baseline's session, and a client whose pool holds C connections."""
        await super().open()
        self._client = AsyncEmmi(
            api_key=API_KEY,
            customer_id=CUSTOMER_ID,
            base_url=self._base_url + API_PREFIX,
            max_connections=self.concurrency,
        )

    async def aclose(self) -> None:
        """Close the session and the client."""
        await super().aclose()
        if self._client is not None:
            await self._client.aclose()


class RunnerPipeline:
    """``client.batch(client.emissions.estimate, ...)`` streaming the portfolio."""

    def __init__(
        self,
        base_url: str,
        portfolio: Sequence[Any],
        *,
        chunk: int,
        concurrency: int,
        label: str,
        backend: str = "asyncio",
        adaptive: bool = False,
        gc_off: bool = False,
    ) -> None:
        self.name = f"{backend}: runner, {label}, chunk {chunk}, C = {concurrency}"
        self.backend = backend
        self.concurrency = concurrency
        self._base_url = base_url + API_PREFIX
        self._portfolio = portfolio
        self._chunk = chunk
        self._adaptive = adaptive
        self._gc_off = gc_off
        self._client: AsyncEmmi | None = None
        self._runner: Any = None

    async def open(self) -> None:
        """A client whose pool holds C connections, and its runner."""
        client = AsyncEmmi(
            api_key=API_KEY,
            customer_id=CUSTOMER_ID,
            base_url=self._base_url,
            max_connections=self.concurrency,
        )
        self._client = client
        self._runner = client.batch(
            client.emissions.estimate,
            chunk_size=self._chunk,
            max_concurrency=self.concurrency,
            adaptive=self._adaptive,
            deadline=BLOCK_TIME_LIMIT,
        )

    async def process(self, count: int) -> Done:
        """Stream ``count`` entities; count outcomes, touch each result's scope 1."""
        done = Done()
        entities = itertools.islice(self._portfolio, count)
        if self._gc_off:
            gc.disable()
        try:
            async with self._runner.stream(entities) as outcomes:
                async for outcome in outcomes:
                    if outcome.error is None:
                        done.ok += 1
                        done.checksum += outcome.result.data[0].emissions.scope1
                    else:
                        done.errors[error_name(outcome.error)] += 1
        finally:
            gc.enable()
        done.requests = self._runner.stats.requests
        return done

    async def aclose(self) -> None:
        """Close the client (and its pool)."""
        if self._client is not None:
            await self._client.aclose()


class TablePipeline:
    """``runner.run_frame(frame)`` on the same portfolio as one row per entity-year."""

    backend = "asyncio"

    def __init__(
        self, base_url: str, rows: Any, *, library: str, chunk: int, concurrency: int
    ) -> None:
        self.name = f"runner.run_frame, {library} input, chunk {chunk}, C = {concurrency}"
        self.concurrency = concurrency
        self._base_url = base_url + API_PREFIX
        self._rows = rows  # a polars frame, 3 rows per entity
        self._library = library
        self._chunk = chunk
        self._client: AsyncEmmi | None = None
        self._runner: Any = None

    async def open(self) -> None:
        """A client whose pool holds C connections, and its runner."""
        client = AsyncEmmi(
            api_key=API_KEY,
            customer_id=CUSTOMER_ID,
            base_url=self._base_url,
            max_connections=self.concurrency,
        )
        self._client = client
        self._runner = client.batch(
            client.emissions.estimate,
            chunk_size=self._chunk,
            max_concurrency=self.concurrency,
            adaptive=False,
            deadline=BLOCK_TIME_LIMIT,
        )

    async def process(self, count: int) -> Done:
        """One frame of ``count`` entities; count ``ok`` rows' entities, sum scope 1."""
        import polars as pl

        done = Done()
        rows = self._rows.slice(0, 3 * count)
        native: Any = rows
        if self._library == "pandas":
            native = rows.to_pandas()
        elif self._library == "pyarrow":
            native = rows.to_arrow()
        table = await self._runner.run_frame(native)
        if not isinstance(table, pl.DataFrame):
            table = pl.DataFrame(table)
        ok = table.filter(pl.col("status") == "ok")
        done.ok = ok["identifier"].n_unique()
        done.checksum = float(ok["scope1"].sum())
        failed = table.height - ok.height
        if failed:
            done.errors["failed rows"] += failed
        done.requests = self._runner.stats.requests
        return done

    async def aclose(self) -> None:
        """Close the client (and its pool)."""
        if self._client is not None:
            await self._client.aclose()


class SingleCalls:
    """C worker tasks, each awaiting one call per entity: raw aiohttp + orjson, or the
    typed client (``await client.emissions.estimate(entity)``)."""

    backend = "asyncio"

    def __init__(self, base_url: str, portfolio: Sequence[Any], *, typed: bool) -> None:
        what = "client.emissions.estimate(entity)" if typed else "aiohttp + orjson (baseline)"
        self.name = f"single awaited calls, {what}, C = 64"
        self.concurrency = 64
        self._base_url = base_url
        self._portfolio = portfolio
        self._typed = typed
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncEmmi | None = None

    async def open(self) -> None:
        """A session, or a client, with 64 connections."""
        if self._typed:
            self._client = AsyncEmmi(
                api_key=API_KEY,
                customer_id=CUSTOMER_ID,
                base_url=self._base_url + API_PREFIX,
                max_connections=64,
            )
        else:
            connector = aiohttp.TCPConnector(limit=64, keepalive_timeout=60.0)
            self._session = aiohttp.ClientSession(connector=connector)

    async def _raw(self, entity: Any) -> float:
        assert self._session is not None
        body = orjson.dumps([entity])
        url = self._base_url + ENDPOINT
        async with self._session.post(url, data=body, headers=POST_HEADERS) as response:
            data = await response.read()
        result: float = orjson.loads(data)["results"][0]["data"][0]["emissions"]["scope1"]
        return result

    async def _typed_call(self, entity: Any) -> float:
        assert self._client is not None
        [result] = await self._client.emissions.estimate(entity)
        scope1: float = result.data[0].emissions.scope1
        return scope1

    async def process(self, count: int) -> Done:
        """64 workers pull entities from one iterator; one awaited call each."""
        done = Done()
        entities = iter(self._portfolio[:count])
        call = self._typed_call if self._typed else self._raw

        async def worker() -> None:
            for entity in entities:
                try:
                    done.checksum += await call(entity)
                    done.ok += 1
                except Exception as exc:
                    done.errors[error_name(exc)] += 1
                done.requests += 1

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return done

    async def aclose(self) -> None:
        """Close the session or the client."""
        if self._session is not None:
            await self._session.close()
        if self._client is not None:
            await self._client.aclose()


def table_rows(dicts: Sequence[dict[str, Any]]) -> Any:
    """The portfolio as a polars frame: one row per entity-year, entity fields on each."""
    import polars as pl

    rows = []
    for entity in dicts:
        info = entity["entity_info"]
        for item in entity["data"]:
            rows.append({**info, "year": item["year"], **item["financials"], **item["emissions"]})
    return pl.DataFrame(rows)


# --------------------------------------------------------------------------- blocks


@dataclass
class Block:
    """One measured call of ``process``."""

    done: Done
    wall: float
    cpu: float
    gc: float
    connections: int

    @property
    def rate(self) -> float:
        """Entities per second of wall time."""
        return self.done.ok / self.wall if self.wall > 0 else 0.0


@dataclass
class Track:
    """A pipeline, its loop, and its blocks."""

    pipe: Pipeline
    runner: h.Runner
    block_size: int = 0
    warmup_connections: int = 0
    blocks: list[Block] = field(default_factory=list)


def measure(track: Track, port: int, count: int) -> Block:
    """Run one block of ``count`` entities, with CPU, GC and server-side connections."""
    pipe = track.pipe
    gc.collect()
    before = h.server_stats(port)["connections_opened"]
    gc_before = GC_CLOCK.seconds
    cpu, wall = time.process_time(), time.perf_counter()
    done = track.runner.call(lambda: _bounded(pipe, count))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    opened = h.server_stats(port)["connections_opened"] - before
    return Block(done, wall, cpu, GC_CLOCK.seconds - gc_before, opened)


async def _bounded(pipe: Pipeline, count: int) -> Done:
    with anyio.move_on_after(BLOCK_TIME_LIMIT) as scope:
        return await pipe.process(count)
    done = Done()
    if scope.cancelled_caught:
        done.errors["BlockTimeLimit"] += 1
    return done


@dataclass
class Plan:
    """How much to send: fixed blocks, or blocks sized from a probe's rate."""

    rounds: int
    max_block: int
    warmup_seconds: float
    block_seconds: float
    fixed: bool = False


def warm_up(track: Track, port: int, plan: Plan) -> None:
    """Open, probe, warm up and size the blocks of one pipeline."""
    track.runner.call(track.pipe.open)
    width = track.pipe.concurrency
    probe = measure(track, port, min(plan.max_block, 2 * width))
    rate = max(probe.rate, 1.0)
    rest = measure(track, port, max(width, min(plan.max_block, int(rate * plan.warmup_seconds))))
    track.warmup_connections = probe.connections + rest.connections
    sized = int(max(rate, rest.rate) * plan.block_seconds)
    track.block_size = plan.max_block if plan.fixed else max(width, min(plan.max_block, sized))


def interleave(tracks: Sequence[Track], port: int, plan: Plan) -> None:
    """Measured rounds, the order rotated (and reversed every other round)."""
    for round_index in range(plan.rounds):
        shift = round_index % len(tracks)
        order = list(tracks[shift:]) + list(tracks[:shift])
        if round_index % 2:
            order.reverse()
        for track in order:
            track.blocks.append(measure(track, port, track.block_size))


def compare(pipes: Sequence[Pipeline], port: int, plan: Plan) -> list[dict[str, Any]]:
    """Warm up every pipeline, interleave their blocks, summarise; the first is baseline."""
    runners: dict[str, h.Runner] = {}
    tracks = []
    for pipe in pipes:
        if pipe.backend not in runners:
            runners[pipe.backend] = h.TrioRunner() if pipe.backend == "trio" else h.AsyncioRunner()
        tracks.append(Track(pipe, runners[pipe.backend]))
    try:
        for track in tracks:
            warm_up(track, port, plan)
        interleave(tracks, port, plan)
    finally:
        for track in tracks:
            track.runner.call(track.pipe.aclose)
        for runner in runners.values():
            runner.close()
    return [summarise(track, tracks[0]) for track in tracks]


def summarise(track: Track, baseline: Track) -> dict[str, Any]:
    """Aggregate one pipeline's blocks; rate ratios per round against the baseline."""
    blocks = track.blocks
    ok = sum(b.done.ok for b in blocks)
    requests = sum(b.done.requests for b in blocks)
    wall, cpu, gc_time = (sum(getattr(b, name) for b in blocks) for name in ("wall", "cpu", "gc"))
    errors: Counter[str] = Counter()
    for block in blocks:
        errors.update(block.done.errors)
    base_cpu = sum(b.cpu for b in baseline.blocks) / max(1, sum(b.done.ok for b in baseline.blocks))
    ratios = [m.rate / b.rate for m, b in zip(blocks, baseline.blocks, strict=True) if b.rate]
    return {
        "name": track.pipe.name,
        "backend": track.pipe.backend,
        "concurrency": track.pipe.concurrency,
        "entities": ok,
        "requests": requests,
        "rate": ok / wall if wall else 0.0,
        "ratio": statistics.median(ratios) if ratios else float("nan"),
        "ratio_range": [min(ratios), max(ratios)] if ratios else [],
        "cpu_ratio": (cpu / ok) / base_cpu if ok and base_cpu else float("nan"),
        "cpu_us_per_entity": 1e6 * cpu / ok if ok else float("nan"),
        "cpu_us_per_request": 1e6 * cpu / requests if requests else float("nan"),
        "gc_us_per_entity": 1e6 * gc_time / ok if ok else float("nan"),
        "cpu_utilisation": cpu / wall if wall else float("nan"),
        "connections_measured": sum(b.connections for b in blocks),
        "connections_warmup": track.warmup_connections,
        "errors": dict(errors),
        "blocks": f"{len(blocks)} x {track.block_size}",
    }


# --------------------------------------------------------------------------- scenarios


def dict_portfolio(size: int) -> list[dict[str, Any]]:
    """``size`` entity dicts, as a user's portfolio in memory."""
    return [request_entity(i) for i in range(size)]


def model_portfolio(dicts: Sequence[dict[str, Any]]) -> list[Any]:
    """The same portfolio as ``EmissionsEstimateEntity`` instances."""
    return [EMISSIONS_ESTIMATES.coerce(entity, i) for i, entity in enumerate(dicts)]


def expert_pipes(base_url: str, block: int) -> list[Pipeline]:
    """Baseline, runner with dicts, runner with models, and two diagnostic runner rows."""
    dicts = dict_portfolio(block)
    models = model_portfolio(dicts)
    return [
        ExpertBaseline(base_url, dicts, 100, 64),
        RunnerPipeline(base_url, dicts, chunk=100, concurrency=64, label="dict input"),
        RunnerPipeline(base_url, models, chunk=100, concurrency=64, label="model input"),
        RunnerPipeline(
            base_url, dicts, chunk=100, concurrency=64, label="dict input, adaptive", adaptive=True
        ),
        RunnerPipeline(
            base_url, dicts, chunk=100, concurrency=64, label="dict input, GC off", gc_off=True
        ),
    ]


def table_pipes(base_url: str, block: int) -> list[Pipeline]:
    """Baseline, run_frame on polars, pandas and pyarrow input, and the object path."""
    dicts = dict_portfolio(block)
    rows = table_rows(dicts)
    return [
        ExpertBaseline(base_url, dicts, 100, 64),
        *[
            TablePipeline(base_url, rows, library=library, chunk=100, concurrency=64)
            for library in ("polars", "pandas", "pyarrow")
        ],
        RunnerPipeline(base_url, dicts, chunk=100, concurrency=64, label="dict input"),
    ]


def call_pipes(base_url: str, block: int) -> list[Pipeline]:
    """Single awaited calls, one entity each, C = 64: raw aiohttp + orjson, typed client."""
    dicts = dict_portfolio(block)
    return [SingleCalls(base_url, dicts, typed=False), SingleCalls(base_url, dicts, typed=True)]


def single_pipes(base_url: str, block: int) -> list[Pipeline]:
    """The runner with one entity per request, C = 16, 64, 256, on asyncio and trio."""
    dicts = dict_portfolio(block)
    return [
        RunnerPipeline(base_url, dicts, chunk=1, concurrency=c, label="dict input", backend=b)
        for b in ("asyncio", "trio")
        for c in (16, 64, 256)
    ]


SCENARIOS: dict[str, tuple[str, Callable[[str, int], list[Pipeline]], Plan, Plan]] = {
    "expert": (
        "1. Runner vs aiohttp + orjson (expert baseline), 100 entities per POST, C = 64",
        expert_pipes,
        Plan(rounds=10, max_block=20_000, warmup_seconds=3.0, block_seconds=0, fixed=True),
        Plan(rounds=3, max_block=5_000, warmup_seconds=0.5, block_seconds=0, fixed=True),
    ),
    "tables": (
        "5. run_frame vs aiohttp + orjson (expert baseline), 100 entities per POST, C = 64",
        table_pipes,
        Plan(rounds=8, max_block=20_000, warmup_seconds=3.0, block_seconds=0, fixed=True),
        Plan(rounds=3, max_block=10_000, warmup_seconds=0.5, block_seconds=0, fixed=True),
    ),
    "calls": (
        "6. Single awaited calls, one entity each, C = 64: typed client vs raw aiohttp + orjson",
        call_pipes,
        Plan(rounds=8, max_block=6_000, warmup_seconds=2.0, block_seconds=1.5),
        Plan(rounds=3, max_block=2_000, warmup_seconds=0.3, block_seconds=0.3),
    ),
    "single": (
        "3. Runner, one entity per request (chunk_size=1), asyncio and trio",
        single_pipes,
        Plan(rounds=8, max_block=6_000, warmup_seconds=2.0, block_seconds=1.5),
        Plan(rounds=3, max_block=2_000, warmup_seconds=0.3, block_seconds=0.3),
    ),
}


def run_scenario(name: str, port: int, quick: bool) -> dict[str, Any]:
    """One scenario in this (pinned) process."""
    h.pin_to_core()
    title, build, full, small = SCENARIOS[name]
    plan = small if quick else full
    GC_CLOCK.install()
    stalled, started = h.cpu_pressure_total(), time.perf_counter()
    rows = compare(build(f"http://127.0.0.1:{port}", plan.max_block), port, plan)
    elapsed = time.perf_counter() - started
    return {
        "scenario": name,
        "title": title,
        "plan": asdict(plan),
        "cpu_pressure": (h.cpu_pressure_total() - stalled) / elapsed,
        "peak_rss_mib": h.peak_rss_mib(),
        "rows": rows,
    }


# --------------------------------------------------------------------------- naive


async def naive_gather(base_url: str, entities: Sequence[Any], concurrency: int) -> Done:
    """What a per-call SDK user writes: default AsyncClient, gather, one POST per entity."""
    done = Done()
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(headers=AUTH_HEADERS, timeout=30.0) as client:

        async def one(entity: Any) -> float:
            async with semaphore:
                response = await client.post(base_url + ENDPOINT, json=[entity])
                response.raise_for_status()
                result: float = response.json()["results"][0]["data"][0]["emissions"]["scope1"]
                return result

        calls = (one(entity) for entity in entities)
        outcomes = await asyncio.wait_for(
            asyncio.gather(*calls, return_exceptions=True), timeout=BLOCK_TIME_LIMIT
        )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            done.errors[error_name(outcome)] += 1
        else:
            done.ok += 1
            done.checksum += outcome
    done.requests = len(outcomes)
    return done


class NaivePipeline:
    """``naive_gather`` as a pipeline (a new ``AsyncClient`` per block, as users write it)."""

    backend = "asyncio"

    def __init__(self, base_url: str, portfolio: Sequence[Any], concurrency: int) -> None:
        self.name = "httpx.AsyncClient() + gather, 1 entity per POST, semaphore 64"
        self.concurrency = concurrency
        self._base_url = base_url
        self._portfolio = portfolio

    async def open(self) -> None:
        """Nothing: the client lives inside each block."""

    async def process(self, count: int) -> Done:
        """Gather ``count`` single-entity POSTs."""
        return await naive_gather(self._base_url, self._portfolio[:count], self.concurrency)

    async def aclose(self) -> None:
        """Nothing to close."""


def run_naive(port: int, count: int) -> dict[str, Any]:
    """Runner (chunk 100, C = 64) and the naive client on the same portfolio, R N R N."""
    h.pin_to_core()
    GC_CLOCK.install()
    base_url = f"http://127.0.0.1:{port}"
    dicts = dict_portfolio(count)
    pipes: list[Pipeline] = [
        RunnerPipeline(base_url, dicts, chunk=100, concurrency=64, label="dict input"),
        NaivePipeline(base_url, dicts, 64),
    ]
    plan = Plan(rounds=2, max_block=count, warmup_seconds=0.0, block_seconds=0, fixed=True)
    stalled, started = h.cpu_pressure_total(), time.perf_counter()
    rows = compare(pipes, port, plan)
    elapsed = time.perf_counter() - started
    return {
        "scenario": "naive",
        "title": f"2. Runner vs the naive per-call client ({count:,} entities per block)",
        "cpu_pressure": (h.cpu_pressure_total() - stalled) / elapsed,
        "peak_rss_mib": h.peak_rss_mib(),
        "rows": rows,
    }


# --------------------------------------------------------------------------- stream to file


def generated(count: int) -> Iterator[dict[str, Any]]:
    """Entity dicts built lazily, one at a time."""
    return (request_entity(i) for i in range(count))


async def stream_to_file(port: int, count: int, path: Path) -> Done:
    """``runner.stream`` of ``count`` generated entities; identifier + scope 1 per line."""
    done = Done()
    async with AsyncEmmi(
        api_key=API_KEY,
        customer_id=CUSTOMER_ID,
        base_url=f"http://127.0.0.1:{port}{API_PREFIX}",
        max_connections=64,
    ) as client:
        runner = client.batch(
            client.emissions.estimate, chunk_size=100, max_concurrency=64, deadline=900.0
        )
        with path.open("wb") as out:
            async for outcome in runner.stream(generated(count)):
                out.write(outcome_line(outcome, done))
        stats = runner.stats
        done.requests = 0 if stats is None else stats.requests
    return done


def outcome_line(outcome: Any, done: Done) -> bytes:
    """One JSON line per outcome: identifier and scope 1 of the first year, or the error."""
    result = outcome.result
    if outcome.error is None and result is not None:
        done.ok += 1
        return orjson.dumps([outcome.identifier, result.data[0].emissions.scope1]) + b"\n"
    name = error_name(outcome.error)
    done.errors[name] += 1
    return orjson.dumps([outcome.identifier, name]) + b"\n"


def run_stream(port: int, count: int) -> dict[str, Any]:
    """The stream-to-file run in this child process; its own peak RSS."""
    h.pin_to_core()
    GC_CLOCK.install()
    rss_start = h.peak_rss_mib()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "outcomes.jsonl"
        stalled = h.cpu_pressure_total()
        cpu, wall = time.process_time(), time.perf_counter()
        done = asyncio.run(stream_to_file(port, count, path))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        written = path.stat().st_size
    return {
        "entities": count,
        "ok": done.ok,
        "requests": done.requests,
        "errors": dict(done.errors),
        "seconds": wall,
        "rate": done.ok / wall,
        "cpu_us_per_entity": 1e6 * cpu / count,
        "gc_us_per_entity": 1e6 * GC_CLOCK.seconds / count,
        "rss_after_imports_mib": rss_start,
        "peak_rss_mib": h.peak_rss_mib(),
        "file_mib": written / 2**20,
        "cpu_pressure": (h.cpu_pressure_total() - stalled) / wall,
    }


def make_parquet(path: str, count: int) -> None:
    """A portfolio of ``count`` entities (3 rows each, as ``request_entity``) in Parquet."""
    import polars as pl

    template = table_rows([request_entity(0)])
    years = template.height
    positions = pl.int_range(0, count * years, eager=True)
    frame = template.select(pl.all().gather(positions % years)).with_columns(
        (
            "PORTFOLIO-2024-Q4-LISTED-EQUITY-ISIN-US"
            + (positions // years).cast(pl.String).str.zfill(10)
            + "-NYSE"
        ).alias("identifier")
    )
    frame.write_parquet(path, row_group_size=30_000)


async def parquet_to_parquet(port: int, source: str, target: str) -> Done:
    """``stream_frames`` over a Parquet file's record batches, each result to a Parquet file."""
    import pyarrow.parquet as pq

    done = Done()
    async with AsyncEmmi(
        api_key=API_KEY,
        customer_id=CUSTOMER_ID,
        base_url=f"http://127.0.0.1:{port}{API_PREFIX}",
        max_connections=64,
    ) as client:
        runner = client.batch(client.emissions.estimate, max_concurrency=64, deadline=1500)
        batches = pq.ParquetFile(source).iter_batches(batch_size=10_000)
        writer: Any = None
        try:
            async with runner.stream_frames(batches) as results:
                async for table in results:
                    if writer is None:
                        writer = pq.ParquetWriter(target, table.schema)
                    writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        stats = runner.stats
        done.ok = stats.succeeded
        done.requests = stats.requests
        if stats.failed:
            done.errors["failed"] = stats.failed
    return done


def run_parquet(port: int, count: int) -> dict[str, Any]:
    """Parquet in, Parquet out through ``stream_frames`` in this child; its own peak RSS."""
    h.pin_to_core()
    GC_CLOCK.install()
    with tempfile.TemporaryDirectory() as tmp:
        source, target = str(Path(tmp) / "portfolio.parquet"), str(Path(tmp) / "out.parquet")
        subprocess.run(_child("--make-parquet", str(count), "--path", source), check=True)
        import polars  # noqa: F401  (imported before the RSS baseline, as the run needs it)
        import pyarrow.parquet  # noqa: F401

        rss_start = h.peak_rss_mib()
        stalled = h.cpu_pressure_total()
        cpu, wall = time.process_time(), time.perf_counter()
        done = asyncio.run(parquet_to_parquet(port, source, target))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        written = Path(target).stat().st_size
    return {
        "kind": "parquet",
        "entities": count,
        "ok": done.ok,
        "requests": done.requests,
        "errors": dict(done.errors),
        "seconds": wall,
        "rate": done.ok / wall,
        "cpu_us_per_entity": 1e6 * cpu / count,
        "gc_us_per_entity": 1e6 * GC_CLOCK.seconds / count,
        "rss_after_imports_mib": rss_start,
        "peak_rss_mib": h.peak_rss_mib(),
        "file_mib": written / 2**20,
        "cpu_pressure": (h.cpu_pressure_total() - stalled) / wall,
    }


# --------------------------------------------------------------------------- ceiling


def wrk_ceiling(port: int, seconds: int) -> list[dict[str, Any]]:
    """The canned server's requests/s under ``wrk -t1`` pinned to the client core."""
    if shutil.which("wrk") is None:
        return []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for entities, concurrency in ((100, 64), (1, 16), (1, 64), (1, 256)):
            script = Path(tmp) / f"post{entities}.lua"
            body = orjson.dumps(dict_portfolio(entities)).decode()
            script.write_text(
                f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
            argv = ["taskset", "-c", str(h.CLIENT_CORE), "wrk", "-t1", f"-c{concurrency}"]
            argv += [f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}{ENDPOINT}"]
            out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30).stdout
            match = re.search(r"Requests/sec:\s+([\d.]+)", out)
            rate = float(match.group(1)) if match else float("nan")
            rows.append({"entities": entities, "concurrency": concurrency, "rate": rate})
    return rows


def headroom(
    ceiling: Sequence[dict[str, Any]], entities: int, concurrency: int, rate: float
) -> str:
    """The server's ceiling over a client's requests/s, as text."""
    for row in ceiling:
        if row["entities"] == entities and row["concurrency"] == concurrency and rate > 0:
            return f"{row['rate'] / rate:.1f}x"
    return "n/a"


# --------------------------------------------------------------------------- profile


CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("runner bookkeeping (emmi_async/batch, anyio)", ("emmi_async/batch/", "anyio/", "_outcome.")),
    (
        "model layer (attrs/cattrs/rules/encode)",
        ("emmi_async/models/", "cattrs", "attrs gen", "/attr/"),
    ),
    ("JSON parse (orjson.loads)", ("orjson.loads",)),
    ("JSON encode (orjson.dumps)", ("orjson.dumps",)),
    ("SDK pipeline (_base_client, _pool, _response)", ("_base_client", "_pool", "_response")),
    ("httpx (Request/Response/client.send)", ("httpx/",)),
    ("aiohttp + yarl + multidict (+ our transport)", ("aiohttp", "yarl", "multidict")),
    ("asyncio event loop + sockets", ("asyncio/", "selectors", "socket", "select.")),
)
MODEL_CALLS = ("coerce", "problems", "encode", "decode")


def categorise(stats: pstats.Stats) -> dict[str, float]:
    """Own time (tottime) per category, in seconds."""
    totals: Counter[str] = Counter()
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, own, _, _) in raw.items():
        where = f"{filename}:{function}"
        label = next((n for n, keys in CATEGORIES if any(k in where for k in keys)), "other")
        totals[label] += own
    return dict(totals)


def model_calls(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative time of ``AnalysisSpec.coerce/problems/encode/decode``."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    found: Counter[str] = Counter()
    for (filename, _, function), (_, _, _, cumulative, _) in raw.items():
        if filename.endswith("models/_endpoints.py") and function in MODEL_CALLS:
            found[function] += cumulative
    return dict(found)


def profile_one(pipe: Pipeline, port: int, count: int) -> tuple[pstats.Stats, float]:
    """cProfile ``pipe`` over ``count`` entities, GC off (it is measured apart)."""
    runner = h.AsyncioRunner()
    profiler = cProfile.Profile()
    try:
        runner.call(pipe.open)
        runner.call(lambda: pipe.process(min(count, 5000)))
        gc.collect()
        gc.disable()

        async def profiled() -> Done:
            profiler.enable()
            try:
                return await pipe.process(count)
            finally:
                profiler.disable()

        done = runner.call(profiled)
        gc.enable()
        runner.call(pipe.aclose)
    finally:
        gc.enable()
        runner.close()
    return pstats.Stats(profiler), float(done.ok)


def run_profile(port: int, count: int) -> str:
    """Breakdown of the baseline's and the runner's CPU by category, under cProfile."""
    h.pin_to_core()
    base_url = f"http://127.0.0.1:{port}"
    dicts = dict_portfolio(count)
    pipes: list[Pipeline] = [
        ExpertBaseline(base_url, dicts, 100, 64),
        RunnerPipeline(base_url, dicts, chunk=100, concurrency=64, label="dict input"),
        RunnerPipeline(
            base_url, model_portfolio(dicts), chunk=100, concurrency=64, label="model input"
        ),
    ]
    out = io.StringIO()
    for pipe in pipes:
        stats, ok = profile_one(pipe, port, count)
        out.write(_profile_table(pipe.name, stats, ok))
    out.write("\nTop own time, last pipeline:\n")
    stats.stream = out  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats("tottime").print_stats(25)
    return out.getvalue()


def _profile_table(name: str, stats: pstats.Stats, ok: float) -> str:
    total = sum(categorise(stats).values())
    lines = [f"\n### {name}: {1e6 * total / ok:.1f} µs/entity under cProfile, GC off\n"]
    lines.append("| category | µs/entity (profiled) | share |\n|---|---:|---:|")
    for label, seconds in sorted(categorise(stats).items(), key=lambda kv: -kv[1]):
        lines.append(f"| {label} | {1e6 * seconds / ok:.1f} | {seconds / total:.0%} |")
    for function, seconds in sorted(model_calls(stats).items()):
        lines.append(f"| (cumulative) AnalysisSpec.{function} | {1e6 * seconds / ok:.1f} | |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- output


def format_rows(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of pipeline summaries."""
    head = (
        "| pipeline | entities/s | ratio (range) | CPU µs/entity | CPU µs/request | GC µs/entity"
        " | CPU x baseline | CPU/wall | conns (measured/warm-up) | errors | blocks |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        spread = "-".join(f"{x:.2f}" for x in r["ratio_range"])
        errors = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) or "0"
        lines.append(
            f"| {r['name']} | {r['rate']:,.0f} | {r['ratio']:.2f} ({spread}) "
            f"| {r['cpu_us_per_entity']:.1f} | {r['cpu_us_per_request']:.1f} "
            f"| {r['gc_us_per_entity']:.1f} | {r['cpu_ratio']:.2f} | {r['cpu_utilisation']:.0%} "
            f"| {r['connections_measured']}/{r['connections_warmup']} | {errors} | {r['blocks']} |"
        )
    return "\n".join(lines)


def print_ceiling(rows: Sequence[dict[str, Any]]) -> None:
    """The wrk table."""
    if not rows:
        print("\nServer ceiling: wrk not installed; skipped.")
        return
    print("\n## Server ceiling (wrk -t1 on core 1, server on core 0)\n")
    print("| entities/POST | C | req/s | entities/s |\n|---|---:|---:|---:|")
    for row in rows:
        rate, entities = row["rate"], row["rate"] * row["entities"]
        print(f"| {row['entities']} | {row['concurrency']} | {rate:,.0f} | {entities:,.0f} |")


def print_scenario(result: dict[str, Any], ceiling: Sequence[dict[str, Any]]) -> None:
    """A scenario's table, with the server's headroom over its fastest client."""
    print(
        f"\n## {result['title']} (CPU pressure {result['cpu_pressure']:.0%}, "
        f"peak RSS {result['peak_rss_mib']:.0f} MiB)\n"
    )
    print(format_rows(result["rows"]))
    for row in result["rows"]:
        chunk = 1 if row["requests"] >= row["entities"] else 100
        rate = row["rate"] / chunk
        room = headroom(ceiling, chunk, row["concurrency"] if chunk == 1 else 64, rate)
        print(f"- {row['name']}: {rate:,.0f} req/s; server ceiling / this = {room}")


def print_stream(result: dict[str, Any]) -> None:
    """The stream-to-file figures."""
    what = (
        "stream_frames() of a Parquet file to a Parquet file"
        if result.get("kind") == "parquet"
        else "runner.stream() of generated entities to a file"
    )
    print(f"\n## {what}: {result['entities']:,} entities\n")
    print("| figure | value |\n|---|---:|")
    for key in (
        "ok",
        "requests",
        "seconds",
        "rate",
        "cpu_us_per_entity",
        "gc_us_per_entity",
        "rss_after_imports_mib",
        "peak_rss_mib",
        "file_mib",
        "cpu_pressure",
    ):
        value = result[key]
        print(f"| {key} | {value:,.2f} |" if isinstance(value, float) else f"| {key} | {value:,} |")
    print(f"| errors | {result['errors'] or 0} |")


# --------------------------------------------------------------------------- main


def _child(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def package_state() -> str:
    """The commit and a digest of the source of the package the children import (the
    one on ``PYTHONPATH`` when it is set, as for an exported older tree)."""
    package = Path(emmi_async.__file__).resolve().parent
    root = package.parent
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(package.rglob("*.py")):
        digest.update(path.read_bytes())
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{head or 'no git'} / source {digest.hexdigest()}"


def survey(quick: bool, json_path: str | None, only: set[str] | None = None) -> None:
    """Server up, ceiling, then each scenario in its own pinned child process (``only``:
    those of ``expert``, ``tables``, ``calls``, ``single``, ``naive``, ``stream``,
    ``parquet``)."""
    flag = ["--quick"] if quick else []
    wanted = only or {"expert", "tables", "calls", "single", "naive", "stream", "parquet"}
    report: dict[str, Any] = {"quick": quick, "package_before": package_state()}
    print(f"package: {report['package_before']}")
    with h.ServerProcess() as server:
        port = str(server.port)
        report["ceiling"] = wrk_ceiling(server.port, 1 if quick else 3)
        print_ceiling(report["ceiling"])
        for name in ("expert", "tables", "calls", "single"):
            if name not in wanted:
                continue
            result = h.run_child(_child("--scenario", name, "--port", port, *flag))
            report[name] = result
            print_scenario(result, report["ceiling"])
        if "naive" in wanted:
            naive_count = "1000" if quick else "4000"
            report["naive"] = h.run_child(_child("--naive", naive_count, "--port", port))
            print_scenario(report["naive"], report["ceiling"])
        stream_count = "100000" if quick else "1000000"
        if "stream" in wanted:
            report["stream"] = h.run_child(
                _child("--stream", stream_count, "--port", port), timeout=1200
            )
            print_stream(report["stream"])
        if "parquet" in wanted:
            report["parquet"] = h.run_child(
                _child("--parquet", stream_count, "--port", port), timeout=1800
            )
            print_stream(report["parquet"])
    report["package_after"] = package_state()
    if report["package_after"] != report["package_before"]:
        print(f"\nWARNING: the package changed during the run: now {report['package_after']}")
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=1))


def main(argv: list[str] | None = None) -> int:
    """The whole benchmark, a profile, or one child job."""
    parser = argparse.ArgumentParser(description="batch runner benchmark")
    parser.add_argument("--quick", action="store_true", help="small counts (~90 s)")
    parser.add_argument("--json", help="also write all figures to this JSON file")
    parser.add_argument("--profile", type=int, nargs="?", const=20_000, help="cProfile N entities")
    parser.add_argument("--scenario", choices=list(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--naive", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--parquet", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--make-parquet", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--only", help="comma-separated: expert,tables,single,naive,stream,parquet")
    args = parser.parse_args(argv)
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.port, args.quick)))
    elif args.naive:
        print(json.dumps(run_naive(args.port, args.naive)))
    elif args.stream:
        print(json.dumps(run_stream(args.port, args.stream)))
    elif args.parquet:
        print(json.dumps(run_parquet(args.port, args.parquet)))
    elif args.make_parquet:
        make_parquet(args.path, args.make_parquet)
    elif args.profile:
        with h.ServerProcess() as server:
            print(run_profile(server.port, args.profile))
    else:
        survey(args.quick, args.json, set(args.only.split(",")) if args.only else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
