"""Reusable harness for client-side HTTP benchmarks on a 2-core machine.

What it does, and why (see ../shared/perf-notes.md, "How to benchmark here"):

- :class:`ServerProcess` runs ``_canned_server.py`` in its own process pinned to core 0
  (``taskset -c 0``) on 127.0.0.1, reads its connection counters over ``GET /__stats``
  and always stops it.
- :func:`pin_to_core` pins the client to core 1.
- :func:`compare` runs several :class:`Stack` objects in one process: each is warmed up,
  then measured in interleaved blocks (A B C, C A B, ...), a fixed set of C worker tasks
  per block pulling from a request budget that our code owns.  Stacks can live on
  asyncio or trio: each backend runs in its own long-lived thread, and only one block
  runs at a time, so the process CPU time of a block belongs to that block.
- Per stack it reports requests/s, the median per-round ratio to the first stack, client
  CPU per request (``time.process_time``), p50/p99 latency, connections opened (counted by
  the server), errors by exception type; per process, peak RSS (``getrusage``).

Every load loop is bounded by a request count and a time limit.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import anyio

HERE = Path(__file__).resolve().parent
SERVER_SCRIPT = HERE / "_canned_server.py"
SERVER_CORE = 0
CLIENT_CORE = 1
T = TypeVar("T")


# --------------------------------------------------------------------------- server


class ServerProcess:
    """The canned server in a child process pinned to one core, on 127.0.0.1."""

    def __init__(self, core: int = SERVER_CORE, max_seconds: float = 1800.0) -> None:
        self.core = core
        self.max_seconds = max_seconds
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait for its ``READY <port>`` line."""
        argv = [sys.executable, str(SERVER_SCRIPT), "--port", "0"]
        argv += ["--max-seconds", str(self.max_seconds)]
        self._proc = subprocess.Popen(
            ["taskset", "-c", str(self.core), *argv], stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.stop()
            raise RuntimeError(f"canned server did not start: {line!r}")
        self.port = int(line[1])

    def stop(self) -> None:
        """Terminate the server, then kill it if it does not exit within 5 s."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)
        self._proc = None

    @property
    def base_url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"


def server_stats(port: int) -> dict[str, int]:
    """Read the canned server's counters (blocking; not counted as a POST connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /__stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    body = raw.split(b"\r\n\r\n", 1)[1]
    stats: dict[str, int] = json.loads(body)
    return stats


def pin_to_core(core: int = CLIENT_CORE) -> None:
    """Pin this process (all its threads) to one core."""
    os.sched_setaffinity(0, {core})


def cpu_pressure_total() -> float:
    """Seconds any task on this machine waited for a CPU (PSI ``some``; 0 if unknown).

    Other people's processes on this shared 2-core machine show up here: compare the
    growth over a run with its wall time before trusting wall-clock rates.
    """
    try:
        text = Path("/proc/pressure/cpu").read_text()
    except OSError:
        return 0.0
    fields = dict(item.split("=") for item in text.splitlines()[0].split()[1:])
    return int(fields["total"]) / 1e6


def peak_rss_mib() -> float:
    """Peak resident set size of this process, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- runners


class Runner(Protocol):
    """Runs coroutine functions on one event loop living in its own thread."""

    def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn()`` on the loop and return its result (blocking)."""
        ...

    def close(self) -> None:
        """Stop the loop and join its thread."""
        ...


class AsyncioRunner:
    """An asyncio event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn()`` on the loop and wait for its result."""

        async def wrapper() -> T:
            return await fn()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result()

    def close(self) -> None:
        """Stop the loop, shut down async generators, join the thread."""
        self.call(self._loop.shutdown_asyncgens)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


class TrioRunner:
    """A ``trio.run`` in a daemon thread, driven through its trio token."""

    def __init__(self) -> None:
        import trio

        self._trio = trio
        self._ready = threading.Event()
        self._token: Any = None
        self._stop: Any = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("trio runner did not start")

    async def _main(self) -> None:
        self._token = self._trio.lowlevel.current_trio_token()
        self._stop = self._trio.Event()
        self._ready.set()
        await self._stop.wait()

    def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn()`` on the trio loop and wait for its result."""
        result: T = self._trio.from_thread.run(fn, trio_token=self._token)
        return result

    def close(self) -> None:
        """Let ``trio.run`` return and join the thread."""
        self._trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(timeout=10)


# --------------------------------------------------------------------------- blocks


class Stack(Protocol):
    """One client configuration under test; ``request`` performs one full request."""

    name: str
    backend: str  # "asyncio" or "trio"
    concurrency: int
    entities: int  # entities per request

    async def open(self) -> None:
        """Create sessions and clients (called on the stack's own loop)."""
        ...

    async def request(self) -> int:
        """Send one request, read and decode the response, return entities received."""
        ...

    async def aclose(self) -> None:
        """Close everything ``open`` created."""
        ...


@dataclass
class BlockResult:
    """What one block of requests measured."""

    ok: int = 0
    entities: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        """Successful requests per second of wall time."""
        return self.ok / self.wall if self.wall > 0 else 0.0


async def run_block(
    request: Callable[[], Awaitable[int]], count: int, concurrency: int, time_limit: float
) -> BlockResult:
    """Send ``count`` requests from ``concurrency`` worker tasks, within ``time_limit`` s."""
    result = BlockResult()
    remaining = count

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            try:
                received = await request()
            except Exception as exc:
                result.errors[type(exc).__name__] += 1
            else:
                result.ok += 1
                result.entities += received  # after the await: no lost updates
                result.latencies.append(time.perf_counter() - start)

    cpu_start, wall_start = time.process_time(), time.perf_counter()
    with anyio.move_on_after(time_limit) as scope:
        async with anyio.create_task_group() as group:
            for _ in range(concurrency):
                group.start_soon(worker)
    result.wall = time.perf_counter() - wall_start
    result.cpu = time.process_time() - cpu_start
    if scope.cancelled_caught:
        result.errors["BlockTimeLimit"] += 1
    return result


# --------------------------------------------------------------------------- compare


@dataclass
class Plan:
    """How many requests to send, and the time bounds."""

    warmup: int = 2000
    blocks: int = 10
    block_size: int = 500
    # Slow stacks get smaller warm-ups and blocks (never under C requests), sized from the
    # rate of a first probe of C requests so that one block takes about block_seconds.
    warmup_seconds: float = 4.0
    block_seconds: float = 1.5
    block_time_limit: float = 60.0
    deadline: float = 900.0  # no new round starts after this many seconds


@dataclass
class Summary:
    """Aggregated figures for one stack over its measured blocks."""

    name: str
    backend: str
    concurrency: int
    entities_per_request: int
    ok: int
    rate: float
    ratio: float
    cpu_ratio: float  # baseline CPU/request over this stack's: the client-bound rate ratio
    cpu_ms_per_request: float
    cpu_us_per_entity: float
    p50_ms: float
    p99_ms: float
    connections_measured: int
    connections_warmup: int
    errors: dict[str, int]
    rounds: int
    block_size: int
    cpu_utilisation: float  # client CPU / wall: well under 1 means not client-bound


@dataclass
class _Track:
    """Running totals for one stack while blocks are interleaved."""

    stack: Stack
    runner: Runner
    blocks: list[BlockResult] = field(default_factory=list)
    connections: int = 0
    warmup_connections: int = 0
    block_size: int = 0


def _runner_for(backend: str, runners: dict[str, Runner]) -> Runner:
    if backend not in runners:
        runners[backend] = TrioRunner() if backend == "trio" else AsyncioRunner()
    return runners[backend]


def _measure(track: _Track, port: int, count: int, time_limit: float) -> tuple[BlockResult, int]:
    """Run one block of ``track``'s stack; return it and the connections it opened."""
    stack = track.stack
    gc.collect()  # do not bill one stack for another's garbage
    before = server_stats(port)["connections_opened"]
    block = track.runner.call(
        lambda: run_block(stack.request, count, stack.concurrency, time_limit)
    )
    opened = server_stats(port)["connections_opened"] - before
    return block, opened


def _warm_up(tracks: Sequence[_Track], port: int, plan: Plan) -> None:
    """Open each stack, probe its rate with C requests, warm it up, size its blocks."""
    for track in tracks:
        track.runner.call(track.stack.open)
        width = track.stack.concurrency
        probe, opened = _measure(track, port, width, plan.block_time_limit)
        rate = max(probe.rate, 1.0)
        rest = min(plan.warmup - width, int(rate * plan.warmup_seconds))
        if rest > 0:
            _, more = _measure(track, port, rest, plan.block_time_limit)
            opened += more
        track.warmup_connections = opened
        track.block_size = max(width, min(plan.block_size, int(rate * plan.block_seconds)))


def _interleave(tracks: Sequence[_Track], port: int, plan: Plan) -> int:
    """Run the measured rounds, rotating the order each round; return rounds done."""
    started = time.monotonic()
    for round_index in range(plan.blocks):
        if time.monotonic() - started > plan.deadline:
            return round_index
        shift = round_index % len(tracks)
        order = list(tracks[shift:]) + list(tracks[:shift])
        if round_index % 2:
            order.reverse()
        for track in order:
            block, opened = _measure(track, port, track.block_size, plan.block_time_limit)
            track.blocks.append(block)
            track.connections += opened
    return plan.blocks


def compare(stacks: Sequence[Stack], port: int, plan: Plan) -> list[Summary]:
    """Warm up every stack, then measure them in interleaved blocks; first is baseline."""
    runners: dict[str, Runner] = {}
    tracks = [_Track(stack, _runner_for(stack.backend, runners)) for stack in stacks]
    try:
        _warm_up(tracks, port, plan)
        rounds = _interleave(tracks, port, plan)
    finally:
        for track in tracks:
            track.runner.call(track.stack.aclose)
        for runner in runners.values():
            runner.close()
    return [_summarise(track, tracks[0], rounds) for track in tracks]


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def _cpu_per_request(blocks: Sequence[BlockResult]) -> float:
    ok = sum(b.ok for b in blocks)
    return sum(b.cpu for b in blocks) / ok if ok else float("nan")


def _summarise(track: _Track, baseline: _Track, rounds: int) -> Summary:
    blocks = track.blocks[:rounds]
    ok = sum(b.ok for b in blocks)
    wall = sum(b.wall for b in blocks)
    cpu = sum(b.cpu for b in blocks)
    base_cpu = _cpu_per_request(baseline.blocks[:rounds])
    entities = sum(b.entities for b in blocks)
    latencies = sorted(x for b in blocks for x in b.latencies)
    ratios = [
        mine.rate / base.rate
        for mine, base in zip(blocks, baseline.blocks[:rounds], strict=True)
        if base.rate > 0
    ]
    errors: Counter[str] = Counter()
    for block in blocks:
        errors.update(block.errors)
    stack = track.stack
    return Summary(
        name=stack.name,
        backend=stack.backend,
        concurrency=stack.concurrency,
        entities_per_request=stack.entities,
        ok=ok,
        rate=ok / wall if wall else 0.0,
        ratio=statistics.median(ratios) if ratios else float("nan"),
        cpu_ratio=base_cpu / (cpu / ok) if ok and cpu else float("nan"),
        cpu_ms_per_request=1000 * cpu / ok if ok else float("nan"),
        cpu_us_per_entity=1e6 * cpu / entities if entities else float("nan"),
        p50_ms=1000 * _percentile(latencies, 0.50),
        p99_ms=1000 * _percentile(latencies, 0.99),
        connections_measured=track.connections,
        connections_warmup=track.warmup_connections,
        errors=dict(errors),
        rounds=rounds,
        block_size=track.block_size,
        cpu_utilisation=cpu / wall if wall else float("nan"),
    )


# --------------------------------------------------------------------------- output


def summaries_to_json(summaries: Sequence[Summary], extra: dict[str, Any]) -> str:
    """Serialise summaries plus extra fields (e.g. peak RSS) as one JSON line."""
    return json.dumps({**extra, "stacks": [asdict(s) for s in summaries]})


def format_table(summaries: Sequence[dict[str, Any]]) -> str:
    """Render summaries (as dicts) as a Markdown table."""
    batch = any(s["entities_per_request"] > 1 for s in summaries)
    head = "| stack | C | req/s | ratio | CPU ratio | CPU ms/req |"
    head += " CPU µs/entity |" if batch else ""
    head += " p50 ms | p99 ms | conns (measured/warm-up) | errors | CPU/wall | blocks |"
    lines = [head, _separator(head)]
    for s in summaries:
        row = f"| {s['name']} | {s['concurrency']} | {s['rate']:,.0f} | {s['ratio']:.2f} "
        row += f"| {s['cpu_ratio']:.2f} "
        row += f"| {s['cpu_ms_per_request']:.3f} |"
        row += f" {s['cpu_us_per_entity']:.1f} |" if batch else ""
        row += f" {s['p50_ms']:.1f} | {s['p99_ms']:.1f} |"
        row += f" {s['connections_measured']}/{s['connections_warmup']} |"
        row += f" {_errors(s['errors'])} | {s['cpu_utilisation']:.0%} |"
        row += f" {s['rounds']} x {s['block_size']} |"
        lines.append(row)
    return "\n".join(lines)


def _separator(head: str) -> str:
    cells = head.count("|") - 1
    return "|" + "---|" * cells


def _errors(errors: dict[str, int]) -> str:
    if not errors:
        return "0"
    return ", ".join(f"{name} {count}" for name, count in sorted(errors.items()))


def run_child(argv: Sequence[str], core: int = CLIENT_CORE, timeout: float = 900.0) -> Any:
    """Run ``argv`` pinned to ``core``; return the JSON object on its last stdout line."""
    completed = subprocess.run(
        ["taskset", "-c", str(core), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{argv} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- substitution


async def interleaved_cpu(
    pipes: dict[str, Any], entities: int, rounds: int
) -> dict[str, list[float]]:
    """CPU µs per entity of each pipeline's passes over ``entities`` entities, by name.

    ``pipes`` maps names to objects with ``open()``, ``process(count) -> Done`` and
    ``aclose()`` (as ``batch.py``'s pipelines). Each is opened and warmed up with one pass,
    then ``rounds`` passes are interleaved (the order reversed every other round, a full
    collection before each pass); every pass must get all entities through
    (``RuntimeError`` otherwise). All are closed at the end.
    """
    for pipe in pipes.values():
        await pipe.open()
    try:
        cpu: dict[str, list[float]] = {name: [] for name in pipes}
        order = list(pipes)
        for round_number in range(rounds + 1):  # round 0 warms up
            for name in order if round_number % 2 else order[::-1]:
                gc.collect()
                started = time.process_time()
                done = await pipes[name].process(entities)
                spent = time.process_time() - started
                if done.ok != entities:
                    raise RuntimeError(f"{name}: {done.ok} of {entities} entities ok")
                if round_number:
                    cpu[name].append(1e6 * spent / entities)
        return cpu
    finally:
        for pipe in pipes.values():
            await pipe.aclose()


def substitution_main(
    argv: list[str] | None,
    description: str,
    measure: Callable[[int, int, int], Awaitable[dict[str, list[float]]]],
) -> int:
    """The command line of a substitution benchmark: ``--entities`` (10,000) and
    ``--rounds`` (8); the client pinned, against the canned server; prints each
    pipeline's CPU per entity and its ratio to the ``baseline`` pipeline of the same
    round, as medians and ranges, with the CPU pressure of the run.

    ``measure(port, entities, rounds)`` gives the CPU per entity of each pass, by name
    (:func:`interleaved_cpu`).
    """
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    pin_to_core()
    stalled, started = cpu_pressure_total(), time.perf_counter()
    with ServerProcess() as server:
        cpu = asyncio.run(measure(server.port, args.entities, args.rounds))
    pressure = (cpu_pressure_total() - stalled) / (time.perf_counter() - started)
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
