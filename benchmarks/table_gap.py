"""Where ``run_frame`` loses to the expert baseline, by substitution inside real runs.

The expert baseline (aiohttp + orjson with dicts, chunks of 100, 64 worker tasks) with one
part at a time replaced by the table path's own, interleaved in one process pinned to the
client core (the canned server on the other), CPU per entity against the baseline's
round by round:

- ``baseline``: ``orjson.dumps`` of dicts, aiohttp's POST, ``orjson.loads``;
- ``+ polars reader``: the answer read by ``parse_results`` (``polars.read_json`` with the
  body schema) instead of ``orjson.loads``;
- ``+ SDK pipeline``: the POST through ``client.request`` (httpx over our aiohttp
  transport: auth, pool gate, rate-limit headers, redaction) instead of aiohttp directly;
- ``+ both``: the SDK pipeline and the polars reader;
- ``run_frame``: the whole table path on the same entities (a polars frame, 3 rows each).

What ``run_frame`` costs beyond ``+ both`` is the table path's own work: ``prepare_frame``
(instead of ``orjson.dumps``), the run core (producer, window, workers, delivery; the
consumer decodes each answer), ``ResultBook`` and the result table.

Run: ``python benchmarks/table_gap.py [--entities N] [--rounds R]``. Results:
benchmarks/README.md, "Tables (session 6)".
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
    API_KEY,
    API_PREFIX,
    CUSTOMER_ID,
    POST_HEADERS,
    ClientBaseline,
    Done,
    ExpertBaseline,
    dict_portfolio,
    table_rows,
)

from emmi_async import AsyncEmmi
from emmi_async.frames._decode import parse_results
from emmi_async.frames._layout import OUTPUTS

OUTPUT = OUTPUTS["emissions-estimates"]


class Substituted(ClientBaseline):
    """The baseline with its POST (``sdk``) and/or its reader (``polars``) replaced."""

    def __init__(self, base_url: str, portfolio: Sequence[Any], *, sdk: bool, polars: bool) -> None:
        super().__init__(base_url, portfolio)
        self._sdk = sdk
        self._polars = polars

    async def _post(self, chunk: Sequence[Any], done: Done) -> None:
        assert self._session is not None
        assert self._client is not None
        body = orjson.dumps(chunk)
        if self._sdk:
            response = await self._client.request(
                "POST", "emissions-estimates", scope="data", content=body, parse=False
            )
            data = response.data
        else:
            async with self._session.post(self._url, data=body, headers=POST_HEADERS) as answer:
                data = await answer.read()
        if self._polars:
            parse_results(data, len(chunk), OUTPUT, "baseline")
            done.ok += len(chunk)
            return
        results = orjson.loads(data)["results"]
        for result in results:
            done.checksum += result["data"][0]["emissions"]["scope1"]
        done.ok += len(results)


class RunFrame:
    """``runner.run_frame`` on the same entities as a polars frame."""

    def __init__(self, base_url: str, rows: Any) -> None:
        self._base_url = base_url + API_PREFIX
        self._rows = rows
        self._client: AsyncEmmi | None = None
        self._runner: Any = None

    async def open(self) -> None:
        self._client = AsyncEmmi(
            api_key=API_KEY, customer_id=CUSTOMER_ID, base_url=self._base_url, max_connections=64
        )
        self._runner = self._client.batch(
            self._client.emissions.estimate, chunk_size=100, max_concurrency=64, adaptive=False
        )

    async def process(self, count: int) -> Done:
        table = await self._runner.run_frame(self._rows.slice(0, 3 * count))
        done = Done()
        ok = table.filter(table["status"] == "ok")
        done.ok = ok["identifier"].n_unique()
        return done

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


async def measure(port: int, entities: int, rounds: int) -> dict[str, list[float]]:
    base_url = f"http://127.0.0.1:{port}"
    dicts = dict_portfolio(entities)
    pipes: dict[str, Any] = {
        "baseline": ExpertBaseline(base_url, dicts, 100, 64),
        "+ polars reader": Substituted(base_url, dicts, sdk=False, polars=True),
        "+ SDK pipeline": Substituted(base_url, dicts, sdk=True, polars=False),
        "+ both": Substituted(base_url, dicts, sdk=True, polars=True),
        "run_frame": RunFrame(base_url, table_rows(dicts)),
    }
    return await h.interleaved_cpu(pipes, entities, rounds)


def main(argv: list[str] | None = None) -> int:
    return h.substitution_main(argv, __doc__.splitlines()[0], measure)


if __name__ == "__main__":
    sys.exit(main())
