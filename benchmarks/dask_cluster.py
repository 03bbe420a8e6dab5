"""emmi_async.dask on a LocalCluster against the canned server: the engine's cost.

Measures, on the same portfolio (``--entities``, 3 rows each, as ``batch.py``'s Parquet
portfolio):

- single-process ``run_frame`` (blocking client, polars frame in): entities/s and CPU
  per entity of this process;
- ``emmi_async.dask.batch`` on a LocalCluster of 1 and of 2 worker processes (1 thread
  each; the input persisted on the workers first): entities/s, and CPU per entity summed
  over the workers and this process (scheduler and client);
- the same with ``cluster_budget=False`` (no Semaphore/Variable), and the gate's counters
  (leases taken from the scheduler per request);
- the cluster budget's cost per request when nothing is reused: one worker taking and
  giving back a lease ``--leases`` times in a row (a round trip to the scheduler each).

The canned server runs pinned to core 0; the workers and this process share the machine.
Run: ``python benchmarks/dask_cluster.py`` (``--quick``: 20,000 entities).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _harness as h  # noqa: E402
from batch import make_parquet  # noqa: E402

KEY = "sk_test_single_abcdefghijklmn_0000"
CONCURRENCY = 64


def portfolio(count: int) -> Any:
    import polars as pl

    path = f"/tmp/emmi-dask-bench-{count}.parquet"
    if not os.path.exists(path):
        make_parquet(path, count)
    return pl.read_parquet(path)


def single(base_url: str, frame: Any) -> dict[str, float]:
    from emmi_async import Emmi

    with Emmi(api_key=KEY, base_url=base_url, max_connections=CONCURRENCY) as client:
        runner = client.batch(client.emissions.estimate, max_concurrency=CONCURRENCY)
        runner.run_frame(frame.head(3000))  # warm up
        cpu, wall = time.process_time(), time.perf_counter()
        result = runner.run_frame(frame)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    entities = frame.height // 3
    assert (result["status"] == "ok").all()
    return {"entities_per_s": entities / wall, "cpu_us_per_entity": 1e6 * cpu / entities}


def _worker_cpu() -> float:
    return time.process_time()


def _gate_counters() -> dict[str, int]:
    from emmi_async.dask import _worker

    return {
        "requests": sum(gate.requests for gate in _worker._GATES.values()),
        "cluster_acquires": sum(gate.cluster_acquires for gate in _worker._GATES.values()),
    }


def _lease_round_trips(name: str, count: int) -> float:
    """Seconds per acquire + release of one DaskGate, with nothing to reuse."""
    import anyio

    from emmi_async.dask import DaskGate, GateSpec

    gate = DaskGate(GateSpec(name, 4))

    async def loop() -> float:
        await gate.acquire()
        await gate.release()
        started = time.perf_counter()
        for _ in range(count):
            await gate.acquire()
            await gate.release()
        return (time.perf_counter() - started) / count

    return anyio.run(loop)


def cluster(base_url: str, frame: Any, workers: int, leases: int) -> dict[str, Any]:
    import dask.dataframe as dd
    import distributed

    import emmi_async.dask as emmi_dask

    entities = frame.height // 3
    figures: dict[str, Any] = {}
    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        data = dd.from_pandas(frame.to_pandas(), npartitions=8 * workers, sort=False)
        data = client.persist(data)
        distributed.wait(data)
        warm = emmi_dask.batch(
            data.partitions[0],
            "emissions-estimates",
            api_key=KEY,
            base_url=base_url,
            max_concurrency=CONCURRENCY,
        )
        warm.compute()
        for budget in (True, False):
            before = client.run(_worker_cpu)
            counters = client.run(_gate_counters)
            cpu, wall = time.process_time(), time.perf_counter()
            result = emmi_dask.batch(
                data,
                "emissions-estimates",
                api_key=KEY,
                base_url=base_url,
                max_concurrency=CONCURRENCY,
                cluster_budget=budget,
                partitioning="trust",
            ).compute()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            after = client.run(_worker_cpu)
            # (the canned server answers its own years: rows out differ from rows in)
            assert result["identifier"].nunique() == entities
            assert (result["status"] == "ok").all()
            worker_cpu = sum(after[w] - before[w] for w in after)
            row = {
                "entities_per_s": entities / wall,
                "worker_cpu_us_per_entity": 1e6 * worker_cpu / entities,
                "total_cpu_us_per_entity": 1e6 * (worker_cpu + cpu) / entities,
            }
            if budget:
                now = client.run(_gate_counters)
                requests = sum(now[w]["requests"] - counters[w]["requests"] for w in now)
                fetched = sum(
                    now[w]["cluster_acquires"] - counters[w]["cluster_acquires"] for w in now
                )
                row["requests"] = requests
                row["leases_from_scheduler"] = fetched
            figures["budget" if budget else "no budget"] = row
        name = "emmi-bench-leases"
        distributed.Variable(name + "-pause", client=client).set(0.0)
        first = next(iter(client.scheduler_info()["workers"]))
        per = client.submit(_lease_round_trips, name, leases, workers=[first], pure=False)
        figures["lease round trip (ms)"] = 1e3 * per.result()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 entities")
    parser.add_argument("--entities", type=int, default=200_000)
    parser.add_argument("--leases", type=int, default=500)
    args = parser.parse_args(argv)
    count = 20_000 if args.quick else args.entities
    frame = portfolio(count)
    report: dict[str, Any] = {
        "entities": count,
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "cpus": os.cpu_count(),
    }
    with h.ServerProcess() as server:
        base_url = server.base_url
        report["single-process run_frame"] = single(base_url, frame)
        print(json.dumps(report, indent=1), flush=True)
        for workers in (1, 2):
            report[f"dask, {workers} worker(s)"] = cluster(base_url, frame, workers, args.leases)
            print(json.dumps(report[f"dask, {workers} worker(s)"], indent=1), flush=True)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
