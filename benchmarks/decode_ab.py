"""The object path's decode as it was (parsed JSON copied, collector running) against
today's (collector paused, parsed JSON taken apart), interleaved in one process.

One process pinned to core 1, the canned server on core 0. Three pipelines share the
process and its heap (the portfolio is the same list of dicts, or of models): the expert
baseline (aiohttp + orjson), the runner with the decode of ``024c4b7`` ("before":
``spec.decode(parsed, consume=True)`` with the collector free to run), and the runner as
it is ("after"). Rounds rotate the order; each block reports process CPU per entity, the
collections per generation and the CPU time inside the collector per generation
(``gc.callbacks``, thread time). On a shared machine the CPU figures move by 20-50 %
between blocks: read the medians of "CPU x baseline"; the collection counts are exact.

Run: ``python benchmarks/decode_ab.py [--input dict|model] [--entities 10000]
[--rounds 8]``. Results: benchmarks/README.md, "Object path (session 6): the decode".
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
from batch import ExpertBaseline, RunnerPipeline, dict_portfolio, model_portfolio

from emmi_async._base_client import parse_body
from emmi_async.batch import _operation

TODAY = _operation.AnalysisOperation.decode


def decode_before(self: Any, response: Any, count: int) -> Any:
    """The decode of 024c4b7 (its count check is left out: the canned server is exact)."""
    return self.spec.decode(parse_body(response), consume=True)


class CollectorClock:
    """Collections and thread CPU inside the collector, per generation."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            generation = info["generation"]
            self.collections[generation] += 1
            self.seconds[generation] += time.thread_time() - self._started

    def reset(self) -> None:
        self.collections = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", choices=("dict", "model"), default="dict")
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    count = args.entities
    clock = CollectorClock()
    gc.callbacks.append(clock)
    with h.ServerProcess() as server:
        h.pin_to_core()
        dicts = dict_portfolio(count)
        portfolio = dicts if args.input == "dict" else model_portfolio(dicts)
        baseline = ExpertBaseline(server.base_url, dicts, 100, 64)
        runner = RunnerPipeline(
            server.base_url, portfolio, chunk=100, concurrency=64, label=args.input
        )
        loop = h.AsyncioRunner()
        try:
            loop.call(baseline.open)
            loop.call(runner.open)
            loop.call(lambda: baseline.process(min(count, 5000)))
            loop.call(lambda: runner.process(min(count, 5000)))
            cpu: dict[str, list[float]] = {"baseline": [], "before": [], "after": []}
            order = ["baseline", "before", "after"]
            for round_index in range(args.rounds):
                shift = round_index % 3
                for name in order[shift:] + order[:shift]:
                    _operation.AnalysisOperation.decode = (  # type: ignore[method-assign]
                        decode_before if name == "before" else TODAY
                    )
                    pipe = baseline if name == "baseline" else runner
                    gc.collect()
                    clock.reset()
                    started = time.process_time()
                    done = loop.call(lambda pipe=pipe: pipe.process(count))
                    spent = (time.process_time() - started) / count * 1e6
                    if done.ok != count:
                        raise SystemExit(f"{name}: {done.ok} of {count} ok ({done.errors})")
                    cpu[name].append(spent)
                    in_gc = [round(s / count * 1e6, 1) for s in clock.seconds]
                    print(
                        f"{name:8} {spent:6.1f} µs/entity  collections {clock.collections}"
                        f"  GC µs/entity {in_gc}",
                        flush=True,
                    )
            _operation.AnalysisOperation.decode = TODAY  # type: ignore[method-assign]
            loop.call(runner.aclose)
            loop.call(baseline.aclose)
        finally:
            loop.close()
    print(f"\n{args.input} input, {count} entities, {args.rounds} rounds (median, range):")
    for name, values in cpu.items():
        ratios = [value / base for value, base in zip(values, cpu["baseline"], strict=True)]
        print(
            f"{name:8} {statistics.median(values):6.1f} µs/entity"
            f" ({min(values):.1f}-{max(values):.1f}),"
            f" CPU x baseline {statistics.median(ratios):.2f}"
            f" ({min(ratios):.2f}-{max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
