"""``emmi estimate`` on a Parquet portfolio to Parquet against ``stream_frames`` itself.

Against the canned server (``_canned_server.py``, pinned to core 0; every client pinned
to core 1, each in its own child process):

- ``stream_frames``: ``python benchmarks/batch.py --parquet N`` (a Parquet file's record
  batches of 10,000 rows through ``runner.stream_frames``, each result frame to a Parquet
  writer; the library path the command is built on);
- ``emmi estimate PORTFOLIO.parquet -o RESULTS.parquet`` with the journal (the default)
  and with ``--no-journal``, as a user runs it: wall time from the process's start to its
  exit (imports, the identifier pre-pass, ordered output included).

The portfolio is ``batch.py --make-parquet``'s (3 rows per entity, ~1.1 KB of JSON per
entity). Entities/s are the entities over the wall time; the peak RSS of each child is
its own ``ru_maxrss`` (``os.wait4``; for ``batch.py``, which makes the portfolio in a
child of its own, the figure it reports for itself). "run only" is the rate over the run
alone (the command's ``--json`` stats). The runs alternate, ``--rounds`` times.

Run: ``python benchmarks/cli.py [--quick] [--entities N] [--rounds R]``. Results:
benchmarks/README.md, "## The command line".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

HERE = Path(__file__).resolve().parent
BATCH = HERE / "batch.py"
API_KEY = "emmi_sk_" + "k" * 64
CUSTOMER_ID = "6f1c2b9e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"


def _timed(argv: list[str]) -> tuple[float, float, str]:
    """Run ``argv`` on the client core: wall seconds, peak RSS (MiB) and stdout."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            ["taskset", "-c", str(h.CLIENT_CORE), *argv],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        errors.seek(0)
        err = errors.read()
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{argv} exited {process.returncode}:\n{err[-3000:]}")
    _timed.cpu = usage.ru_utime + usage.ru_stime  # type: ignore[attr-defined]
    return wall, usage.ru_maxrss / 1024, out


def run_cli(port: int, source: Path, target: Path, count: int, journal: bool) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "emmi_async",
        "estimate",
        str(source),
        "-o",
        str(target),
        "--api-key",
        API_KEY,
        "--customer-id",
        CUSTOMER_ID,
        "--base-url",
        f"http://127.0.0.1:{port}/api/v1",
        "--json",
        "--concurrency",
        "64",
    ]
    if not journal:
        argv.append("--no-journal")
    wall, rss, out = _timed(argv)
    summary = json.loads(out)
    assert summary["status"]["ok"] == count, summary
    target.unlink()
    stats = summary["stats"]
    return {
        "cpu_us_per_entity": 1e6 * _timed.cpu / count,  # type: ignore[attr-defined]
        "seconds": wall,
        "rate": count / wall,
        "peak_rss_mib": rss,
        "run_seconds": stats["elapsed_s"],
        "run_rate": stats["entities_per_s"],
    }


def run_frames(port: int, count: int) -> dict[str, Any]:
    """``batch.py --parquet`` (it makes the same portfolio, then times only the run)."""
    wall, rss, out = _timed(
        [sys.executable, str(BATCH), "--parquet", str(count), "--port", str(port)]
    )
    report = json.loads(out.strip().splitlines()[-1])
    assert report["ok"] == count, report
    return {
        "cpu_us_per_entity": report["cpu_us_per_entity"],
        "seconds": report["seconds"],
        "rate": report["rate"],
        "peak_rss_mib": report["peak_rss_mib"],  # its own (wait4's counts its children)
        "with_children_rss_mib": rss,
        "process_seconds": wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50,000 entities, 1 round")
    parser.add_argument("--entities", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    count = args.entities or (50_000 if args.quick else 1_000_000)
    rounds = args.rounds or (1 if args.quick else 2)
    results: dict[str, list[dict[str, Any]]] = {"stream_frames": [], "cli": [], "cli_nj": []}
    stalled_before, started = h.cpu_pressure_total(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, h.ServerProcess() as server:
        source = Path(tmp) / "portfolio.parquet"
        target = Path(tmp) / "results.parquet"
        subprocess.run(
            [sys.executable, str(BATCH), "--make-parquet", str(count), "--path", str(source)],
            check=True,
        )
        for _ in range(rounds):
            results["stream_frames"].append(run_frames(server.port, count))
            results["cli"].append(run_cli(server.port, source, target, count, journal=True))
            results["cli_nj"].append(run_cli(server.port, source, target, count, journal=False))
    base = statistics.median(r["rate"] for r in results["stream_frames"])
    stalled = (h.cpu_pressure_total() - stalled_before) / (time.perf_counter() - started)
    print(
        f"{count:,} entities (3 rows each), {rounds} round(s); canned server on core 0; "
        f"CPU pressure {100 * stalled:.0f} % (other processes on the machine)"
    )
    print(
        f"{'pipeline':44} {'entities/s':>11} {'ratio':>6} {'peak RSS MiB':>13} "
        f"{'run only':>9} {'CPU us/entity':>14}"
    )
    names = {
        "stream_frames": "stream_frames (batch.py --parquet), run only",
        "cli": "emmi estimate (journal), whole process",
        "cli_nj": "emmi estimate --no-journal, whole process",
    }
    for key, label in names.items():
        rate = statistics.median(r["rate"] for r in results[key])
        rss = max(r["peak_rss_mib"] for r in results[key])
        runs = [r.get("run_rate", r["rate"]) for r in results[key]]
        run = statistics.median(runs)
        cpu = statistics.median(r["cpu_us_per_entity"] for r in results[key])
        print(
            f"{label:44} {rate:11,.0f} {rate / base:6.2f} {rss:13.1f} {run / base:9.2f} {cpu:14.1f}"
        )
    print(json.dumps({"entities": count, "rounds": rounds, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
