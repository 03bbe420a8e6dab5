"""Throughput of the reference server on loopback (requests/s), real and canned modes.

The server runs in its own process (``python -m emmi_async.testing``, pinned to CPU 0
with ``taskset`` when there is one); the load comes from a minimal asyncio keep-alive
HTTP/1.1 client (no httpx: its own cost would be measured instead) pinned to CPU 1,
with ``--connections`` connections each sending requests back to back.

    python benchmarks/reference_server.py [--seconds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
from typing import Any

import orjson

PORT = 8765


def entity(i: int) -> dict[str, Any]:
    return {
        "entity_info": {
            "identifier": f"E{i}",
            "name": f"Company {i}",
            "asset_type": "equity",
            "country": "United States",
            "industry_classification_system": "rbics",
            "industry": "Electric Utilities",
            "sector": "Utilities",
        },
        "data": [
            {
                "year": year,
                "emissions": {"scope1": 1_000_000.0 + i, "scope2": 30_000.0},
                "financials": {"currency": "USD", "revenue": 1e9 + i, "total_assets": 4e9},
            }
            for year in (2021, 2022, 2023)
        ],
    }


def request_bytes(key: str, count: int) -> bytes:
    body = orjson.dumps([entity(i) for i in range(count)])
    head = (
        "POST /api/v1/emissions-estimates HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{PORT}\r\nX-API-Key: {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def worker(payload: bytes, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    try:
        while time.perf_counter() < deadline:
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            counts[0] += 1
    finally:
        writer.close()


async def measure(payload: bytes, seconds: float, connections: int) -> float:
    warm = time.perf_counter() + 0.5
    await asyncio.gather(*(worker(payload, warm, [0]) for _ in range(connections)))
    counts = [0]
    start = time.perf_counter()
    await asyncio.gather(*(worker(payload, start + seconds, counts) for _ in range(connections)))
    return counts[0] / (time.perf_counter() - start)


def start_server(canned: bool) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "emmi_async.testing", "--port", str(PORT)]
    if canned:
        command.append("--canned")
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
        command = ["taskset", "-c", "0", *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(2)]
    return process, lines[1].split()[-1]  # "  single-tenant key  sk_test_single_..."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    print(
        f"| mode | entities/request | requests/s | entities/s |  ({args.connections} connections)"
    )
    print("|---|---:|---:|---:|")
    for canned in (False, True):
        process, key = start_server(canned)
        try:
            for count in (1, 100):
                rate = asyncio.run(
                    measure(request_bytes(key, count), args.seconds, args.connections)
                )
                mode = "canned" if canned else "real"
                print(f"| {mode} | {count} | {rate:,.0f} | {rate * count:,.0f} |", flush=True)
        finally:
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
