"""The column layout of portfolio tables, in and out, per endpoint.

In: one row per entity-year in the columns of the CLI's portfolio files
(:data:`INPUT_COLUMNS`); only ``identifier`` and ``year`` are required, entity fields may
be repeated on every row of an entity or given on one of its rows. Out: one row per
result row, with :data:`KEY_COLUMNS`, the endpoint's result columns and
:data:`STATUS_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

__all__ = [
    "ATTRIBUTION_COLUMNS",
    "EMISSION_COLUMNS",
    "FINANCIAL_COLUMNS",
    "INFO_COLUMNS",
    "INPUT_COLUMNS",
    "KEY_COLUMNS",
    "OUTPUTS",
    "STATUS_COLUMNS",
    "Output",
]

INFO_COLUMNS = (
    "name",
    "asset_type",
    "country",
    "industry_classification_system",
    "industry",
    "sector",
)
"""``entity_info`` fields besides ``identifier``: one value per entity."""
FINANCIAL_COLUMNS = ("revenue", "total_assets", "ebitda", "total_debt")
EMISSION_COLUMNS = (
    "scope1",
    "scope2",
    "scope3",
    "underlying_scope1",
    "underlying_scope2",
    "underlying_scope3",
)
ATTRIBUTION_COLUMNS = ("customer_id", "end_user_id")
"""Columns that attribute an entity's rows to a customer or end user (``attribute=``)."""
INPUT_COLUMNS = (
    "identifier",
    *INFO_COLUMNS,
    "year",
    "currency",
    *FINANCIAL_COLUMNS,
    *EMISSION_COLUMNS,
    "projected",
)
"""Every column a portfolio table may have (besides an attribution column).

``projected`` (boolean, default false) marks a supplied future year for
``climate-risk-projections`` and ``temperature-alignment-projections``: such a row
carries ``year`` and emissions only."""

KEY_COLUMNS: Mapping[str, pl.DataType] = {"identifier": pl.String(), "year": pl.Int64()}
STATUS_COLUMNS: Mapping[str, pl.DataType] = {"status": pl.String(), "error": pl.String()}
"""``status`` is ``ok``, ``invalid`` (bad input, never sent), ``rejected`` (the API refused
the entity; a rerun would too) or ``error`` (transient, deadline, aborted run)."""

_F = pl.Float64()


def _floats(*names: str) -> dict[str, pl.DataType]:
    return dict.fromkeys(names, _F)


class Output:
    """An endpoint's result rows: their columns, and how a result becomes rows.

    ``data`` is the dtype of one item of a result's ``data`` list; ``rows`` turns a
    frame with a struct column ``d`` of that dtype into the result columns (one row per
    item, or per item and scenario).
    """

    def __init__(
        self, columns: Mapping[str, pl.DataType], data: pl.DataType, per_scenario: bool = False
    ) -> None:
        self.columns = dict(columns)
        self.data = data
        self.per_scenario = per_scenario
        self.body_schema: dict[str, pl.DataType] = {
            "results": pl.List(pl.Struct({"data": pl.List(data)}))
        }
        """The schema a response body is read with (built once: 7 µs a chunk otherwise)."""

    @property
    def all_columns(self) -> dict[str, pl.DataType]:
        return {**KEY_COLUMNS, **self.columns, **STATUS_COLUMNS}


_SCOPES = ("scope1", "scope2", "scope3")
_PERCENTILES = (
    "scope1_intensity_percentile",
    "scope1_2_intensity_percentile",
    "scope1_2_3_intensity_percentile",
)
_ESTIMATES = Output(
    {
        **_floats(*EMISSION_COLUMNS),
        "estimated": pl.List(pl.String()),
        "data_quality_score": pl.Int64(),
    },
    pl.Struct(
        {
            "year": pl.Int64(),
            "emissions": pl.Struct(_floats(*EMISSION_COLUMNS)),
            "estimated": pl.List(pl.String()),
            "data_quality_score": pl.Int64(),
        }
    ),
)
_RISK = Output(
    {
        "scenario": pl.String(),
        **_floats("potential_carbon_liability", "pcl_to_value", "average_annual_loss"),
    },
    pl.Struct(
        {
            "year": pl.Int64(),
            "scenarios": pl.List(
                pl.Struct(
                    {
                        "scenario": pl.String(),
                        "transition_risk": pl.Struct(
                            _floats("potential_carbon_liability", "pcl_to_value")
                        ),
                        "physical_risk": pl.Struct(_floats("average_annual_loss")),
                    }
                )
            ),
        }
    ),
    per_scenario=True,
)
_ALIGNMENT = Output(
    _floats("temperature_alignment"),
    pl.Struct({"year": pl.Int64(), "temperature_alignment": _F}),
)
_PROJECTIONS = Output(
    _floats(*(f"{scope}{suffix}" for scope in _SCOPES for suffix in ("", "_p5", "_p95"))),
    pl.Struct(
        {
            "year": pl.Int64(),
            "emissions": pl.Struct(_floats(*_SCOPES)),
            "p5": pl.Struct(_floats(*_SCOPES)),
            "p95": pl.Struct(_floats(*_SCOPES)),
        }
    ),
)
_RANKING = Output(
    _floats(*(f"{group}_{key}" for group in ("industry", "sector") for key in _PERCENTILES)),
    pl.Struct(
        {
            "year": pl.Int64(),
            "rankings": pl.Struct(
                {group: pl.Struct(_floats(*_PERCENTILES)) for group in ("industry", "sector")}
            ),
        }
    ),
)

OUTPUTS: Mapping[str, Output] = {
    "emissions-estimates": _ESTIMATES,
    "climate-risk": _RISK,
    "climate-risk-projections": _RISK,
    "temperature-alignment": _ALIGNMENT,
    "temperature-alignment-projections": _ALIGNMENT,
    "emissions-projections": _PROJECTIONS,
    "company-ranking": _RANKING,
}
"""The result rows of each analysis endpoint (hazards: see ``_hazards``)."""


def flatten(output: Output, items: pl.Expr) -> list[pl.Expr]:
    """Expressions for the result columns from ``items``, a struct of ``output.data``
    (endpoints with one row per item; climate risk is flattened by ``_decode``)."""
    columns: list[pl.Expr] = [items.struct.field("year").alias("year")]
    data = output.data
    assert isinstance(data, pl.Struct)
    fields = {field.name: field.dtype for field in data.fields}
    for name, dtype in fields.items():
        if name == "year":
            continue
        if name == "rankings":
            for group in ("industry", "sector"):
                for key in _PERCENTILES:
                    columns.append(
                        items.struct.field("rankings")
                        .struct.field(group)
                        .struct.field(key)
                        .alias(f"{group}_{key}")
                    )
        elif name in ("p5", "p95"):
            for scope in _SCOPES:
                columns.append(
                    items.struct.field(name).struct.field(scope).alias(f"{scope}_{name}")
                )
        elif isinstance(dtype, pl.Struct):
            for field in dtype.fields:
                columns.append(items.struct.field(name).struct.field(field.name).alias(field.name))
        elif isinstance(dtype, pl.List):  # absent or null: empty, as the models read it
            columns.append(items.struct.field(name).fill_null(pl.lit([], dtype=dtype)).alias(name))
        else:
            columns.append(items.struct.field(name).alias(name))
    return columns
