"""Portfolio tables for the table path's tests, and the object path's answer for them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from emmi_async import AsyncEmmi
from emmi_async.cli._operations import OPERATIONS
from emmi_async.frames import RULES
from emmi_async.frames._encode import entity_from_rows

ASSETS = ("equity", "debt", "infrastructure", "property")


def portfolio_rows(count: int, *, years: int = 3, asset: str | None = None) -> list[dict[str, Any]]:
    """``count`` valid entities of ``years`` rows each, entity fields on the first row only."""
    rows: list[dict[str, Any]] = []
    for index in range(count):
        kind = asset or ASSETS[index % 4]
        for offset in range(years):
            row: dict[str, Any] = {
                "identifier": f"E{index}",
                "year": 2020 + offset,
                "currency": "USD",
                "revenue": 1e6 * (1 + index % 97) + offset,
                "total_assets": 5e6 + index,
                "ebitda": -1000.0 + index,
                "total_debt": 2e5,
            }
            if offset == 0:
                row.update(
                    name=f"Co {index}",
                    asset_type=kind,
                    country="Germany",
                    industry_classification_system="rbics",
                    industry="Utilities",
                    sector="Energy",
                )
            if kind == "debt":
                row["underlying_scope1"] = 10.0 + index
            else:
                row["scope1"] = 10.0 + index + offset
                row["scope2"] = 5.0 if offset else None
            rows.append(row)
    return rows


def frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, infer_schema_length=None)


def entities_of(
    rows: Sequence[dict[str, Any]], endpoint: str, options: dict[str, Any]
) -> list[Any]:
    """The entities the rows describe (first appearance order), as the object path gets them."""
    grouped: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row.get("identifier"), []).append(row)
    return [
        entity_from_rows(group, identifier, RULES[endpoint], options)
        for identifier, group in grouped.items()
    ]


async def object_path_rows(
    client: AsyncEmmi, endpoint: str, entities: Sequence[Any]
) -> list[dict[str, Any]]:
    """The CLI's result rows (identifier, year, result columns) of each entity, in order,
    through the object path (``runner.run``)."""
    operation = OPERATIONS[endpoint]
    report = await client.batch(operation.method(client)).run(entities)
    rows: list[dict[str, Any]] = []
    for outcome in report.outcomes:
        assert outcome.error is None, outcome.error
        for row in operation.rows(outcome.result):
            row["identifier"] = outcome.identifier
            if "estimated" in row:
                row["estimated"] = row["estimated"].split(";") if row["estimated"] else []
            rows.append(row)
    return rows
