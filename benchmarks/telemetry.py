"""Client CPU per request with OpenTelemetry off, imported without a provider, and on.

Modes, each in a fresh child process (OpenTelemetry's providers are set once per process,
and "off" must not even import it):

- ``off``: OpenTelemetry never imported (the guard's ``sys.modules`` look-up only);
- ``no-provider``: ``opentelemetry.trace`` and ``.metrics`` imported, no provider set;
- ``sdk``: the OpenTelemetry SDK's providers set: a ``BatchSpanProcessor`` to an exporter
  that drops spans, and a ``MeterProvider`` with an in-memory reader (never collected),
  so the figure is what the SDK's own instrumentation costs, not an exporter's.

Each child sends ``--requests`` ``POST /emissions-estimates`` (one 1.1 KB entity, canned
answer, ``parse=False``) through ``BaseClient.request`` on asyncio (aiohttp transport),
``--concurrency`` tasks at a time, after a warm-up, and reports ``time.process_time`` per
request (its own CPU only: the canned server runs in another process on core 0, the
client is pinned to core 1). Modes are interleaved over ``--rounds`` rounds; the median
per mode is printed.

    python benchmarks/telemetry.py                # 7 rounds x 20,000 requests
    python benchmarks/telemetry.py --quick

It also times the guard alone (``_telemetry.current()``, what the pipeline adds per
request when nothing is recorded), in ns per call, in each mode.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

MODES = ("off", "no-provider", "sdk")


def _setup(mode: str) -> None:
    if mode == "no-provider":
        import opentelemetry.metrics
        import opentelemetry.trace  # noqa: F401
    elif mode == "sdk":
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        class Drop(SpanExporter):
            def export(self, spans: Sequence[Any]) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Drop()))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


def _time_calls(func: Any, number: int) -> float:
    started = time.perf_counter()
    for _ in range(number):
        func()
    return (time.perf_counter() - started) / number


def child(mode: str, port: int, requests: int, concurrency: int) -> dict[str, Any]:
    """One measurement in this process: CPU µs per request."""
    _setup(mode)
    import anyio

    from benchmarks._canned_server import request_body
    from emmi_async import AsyncEmmi, SingleTenantAuth, _telemetry

    body = request_body(1)

    async def main() -> float:
        auth = SingleTenantAuth("sk_test_single_4n8jKmPqRs9uVw_8f1c")
        base_url = f"http://127.0.0.1:{port}/api/v1"
        async with AsyncEmmi(auth=auth, base_url=base_url, max_connections=concurrency) as client:

            async def load(count: int) -> None:
                async def worker(share: int) -> None:
                    for _ in range(share):
                        await client.request(
                            "POST",
                            "emissions-estimates",
                            scope="data",
                            content=body,
                            parse=False,
                            entities=1,
                        )

                async with anyio.create_task_group() as group:
                    for _ in range(concurrency):
                        group.start_soon(worker, count // concurrency)

            await load(max(1000, requests // 10))  # warm-up: connections, caches
            started = time.process_time()
            await load(requests)
            return time.process_time() - started

    cpu = anyio.run(main, backend="asyncio")
    # The guard alone, as the pipeline calls it once per request (min of 5 x 100,000 calls).
    guard = min(_time_calls(_telemetry.current, 100_000) for _ in range(5))
    active = _telemetry.current() is not None
    otel_imported = any(name.startswith("opentelemetry") for name in sys.modules)
    return {
        "mode": mode,
        "cpu_us_per_request": cpu / requests * 1e6,
        "guard_ns_per_call": guard * 1e9,
        "telemetry_active": active,
        "opentelemetry_imported": otel_imported,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="3 rounds x 3,000 requests")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.port, args.requests, args.concurrency)))
        return 0
    if args.quick:
        args.rounds, args.requests = 3, 3_000

    from benchmarks._harness import ServerProcess, run_child

    results: dict[str, list[float]] = {mode: [] for mode in MODES}
    guards: dict[str, list[float]] = {mode: [] for mode in MODES}
    with ServerProcess() as server:
        for round_index in range(args.rounds):
            order = MODES[round_index % 3 :] + MODES[: round_index % 3]
            for mode in order:
                argv = [sys.executable, str(Path(__file__).resolve()), "--child", mode]
                argv += ["--port", str(server.port), "--requests", str(args.requests)]
                argv += ["--concurrency", str(args.concurrency)]
                result = run_child(argv)
                assert result["telemetry_active"] == (mode == "sdk"), result
                assert result["opentelemetry_imported"] == (mode != "off"), result
                results[mode].append(result["cpu_us_per_request"])
                guards[mode].append(result["guard_ns_per_call"])
    base = statistics.median(results["off"])
    header = f"{'mode':<12} {'median µs/req':>14} {'min':>8} {'max':>8} {'vs off':>8}"
    print(f"{header} {'guard ns/call':>14}")
    for mode in MODES:
        values = results[mode]
        median = statistics.median(values)
        print(
            f"{mode:<12} {median:>14.1f} {min(values):>8.1f} {max(values):>8.1f}"
            f" {(median - base) / base:>+8.1%} {statistics.median(guards[mode]):>14.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
