"""What the batch journal costs per entity, by piece, for format 1 (before) and 2 (now).

Pinned to the client core. One 100-entity chunk of the canned server's answer
(``_canned_server.results_body``, ~1.9 KB per entity with its unknown fields) and the 100
request entities (~1 KB of JSON each), on the table path. Each piece timed on its own
(``getrusage``: user and system CPU), best of ``--repeats`` blocks of ``--number``
chunks, µs of CPU per entity:

- format 1 (sessions 1-4, re-created here for the comparison): a BLAKE2b-64 digest per
  entity, the parsed results encoded again as JSON by polars (one select per chunk), one
  ``orjson`` line per entity, the lines joined and written;
- format 2 (``emmi_async.batch._journal``): a SHA-256 digest per entity, one line per
  chunk with the response body written from where it is (``results_line``), written and
  flushed (``Journal.write``).

The write goes to a file in ``--dir`` (default: the system's temporary directory); the
kernel's share of it (page cache copies) is reported separately, from ``getrusage``.

Then, resuming: a format-2 journal of ``--open`` entities (default 200,000; the same
answer in every line) is opened (memory and CPU to open it) and every entity looked up
with its result, as a resumed run does.

Run: ``python benchmarks/journal.py [--number N] [--repeats R] [--dir DIR]``. Results:
benchmarks/README.md, "The journal".
"""

from __future__ import annotations

import argparse
import hashlib
import io
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
from _canned_server import request_entity, results_body

from emmi_async.batch._journal import Journal, results_line
from emmi_async.batch._operation import analysis_results
from emmi_async.frames import OUTPUTS

ENTITIES = 100
OPERATION = "emissions-estimates"


def best(repeats: int, number: int, work: Callable[[], object]) -> tuple[float, float]:
    """Best (user, system) µs of CPU per entity over ``repeats`` blocks of ``number`` calls."""
    result = (float("inf"), float("inf"))
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_SELF)
        for _ in range(number):
            work()
        after = resource.getrusage(resource.RUSAGE_SELF)
        per = 1e6 / (number * ENTITIES)
        user = (after.ru_utime - before.ru_utime) * per
        system = (after.ru_stime - before.ru_stime) * per
        if user + system < sum(result):
            result = (user, system)
    return result


def format_1_line(index: int, identifier: str, fingerprint: str, result: Any) -> bytes:
    """A line of format 1: one entity, its result as JSON."""
    item = {"i": index, "id": identifier, "fp": fingerprint, "ok": result}
    return orjson.dumps(item) + b"\n"


def rss_mib() -> float:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def resuming(count: int, body: bytes, folder: str) -> None:
    """Open a journal of ``count`` entities, then look every one up as a resumed run does."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = Path(tmp) / "resume.jsonl"
        writer = Journal(path, OPERATION, analysis_results)
        writer.open()
        for start in range(0, count, ENTITIES):
            indexes = list(range(start, start + ENTITIES))
            digests = [f"{index:016x}" for index in indexes]
            writer.write(results_line(indexes, [f"E{i}" for i in indexes], digests, body))
        writer.close()
        size = path.stat().st_size
        before, cpu = rss_mib(), time.process_time()
        journal = Journal(path, OPERATION, analysis_results)
        journal.open()
        opened, cpu = time.process_time() - cpu, time.process_time()
        grown = rss_mib() - before
        for index in range(count):
            recorded = journal.recorded(index, f"{index:016x}")
            assert recorded is not None
        looked_up = time.process_time() - cpu
        journal.close()
    print(
        f"resuming: a journal of {count:,} entities ({size / 2**20:,.0f} MiB) opens in "
        f"{opened:.2f} s of CPU and +{grown:.0f} MiB; looking up every result costs "
        f"{1e6 * looked_up / count:.1f} µs of CPU per entity"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--open", type=int, default=200_000, dest="entities")
    args = parser.parse_args(argv)

    body = results_body(ENTITIES)
    sent = [orjson.dumps(request_entity(i)) for i in range(ENTITIES)]
    indexes = list(range(ENTITIES))
    identifiers = [f"E{i}" for i in indexes]
    output = OUTPUTS[OPERATION]
    schema = {"results": pl.List(pl.Struct({"data": pl.List(output.data)}))}
    parsed = pl.read_json(io.BytesIO(body), schema=schema).to_series()

    def blake2b_each() -> list[str]:
        return [hashlib.blake2b(item, digest_size=8).hexdigest() for item in sent]

    def encode_again() -> list[Any]:
        texts = parsed.to_frame("r").select(pl.col("r").explode().struct.json_encode())
        return [orjson.Fragment(text) for text in texts.to_series().to_list()]

    results = encode_again()
    old_fingerprints = blake2b_each()

    def format_1_lines() -> bytes:
        return b"".join(
            format_1_line(i, identifiers[i], old_fingerprints[i], results[i]) for i in indexes
        )

    old_payload = format_1_lines()
    folder = args.dir or tempfile.gettempdir()
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        old_file = open(Path(tmp) / "format1.jsonl", "ab")  # noqa: SIM115
        journal = Journal(Path(tmp) / "format2.jsonl", OPERATION, analysis_results)
        journal.open()
        new_fingerprints = [journal.fingerprint(item) for item in sent]
        pieces = results_line(indexes, identifiers, new_fingerprints, body)

        def write_1() -> None:
            old_file.write(old_payload)
            old_file.flush()

        rows: list[tuple[str, tuple[float, float]]] = []
        measure = lambda work: best(args.repeats, args.number, work)  # noqa: E731
        rows.append(("format 1: BLAKE2b-64 per entity", measure(blake2b_each)))
        rows.append(("format 1: results encoded again (polars)", measure(encode_again)))
        rows.append(("format 1: a line per entity (orjson)", measure(format_1_lines)))
        rows.append(("format 1: write + flush", measure(write_1)))
        rows.append(
            (
                "format 2: SHA-256 per entity",
                measure(lambda: [journal.fingerprint(item) for item in sent]),
            )
        )
        rows.append(
            (
                "format 2: a line per chunk (body as sent)",
                measure(lambda: results_line(indexes, identifiers, new_fingerprints, body)),
            )
        )
        rows.append(("format 2: write + flush", measure(lambda: journal.write(pieces))))
        old_file.close()
        journal.close()

    sizes = {
        "format 1": len(old_payload) / ENTITIES,
        "format 2": sum(map(len, pieces)) / ENTITIES,
    }
    print(f"{ENTITIES} entities per chunk, best of {args.repeats} x {args.number} chunks")
    print("| piece | user µs/entity | system µs/entity |")
    print("|---|---:|---:|")
    totals: dict[str, float] = {}
    for name, (user, system) in rows:
        print(f"| {name} | {user:.2f} | {system:.2f} |")
        key = name.split(":")[0]
        totals[key] = totals.get(key, 0.0) + user + system
    for key, total in totals.items():
        print(f"| {key}, all pieces | {total:.2f} | |")
    for key, size in sizes.items():
        print(f"{key}: {size:,.0f} bytes written per entity")
    resuming(args.entities, body, args.dir or tempfile.gettempdir())
    pressure = Path("/proc/pressure/cpu")
    if pressure.exists():
        print(f"CPU pressure now: {pressure.read_text().splitlines()[0]}")
    return 0


if __name__ == "__main__":
    h.pin_to_core()
    raise SystemExit(main())
