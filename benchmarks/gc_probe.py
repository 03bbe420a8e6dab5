"""What the cyclic GC does during the object path: collections and promotions per entity.

Streams a portfolio of dict entities through ``client.batch(client.emissions.estimate)``
against the canned server (server on core 0, this process on core 1) and counts, per
round: collections per generation (``gc.callbacks``) and the objects in generations 0
and 1 at the start of each generation-1 collection (those still alive then move to the
oldest generation, and enough of them trigger a full collection, which scans every
tracked object of the process). Counts are steady where CPU figures move with the load.

Run: ``python benchmarks/gc_probe.py [--entities 10000] [--rounds 3]``. Results:
benchmarks/README.md, "Object path (session 5)".
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
from _canned_server import request_entity

from emmi_async import AsyncEmmi

API_KEY = "emmi_sk_" + "k" * 64
CUSTOMER_ID = "6f1c2b9e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"


class Counts:
    """Collections per generation, and the objects each generation-1 collection promotes."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.promoted = 0

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "start":
            return
        generation = info["generation"]
        self.collections[generation] += 1
        if generation == 1:
            self.promoted += len(gc.get_objects(0)) + len(gc.get_objects(1))


async def probe(port: int, entities: int, rounds: int) -> None:
    portfolio = [request_entity(i) for i in range(entities)]
    client = AsyncEmmi(
        api_key=API_KEY,
        customer_id=CUSTOMER_ID,
        base_url=f"http://127.0.0.1:{port}/api/v1",
        max_connections=64,
    )
    runner = client.batch(
        client.emissions.estimate, chunk_size=100, max_concurrency=64, adaptive=False
    )

    async def one(count: int) -> int:
        ok = 0
        async with runner.stream(itertools.islice(portfolio, count)) as outcomes:
            async for outcome in outcomes:
                if outcome.error is not None:
                    raise outcome.error
                ok += outcome.result.data[0].emissions.scope1 > 0
        return ok

    await one(min(entities, 2000))  # warm-up
    for round_index in range(rounds):
        counts = Counts()
        gc.collect()
        gc.callbacks.append(counts.callback)
        cpu = time.process_time()
        try:
            ok = await one(entities)
        finally:
            gc.callbacks.remove(counts.callback)
        cpu = time.process_time() - cpu
        per = 10_000 / ok
        print(
            f"round {round_index}: collections per 10,000 entities (gen 0/1/2) "
            f"{'/'.join(str(round(n * per)) for n in counts.collections)}, promoted per "
            f"entity {counts.promoted / ok:.2f}, CPU {1e6 * cpu / ok:.1f} µs per entity"
        )
    await client.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with h.ServerProcess() as server:
        h.pin_to_core()
        asyncio.run(probe(server.port, args.entities, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
