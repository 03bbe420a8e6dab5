"""What the blocking facade costs: ``Emmi`` against ``AsyncEmmi``, and many threads on one.

1. Sequential calls against the in-process reference server (and, for comparison, a
   loopback one: uvicorn in a thread of this process): the same call through
   ``AsyncEmmi`` (awaited in a loop of the main thread) and through ``Emmi`` (called from
   the main thread, run in the client's loop thread), in interleaved blocks (A B, B A...)
   in one process after a warm-up. Reported: calls/s of each, the median of the
   per-round ratios Emmi/AsyncEmmi (target >= 0.9), and process CPU per call.
2. 16 threads x 200 calls through one ``Emmi`` over a loopback ``ReferenceServer``
   (uvicorn in a thread of this process): calls/s, latency p50/p99 as the callers see
   it, errors, and TCP connections opened (counted by the server: distinct client
   ports) against the client's ``max_connections``.
3. The batch stream bridge: ``runner.stream()`` of N entities through ``Emmi`` (a plain
   iterator fed in batches from the loop thread) and through ``AsyncEmmi``, in-process
   with canned responses; reported: microseconds per outcome of each.

    python benchmarks/sync_facade.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emmi_async import AsyncEmmi, Emmi
from emmi_async.testing import ReferenceServer


def entity(i: int = 0) -> dict[str, Any]:
    return {
        "entity_info": {
            "identifier": f"E{i}",
            "name": f"Company {i}",
            "asset_type": "equity",
            "sector": "Utilities",
        },
        "data": [
            {
                "year": 2023,
                "emissions": {"scope1": 1_000_000.0 + i},
                "financials": {"currency": "USD", "revenue": 1e9 + i},
            }
        ],
    }


class ConnectionTap:
    """ASGI middleware counting the client connections (host, port) that sent requests."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.peers: set[tuple[str, int]] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and client:
            self.peers.add((client[0], client[1]))
        await self.app(scope, receive, send)


# -- 1. sequential calls ---------------------------------------------------------------------

CALLS: dict[str, tuple[Callable[[AsyncEmmi], Any], Callable[[Emmi], Any]]] = {
    "emissions.estimate (1 entity)": (
        lambda c: c.emissions.estimate([entity()]),
        lambda c: c.emissions.estimate([entity()]),
    ),
    "service.health": (lambda c: c.service.health(), lambda c: c.service.health()),
}


def sequential(
    name: str, blocks: int, per_block: int, warmup: int, *, loopback: bool = False
) -> dict[str, float]:
    async_call, sync_call = CALLS[name]
    server = ReferenceServer(
        port=0 if loopback else None, rate_limit=None, end_user_rate_limit=None
    )
    server.start()
    loop = asyncio.new_event_loop()
    async_client = server.client()
    sync_client = Emmi.from_async(server.client())

    async def async_block(n: int) -> None:
        for _ in range(n):
            await async_call(async_client)

    def run_async(n: int) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        loop.run_until_complete(async_block(n))
        return time.perf_counter() - wall, time.process_time() - cpu

    def run_sync(n: int) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            sync_call(sync_client)
        return time.perf_counter() - wall, time.process_time() - cpu

    try:
        run_async(warmup)
        run_sync(warmup)
        ratios: list[float] = []
        totals = {"async_wall": 0.0, "async_cpu": 0.0, "sync_wall": 0.0, "sync_cpu": 0.0}
        for round_ in range(blocks):
            order = [("async", run_async), ("sync", run_sync)]
            if round_ % 2:
                order.reverse()
            times: dict[str, float] = {}
            for label, run in order:
                wall, cpu = run(per_block)
                times[label] = wall
                totals[f"{label}_wall"] += wall
                totals[f"{label}_cpu"] += cpu
            ratios.append(times["async"] / times["sync"])  # rate ratio sync/async
    finally:
        sync_client.close()
        loop.run_until_complete(async_client.aclose())
        loop.close()
        server.stop()
    calls = blocks * per_block
    return {
        "calls": calls,
        "async_rate": calls / totals["async_wall"],
        "sync_rate": calls / totals["sync_wall"],
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "async_cpu_us": totals["async_cpu"] / calls * 1e6,
        "sync_cpu_us": totals["sync_cpu"] / calls * 1e6,
    }


# -- 2. threads ---------------------------------------------------------------------------------


def threads(n_threads: int, per_thread: int, max_connections: int) -> dict[str, float]:
    server = ReferenceServer(port=0, rate_limit=None, end_user_rate_limit=None)
    tap = ConnectionTap(server.app)
    server.app = tap  # type: ignore[assignment]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    with server, Emmi.from_async(server.client(max_connections=max_connections)) as client:
        client.service.health()  # start the loop thread outside the measurement
        tap.peers.clear()
        start = threading.Barrier(n_threads + 1)

        def work(worker: int) -> None:
            own: list[float] = []
            start.wait()
            for call in range(per_thread):
                began = time.perf_counter()
                try:
                    client.emissions.estimate([entity(worker * per_thread + call)])
                except Exception as exc:
                    with lock:
                        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                own.append(time.perf_counter() - began)
            with lock:
                latencies.extend(own)

        with ThreadPoolExecutor(n_threads) as pool:
            futures = [pool.submit(work, worker) for worker in range(n_threads)]
            start.wait()
            began, cpu = time.perf_counter(), time.process_time()
            for future in futures:
                future.result()
            wall, cpu = time.perf_counter() - began, time.process_time() - cpu
        connections = len(tap.peers)
    latencies.sort()
    calls = n_threads * per_thread
    return {
        "calls": calls,
        "rate": calls / wall,
        "cpu_us": cpu / calls * 1e6,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1e3,
        "connections": connections,
        "max_connections": max_connections,
        "errors": sum(errors.values()),
        "loop_threads_after_close": sum(
            t.name.startswith("emmi-sync-portal-") for t in threading.enumerate()
        ),
    }


# -- 3. the stream bridge -------------------------------------------------------------------------


def stream(entities: int) -> dict[str, float]:
    server = ReferenceServer(canned=True, rate_limit=None, end_user_rate_limit=None)
    portfolio = [entity(i) for i in range(entities)]

    async def async_run() -> tuple[int, float]:
        async with server.client() as client:
            runner = client.batch(client.emissions.estimate)
            began = time.perf_counter()
            count = 0
            async with runner.stream(portfolio) as outcomes:
                async for _ in outcomes:
                    count += 1
            return count, time.perf_counter() - began

    def sync_run() -> tuple[int, float]:
        with Emmi.from_async(server.client()) as client:
            client.service.health()
            runner = client.batch(client.emissions.estimate)
            began = time.perf_counter()
            count = 0
            with runner.stream(portfolio) as outcomes:
                for _ in outcomes:
                    count += 1
            return count, time.perf_counter() - began

    async_times: list[float] = []
    sync_times: list[float] = []
    for round_ in range(3):
        order: list[tuple[str, Callable[[], tuple[int, float]]]] = [
            ("async", lambda: asyncio.run(async_run())),
            ("sync", sync_run),
        ]
        if round_ % 2:
            order.reverse()
        for label, run in order:
            count, seconds = run()
            assert count == entities, (label, count)
            (async_times if label == "async" else sync_times).append(seconds)
    a, s = statistics.median(async_times), statistics.median(sync_times)
    return {
        "entities": entities,
        "async_us_per_outcome": a / entities * 1e6,
        "sync_us_per_outcome": s / entities * 1e6,
        "bridge_us_per_outcome": (s - a) / entities * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the threads float over both cores instead of pinning this process to core 1 "
        "as every benchmark here does (a cross-core wake-up costs ~50 us of CPU per call on "
        "these VMs, on both sides of the ratio's difference)",
    )
    args = parser.parse_args()
    if not args.no_pin:
        os.sched_setaffinity(0, {1})
    print(f"CPU affinity: {sorted(os.sched_getaffinity(0))}")
    if args.quick:
        blocks, per_block, warmup, per_thread, entities = 4, 100, 100, 50, 5_000
    else:
        blocks, per_block, warmup, per_thread, entities = 10, 200, 500, 200, 50_000

    print(f"## 1. sequential calls ({blocks} x {per_block} per stack)")
    runs = [(name, False) for name in CALLS] + [("emissions.estimate (1 entity)", True)]
    for name, loopback in runs:
        r = sequential(name, blocks, per_block, warmup, loopback=loopback)
        where = "loopback server" if loopback else "in-process server"
        print(
            f"{name}, {where}: "
            f"AsyncEmmi {r['async_rate']:,.0f}/s ({r['async_cpu_us']:.0f} us CPU), "
            f"Emmi {r['sync_rate']:,.0f}/s ({r['sync_cpu_us']:.0f} us CPU); "
            f"Emmi/AsyncEmmi median {r['ratio_median']:.2f} "
            f"(rounds {r['ratio_min']:.2f}-{r['ratio_max']:.2f})"
        )

    print(f"\n## 2. 16 threads x {per_thread} calls, one Emmi, loopback server")
    t = threads(16, per_thread, max_connections=8)
    print(
        f"{t['calls']} calls: {t['rate']:,.0f} calls/s, {t['cpu_us']:.0f} us CPU/call, "
        f"p50 {t['p50_ms']:.1f} ms, p99 {t['p99_ms']:.1f} ms, errors {t['errors']}, "
        f"connections opened {t['connections']} (limit {t['max_connections']}), "
        f"loop threads left after close {t['loop_threads_after_close']}"
    )

    print(f"\n## 3. batch stream of {entities:,} entities, in-process canned server")
    s = stream(entities)
    print(
        f"AsyncEmmi {s['async_us_per_outcome']:.1f} us/outcome, "
        f"Emmi {s['sync_us_per_outcome']:.1f} us/outcome "
        f"(bridge {s['bridge_us_per_outcome']:+.1f} us/outcome)"
    )


if __name__ == "__main__":
    main()
