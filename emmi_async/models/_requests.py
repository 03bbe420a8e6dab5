"""Request entities: one class per analysis endpoint, all ``{"entity_info", "data", ...}``.

The classes only describe shapes; the rules of each endpoint (required fields, asset
types, year ranges) live in ``_rules`` and run through ``AnalysisSpec.problems``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from emmi_async.models._common import DataYear, Emissions, EntityInfo, extra_field

__all__ = [
    "ClimateRiskEntity",
    "ClimateRiskProjectionEntity",
    "CompanyRankingEntity",
    "EmissionsEstimateEntity",
    "EmissionsProjectionEntity",
    "ProjectedEmissions",
    "ReductionTarget",
    "TemperatureAlignmentEntity",
    "TemperatureAlignmentProjectionEntity",
]


@attrs.frozen(kw_only=True)
class _Entity:
    """Fields every analysis entity has."""

    entity_info: EntityInfo
    data: Sequence[DataYear]
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class EmissionsEstimateEntity(_Entity):
    """``POST /emissions-estimates``: financials per year, reported emissions optional."""


@attrs.frozen(kw_only=True)
class ClimateRiskEntity(_Entity):
    """``POST /climate-risk``: emissions per year; ``scenarios`` optional (service default)."""

    scenarios: Sequence[str] | None = None
    """Open scenario ids (see :class:`Scenario`); when given, at least one."""


@attrs.frozen(kw_only=True)
class TemperatureAlignmentEntity(_Entity):
    """``POST /temperature-alignment``: emissions and financials per year."""


@attrs.frozen(kw_only=True)
class ReductionTarget:
    """A reduction target for the glide-path method. Open: unknown keys in ``extra`` are sent.

    ``reduction`` is the fraction of ``baseline_year`` emissions removed by
    ``target_year`` (0.42 = 42 %). Only ``baseline_year`` is documented as required.
    """

    baseline_year: int
    target_year: int | None = None
    reduction: float | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class EmissionsProjectionEntity(_Entity):
    """``POST /emissions-projections`` (equity only).

    ``method`` is an open string (see :class:`ProjectionMethod`): ``"monte_carlo"`` needs
    3+ data years and ``projection_years``; ``"glide_path"`` needs ``targets`` and
    emissions for at least one year.
    """

    method: str
    projection_years: Sequence[int] | None = None
    targets: Sequence[ReductionTarget] | None = None


@attrs.frozen(kw_only=True)
class ProjectedEmissions:
    """One supplied future year: ``{"year", "emissions"}``."""

    year: int
    emissions: Emissions
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ClimateRiskProjectionEntity(_Entity):
    """``POST /climate-risk-projections`` (equity only): one baseline year in ``data``."""

    projections: Sequence[ProjectedEmissions]
    scenarios: Sequence[str]
    """Required here, at least one open scenario id."""


@attrs.frozen(kw_only=True)
class TemperatureAlignmentProjectionEntity(_Entity):
    """``POST /temperature-alignment-projections`` (equity only): one baseline year."""

    projected_emissions: Sequence[ProjectedEmissions]


@attrs.frozen(kw_only=True)
class CompanyRankingEntity(_Entity):
    """``POST /company-ranking`` (equity only): emissions and revenue per year."""
