"""Response bodies to typed result rows, in compiled code (polars' JSON reader with a schema).

Unknown response fields are not in the schema and so are dropped; missing optional ones
are null. A body that is not JSON, or does not fit the schema, or holds another number of
results than entities sent, raises the same errors as the object path (the run retries).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import chain

import orjson
import polars as pl

from emmi_async._base_client import MalformedResponseError
from emmi_async._exceptions import ResponseMismatchError
from emmi_async.frames._layout import Output, flatten

__all__ = ["extra_json", "flatten_plan", "flatten_results", "parse_results"]


def parse_results(body: bytes, count: int, output: Output, what: str) -> pl.Series:
    """A ``{"results": [...]}`` body parsed with ``output``'s schema: a one-row series of
    the results list, checked to hold ``count`` results (the cheap part of decoding, done
    per chunk so that a bad body is retried; :func:`flatten_results` does the rest in bulk).

    ``polars.read_json`` with a schema is the fastest reader measured here (6.5 µs per
    2 KB result against 10 for ``str.json_decode`` and 13 for ``orjson.loads``,
    benchmarks/README.md, "Tables").
    """
    try:
        parsed = pl.read_json(io.BytesIO(body), schema=output.body_schema)
    except (pl.exceptions.PolarsError, ValueError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MalformedResponseError(
            f"{what}: a body that does not fit the results: {reason}"
        ) from None
    results = parsed.to_series()
    # The first row's list as a series, and its length: 8 µs, where the expression
    # ``results.list.len()`` costs 100-120 µs a chunk (a query plan per call).
    first = results[0] if parsed.height == 1 else None
    found = None if first is None else first.len()
    if found != count:
        raise ResponseMismatchError(
            f"{what}: sent {count} entities, the response holds {found or 0} results"
        )
    return results


def flatten_results(
    parsed: Sequence[pl.Series],
    indexes: Sequence[Sequence[int]],
    identifiers: Sequence[Sequence[str | None]],
    output: Output,
) -> pl.DataFrame:
    """The result rows of many parsed bodies at once: ``entity`` (input index), ``seq``
    (order of the rows), ``identifier`` and ``output``'s columns."""
    return flatten_plan(parsed, indexes, identifiers, output).collect()


def flatten_plan(
    parsed: Sequence[pl.Series],
    indexes: Sequence[Sequence[int]],
    identifiers: Sequence[Sequence[str | None]],
    output: Output,
) -> pl.LazyFrame:
    """:func:`flatten_results` as a query not yet run (a caller adds its own columns and
    runs it once)."""
    # One result per entity (parse_results checked the counts): the results exploded
    # line up with the indexes and identifiers as flat columns (from flat Python lists:
    # a third of the CPU of lists of lists).
    items = (
        pl.DataFrame({"r": pl.concat(parsed)})
        .lazy()
        .explode("r")
        .select(
            pl.Series("entity", list(chain.from_iterable(indexes)), dtype=pl.Int64),
            pl.Series("identifier", list(chain.from_iterable(identifiers)), dtype=pl.String),
            pl.col("r").struct.field("data").alias("d"),
        )
    )
    items = items.explode("d")
    if output.per_scenario:
        items = items.select(
            "entity",
            "identifier",
            pl.col("d").struct.field("year").alias("year"),
            pl.col("d").struct.field("scenarios").alias("s"),
        ).explode("s")
        columns = [
            pl.col("year"),
            pl.col("s").struct.field("scenario").alias("scenario"),
            pl.col("s")
            .struct.field("transition_risk")
            .struct.field("potential_carbon_liability")
            .alias("potential_carbon_liability"),
            pl.col("s")
            .struct.field("transition_risk")
            .struct.field("pcl_to_value")
            .alias("pcl_to_value"),
            pl.col("s")
            .struct.field("physical_risk")
            .struct.field("average_annual_loss")
            .alias("average_annual_loss"),
        ]
    else:
        columns = flatten(output, pl.col("d"))
    return items.select(
        "entity",
        pl.int_range(pl.len(), dtype=pl.Int64).alias("seq"),
        "identifier",
        *columns,
    )


def extra_json(body: bytes, output: Output) -> list[str | None]:
    """For each result row of ``body`` (in :func:`flatten_results`' order), its unknown fields
    as JSON text (``None`` when it has none): what the schema leaves out."""
    data = output.data
    assert isinstance(data, pl.Struct)
    known = {field.name for field in data.fields}
    texts: list[str | None] = []
    for result in orjson.loads(body).get("results") or []:
        items = result.get("data") if isinstance(result, dict) else None
        if not items:
            texts.append(None)
            continue
        for item in items:
            unknown = (
                {k: v for k, v in item.items() if k not in known} if isinstance(item, dict) else {}
            )
            count = len(item.get("scenarios") or [None]) if output.per_scenario else 1
            text = orjson.dumps(unknown).decode() if unknown else None
            texts.extend([text] * max(count, 1))
    return texts
