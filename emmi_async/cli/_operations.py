"""What ``emmi estimate`` knows of each analysis endpoint: its client method, options and
result columns.

``emmi estimate`` runs on the table path (:mod:`emmi_async.frames`: its checks, its
result columns per endpoint). :attr:`Operation.rows` flattens a result *model* into the
same rows, one per entity-year (climate risk: one per entity-year-scenario): the tests
of the table path use it as the object path's reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from emmi_async import AsyncEmmi
from emmi_async.models import ANALYSES, AnalysisSpec
from emmi_async.resources._methods import analysis_method

__all__ = [
    "COMMON_COLUMNS",
    "OPERATIONS",
    "Operation",
    "OperationOptions",
    "Row",
]

Row = dict[str, Any]
ColumnType = Literal["str", "int", "float"]

COMMON_COLUMNS: tuple[tuple[str, ColumnType], ...] = (("identifier", "str"), ("year", "int"))
STATUS_COLUMNS: tuple[tuple[str, ColumnType], ...] = (("status", "str"), ("error", "str"))


@dataclass(frozen=True)
class OperationOptions:
    """The command-line options of an endpoint, for every entity."""

    scenarios: tuple[str, ...] = ()
    method: str | None = None
    projection_years: tuple[int, ...] = ()
    targets: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Operation:
    """One analysis endpoint as the CLI drives it."""

    name: str
    method: Callable[[AsyncEmmi], Callable[..., Any]]
    """The client's bound method, e.g. ``lambda c: c.emissions.estimate``."""
    columns: tuple[tuple[str, ColumnType], ...]
    """Result columns between ``identifier, year`` and ``status, error``."""
    rows: Callable[[Any], Iterator[Row]]
    """A result's output rows (without identifier, status and error)."""
    uses: frozenset[str] = frozenset()
    """Options this endpoint takes: ``scenario``, ``method``, ``projection_year``, ``target``."""
    projected_field: str | None = None
    """Where rows marked ``projected`` go (``None``: the endpoint takes none)."""

    @property
    def spec(self) -> AnalysisSpec[Any, Any]:
        return ANALYSES[self.name]

    @property
    def all_columns(self) -> tuple[tuple[str, ColumnType], ...]:
        return COMMON_COLUMNS + self.columns + STATUS_COLUMNS


def _get(obj: Any, *names: str) -> Any:
    for name in names:
        if obj is None:
            return None
        obj = getattr(obj, name, None)
    return obj


_ALL_EMISSIONS = (
    "scope1",
    "scope2",
    "scope3",
    "underlying_scope1",
    "underlying_scope2",
    "underlying_scope3",
)
_EQUITY_SCOPES = ("scope1", "scope2", "scope3")


def _estimate_rows(result: Any) -> Iterator[Row]:
    for year in result.data:
        row: Row = {"year": year.year}
        for key in _ALL_EMISSIONS:
            row[key] = _get(year.emissions, key)
        row["estimated"] = ";".join(year.estimated)
        row["data_quality_score"] = year.data_quality_score
        yield row


def _risk_rows(result: Any) -> Iterator[Row]:
    for year in result.data:
        if not year.scenarios:
            yield {"year": year.year}
        for risk in year.scenarios:
            yield {
                "year": year.year,
                "scenario": risk.scenario,
                "potential_carbon_liability": _get(
                    risk, "transition_risk", "potential_carbon_liability"
                ),
                "pcl_to_value": _get(risk, "transition_risk", "pcl_to_value"),
                "average_annual_loss": _get(risk, "physical_risk", "average_annual_loss"),
            }


def _alignment_rows(result: Any) -> Iterator[Row]:
    for year in result.data:
        yield {"year": year.year, "temperature_alignment": year.temperature_alignment}


def _projection_rows(result: Any) -> Iterator[Row]:
    for year in result.data:
        row: Row = {"year": year.year}
        for key in _EQUITY_SCOPES:
            row[key] = _get(year.emissions, key)
            row[f"{key}_p5"] = _get(year.p5, key)
            row[f"{key}_p95"] = _get(year.p95, key)
        yield row


_PERCENTILES = (
    "scope1_intensity_percentile",
    "scope1_2_intensity_percentile",
    "scope1_2_3_intensity_percentile",
)


def _ranking_rows(result: Any) -> Iterator[Row]:
    for year in result.data:
        row: Row = {"year": year.year}
        for group in ("industry", "sector"):
            for key in _PERCENTILES:
                row[f"{group}_{key}"] = _get(year.rankings, group, key)
        yield row


def _method(name: str) -> Callable[[AsyncEmmi], Callable[..., Any]]:
    return partial(analysis_method, name=name)


def _floats(*names: str) -> tuple[tuple[str, ColumnType], ...]:
    return tuple((name, "float") for name in names)


_RISK_COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("scenario", "str"),
    *_floats("potential_carbon_liability", "pcl_to_value", "average_annual_loss"),
)
_ALIGNMENT_COLUMNS = _floats("temperature_alignment")

OPERATIONS: Mapping[str, Operation] = {
    op.name: op
    for op in (
        Operation(
            "emissions-estimates",
            _method("emissions-estimates"),
            (*_floats(*_ALL_EMISSIONS), ("estimated", "str"), ("data_quality_score", "int")),
            _estimate_rows,
        ),
        Operation(
            "climate-risk",
            _method("climate-risk"),
            _RISK_COLUMNS,
            _risk_rows,
            uses=frozenset({"scenario"}),
        ),
        Operation(
            "temperature-alignment",
            _method("temperature-alignment"),
            _ALIGNMENT_COLUMNS,
            _alignment_rows,
        ),
        Operation(
            "emissions-projections",
            _method("emissions-projections"),
            _floats(
                *(f"{key}{suffix}" for key in _EQUITY_SCOPES for suffix in ("", "_p5", "_p95"))
            ),
            _projection_rows,
            uses=frozenset({"method", "projection_year", "target"}),
        ),
        Operation(
            "climate-risk-projections",
            _method("climate-risk-projections"),
            _RISK_COLUMNS,
            _risk_rows,
            uses=frozenset({"scenario"}),
            projected_field="projections",
        ),
        Operation(
            "temperature-alignment-projections",
            _method("temperature-alignment-projections"),
            _ALIGNMENT_COLUMNS,
            _alignment_rows,
            projected_field="projected_emissions",
        ),
        Operation(
            "company-ranking",
            _method("company-ranking"),
            _floats(
                *(f"{group}_{key}" for group in ("industry", "sector") for key in _PERCENTILES)
            ),
            _ranking_rows,
        ),
    )
}
"""Every operation ``--operation`` accepts, by endpoint name."""
