"""Where the object path loses to the expert baseline, by substitution (issue 12).

The expert baseline (aiohttp + orjson, chunks of 100 dicts, C = 64 worker tasks) with
the object path's own steps put in, one at a time, beside the batch runner itself, in
one pinned process against the canned server, rounds interleaved:

- ``+ checks and models``: each entity checked and encoded as the runner does it
  (``AnalysisOperation.prepare``, then ``encode`` of the chunk) instead of
  ``orjson.dumps``, and each answer decoded into result models as the runner does it
  (``orjson.loads`` and the generated structurers, the collector paused) instead of
  ``orjson.loads`` alone; every result is touched as the baseline touches its dicts;
- ``+ SDK pipeline``: the same, with the POST through the SDK's request pipeline
  (``client.request``: httpx over our aiohttp transport, auth, the pool's gate,
  rate-limit headers, redaction) and the runner's ``AnalysisOperation.decode``;
- ``runner, dict input`` and ``runner, model input``: ``client.batch(...).stream``,
  every outcome's result touched the same way.

What a row adds to the one above it is what that step costs inside a run; what the
runner adds to ``+ SDK pipeline`` is the run core (producer, window, workers, retries
and their decisions, outcomes, delivery).

Run: ``python benchmarks/object_gap.py [--entities N] [--rounds R]``. Results:
benchmarks/README.md, "Object path (session 7)".
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h
from batch import (
    POST_HEADERS,
    ClientBaseline,
    Done,
    ExpertBaseline,
    RunnerPipeline,
    dict_portfolio,
    model_portfolio,
)

from emmi_async.batch._collector import collector_paused
from emmi_async.batch._operation import AnalysisOperation, post_chunk
from emmi_async.models import EMISSIONS_ESTIMATES

OPERATION = AnalysisOperation(EMISSIONS_ESTIMATES)


class Substituted(ClientBaseline):
    """The baseline with the runner's checks and models, and (``sdk``) its pipeline."""

    def __init__(self, base_url: str, portfolio: Sequence[Any], *, sdk: bool) -> None:
        super().__init__(base_url, portfolio)
        self._sdk = sdk

    async def _post(self, chunk: Sequence[Any], done: Done) -> None:
        assert self._session is not None
        assert self._client is not None
        body = OPERATION.encode([OPERATION.prepare(entity, i) for i, entity in enumerate(chunk)])
        if self._sdk:
            response = await post_chunk(self._client, OPERATION.name, body, len(chunk))
            results = OPERATION.decode(response, len(chunk))
        else:
            async with self._session.post(self._url, data=body, headers=POST_HEADERS) as answer:
                data = await answer.read()
            with collector_paused():
                results = EMISSIONS_ESTIMATES.decode(orjson.loads(data), consume=True, source=data)
        for result in results:
            done.checksum += result.data[0].emissions.scope1
        done.ok += len(results)


async def measure(port: int, entities: int, rounds: int) -> dict[str, list[float]]:
    base_url = f"http://127.0.0.1:{port}"
    dicts = dict_portfolio(entities)
    models = model_portfolio(dicts)
    pipes: dict[str, Any] = {
        "baseline": ExpertBaseline(base_url, dicts, 100, 64),
        "+ checks and models": Substituted(base_url, dicts, sdk=False),
        "+ SDK pipeline": Substituted(base_url, dicts, sdk=True),
        "runner, dict input": RunnerPipeline(
            base_url, dicts, chunk=100, concurrency=64, label="dict input"
        ),
        "runner, model input": RunnerPipeline(
            base_url, models, chunk=100, concurrency=64, label="model input"
        ),
    }
    return await h.interleaved_cpu(pipes, entities, rounds)


def main(argv: list[str] | None = None) -> int:
    return h.substitution_main(argv, __doc__.splitlines()[0], measure)


if __name__ == "__main__":
    sys.exit(main())
