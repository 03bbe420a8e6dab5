"""Hazard look-ups from a table of locations: one ``GET /hazard-risk`` per row.

A hazard look-up is one request per location, so the request, not per-row Python work,
is the cost: rows go through the runner's object path (``runner.stream``) and each
answer becomes one row per hazard, scenario and year.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from emmi_async.batch import Outcome
from emmi_async.batch._watch import Progress
from emmi_async.frames._layout import STATUS_COLUMNS
from emmi_async.frames._tables import status_of

if TYPE_CHECKING:
    from emmi_async.batch._runner import BatchRunner, OutcomeStream

__all__ = ["HAZARD_COLUMNS", "HazardResults"]

HAZARD_COLUMNS: dict[str, pl.DataType] = {
    "identifier": pl.String(),
    "latitude": pl.Float64(),
    "longitude": pl.Float64(),
    "hazard": pl.String(),
    "scenario": pl.String(),
    "year": pl.Int64(),
    "intensity": pl.Float64(),
    "probability": pl.Float64(),
    **STATUS_COLUMNS,
}
"""The result rows of a hazard look-up: one per location, hazard, scenario and year."""
_BATCH_ROWS = 1000


class HazardResults:
    """Result rows of a table of ``latitude, longitude`` rows (``identifier`` optional)."""

    def __init__(
        self,
        runner: BatchRunner[Any],
        frames: AsyncIterator[pl.DataFrame],
        progress: Progress = False,
        *,
        extra: bool = False,
    ) -> None:
        self._runner = runner
        self._progress = progress
        self._schema: dict[str, pl.DataType] = {
            "entity": pl.Int64(),
            "seq": pl.Int64(),
            **HAZARD_COLUMNS,
            **({"extra": pl.String()} if extra else {}),
        }
        self._extra = extra
        self._frames = frames
        self._stream: OutcomeStream[Any] | None = None
        self._pieces_iterator: AsyncIterator[pl.DataFrame] | None = None

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self._schema)

    async def __aenter__(self) -> HazardResults:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        pieces = self._pieces_iterator
        aclose = getattr(pieces, "aclose", None)
        if aclose is not None:
            await aclose()
        if self._stream is not None:
            await self._stream.aclose()

    def __aiter__(self) -> AsyncIterator[pl.DataFrame]:
        self._pieces_iterator = self._pieces()
        return self._pieces_iterator

    async def _locations(self) -> AsyncIterator[dict[str, Any]]:
        async for frame in self._frames:
            for name in ("latitude", "longitude"):
                if name not in frame.columns:
                    raise ValueError(f"hazard look-ups need a {name} column")
            wanted = [name for name in ("identifier", "latitude", "longitude") if name in frame]
            for row in frame.select(wanted).iter_rows(named=True):
                if row.get("identifier") is not None:
                    row["identifier"] = str(row["identifier"])
                yield row

    async def _pieces(self) -> AsyncIterator[pl.DataFrame]:
        self._stream = self._runner.stream(self._locations(), progress=self._progress)
        rows: list[dict[str, Any]] = []
        async for outcome in self._stream:
            rows.extend(_rows(outcome, self._extra))
            if len(rows) >= _BATCH_ROWS:
                yield self._frame(rows)
                rows = []
        if rows:
            yield self._frame(rows)

    def _frame(self, rows: list[dict[str, Any]]) -> pl.DataFrame:
        return pl.DataFrame(rows, schema=self._schema)


def _rows(outcome: Outcome[Any], extra: bool) -> list[dict[str, Any]]:
    """The result rows of one location; with ``extra``, each hazard's unknown fields as
    JSON text (``None`` when it has none), as the analyses' rows keep their items'."""
    base = {"entity": outcome.index, "identifier": outcome.identifier}
    error = outcome.error
    if error is not None:
        return [
            {**base, "seq": 0, "status": status_of(error), "error": " ".join(str(error).split())}
        ]
    result: Any = outcome.result
    location = result.location
    where = {
        "latitude": None if location is None else location.latitude,
        "longitude": None if location is None else location.longitude,
    }
    if not result.hazards:
        return [{**base, **where, "seq": 0, "status": "ok"}]
    return [
        {
            **base,
            **where,
            "seq": seq,
            "hazard": hazard.hazard,
            "scenario": hazard.scenario,
            "year": hazard.year,
            "intensity": hazard.intensity,
            "probability": hazard.probability,
            "status": "ok",
            **({"extra": _json(hazard.extra)} if extra else {}),
        }
        for seq, hazard in enumerate(result.hazards)
    ]


def _json(unknown: Any) -> str | None:
    return orjson.dumps(dict(unknown)).decode() if unknown else None
