"""What ``emmi estimate`` knows of each analysis endpoint: its client method and options.

Entities and result rows are the table path's (:mod:`emmi_async.frames`): its input
columns, its result columns per endpoint (``OUTPUTS``) and its checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from emmi_async import AsyncEmmi
from emmi_async.models import ANALYSES, AnalysisSpec

__all__ = ["OPERATIONS", "Operation", "OperationOptions"]


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
    uses: frozenset[str] = frozenset()
    """Options this endpoint takes: ``scenario``, ``method``, ``projection_year``, ``target``."""

    @property
    def spec(self) -> AnalysisSpec[Any, Any]:
        return ANALYSES[self.name]


OPERATIONS: Mapping[str, Operation] = {
    op.name: op
    for op in (
        Operation("emissions-estimates", lambda client: client.emissions.estimate),
        Operation(
            "climate-risk",
            lambda client: client.climate_risk.assess,
            uses=frozenset({"scenario"}),
        ),
        Operation("temperature-alignment", lambda client: client.temperature_alignment.assess),
        Operation(
            "emissions-projections",
            lambda client: client.emissions.project,
            uses=frozenset({"method", "projection_year", "target"}),
        ),
        Operation(
            "climate-risk-projections",
            lambda client: client.climate_risk.project,
            uses=frozenset({"scenario"}),
        ),
        Operation(
            "temperature-alignment-projections",
            lambda client: client.temperature_alignment.project,
        ),
        Operation("company-ranking", lambda client: client.rankings.rank),
    )
}
"""Every operation ``--operation`` accepts, by endpoint name."""
