"""Analysis results: ``{"results": [{"entity_info", "data": [...]}]}``, one per entity.

The shapes follow part B of the API notes (the reference server's contract). Parsing is
lenient: ``year`` and each item's main value are required, everything else is optional
(a ``null`` reads as the field's default: ``"estimated": null`` is ``()``), and unknown
keys land in ``extra``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from emmi_async.models._common import Emissions, EntityInfo, extra_field

__all__ = [
    "ClimateRiskProjectionResult",
    "ClimateRiskResult",
    "ClimateRiskYear",
    "CompanyRankingResult",
    "CompanyRankingYear",
    "EmissionsEstimateResult",
    "EmissionsEstimateYear",
    "EmissionsProjectionResult",
    "EmissionsProjectionYear",
    "IntensityPercentiles",
    "PhysicalRisk",
    "Rankings",
    "ScenarioRisk",
    "TemperatureAlignmentProjectionResult",
    "TemperatureAlignmentResult",
    "TemperatureAlignmentYear",
    "TransitionRisk",
]


@attrs.frozen(kw_only=True)
class EmissionsEstimateYear:
    """Estimated emissions of one year; ``estimated`` names the scopes the service filled in."""

    year: int
    emissions: Emissions
    estimated: Sequence[str] = ()
    data_quality_score: int | None = None
    """PCAF data quality score, 1 (best) to 5."""
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class EmissionsEstimateResult:
    """Result of ``/emissions-estimates`` for one entity."""

    entity_info: EntityInfo | None = None
    data: Sequence[EmissionsEstimateYear]
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TransitionRisk:
    """Transition risk: potential carbon liability and its ratio to the entity's value."""

    potential_carbon_liability: float | None = None
    pcl_to_value: float | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class PhysicalRisk:
    """Physical risk: average annual loss."""

    average_annual_loss: float | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ScenarioRisk:
    """Risk of one year under one scenario (an open scenario id)."""

    scenario: str
    transition_risk: TransitionRisk | None = None
    physical_risk: PhysicalRisk | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ClimateRiskYear:
    """Climate risk of one year, per scenario."""

    year: int
    scenarios: Sequence[ScenarioRisk]
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ClimateRiskResult:
    """Result of ``/climate-risk`` for one entity: risk of each data year."""

    entity_info: EntityInfo | None = None
    data: Sequence[ClimateRiskYear]
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class ClimateRiskProjectionResult:
    """Result of ``/climate-risk-projections`` for one entity: risk of each projected year."""

    entity_info: EntityInfo | None = None
    data: Sequence[ClimateRiskYear]
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TemperatureAlignmentYear:
    """Implied temperature alignment of one year, in degrees C (e.g. 1.8)."""

    year: int
    temperature_alignment: float
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TemperatureAlignmentResult:
    """Result of ``/temperature-alignment`` for one entity: one item per data year."""

    entity_info: EntityInfo | None = None
    data: Sequence[TemperatureAlignmentYear]
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class TemperatureAlignmentProjectionResult:
    """Result of ``/temperature-alignment-projections``: the projected years only."""

    entity_info: EntityInfo | None = None
    data: Sequence[TemperatureAlignmentYear]
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class EmissionsProjectionYear:
    """Projected emissions of one year; ``p5``/``p95`` bands come with monte_carlo only."""

    year: int
    emissions: Emissions
    p5: Emissions | None = None
    p95: Emissions | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class EmissionsProjectionResult:
    """Result of ``/emissions-projections`` for one entity."""

    entity_info: EntityInfo | None = None
    data: Sequence[EmissionsProjectionYear]
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class IntensityPercentiles:
    """Percentiles (0 to 100) of emissions intensity within a peer group."""

    scope1_intensity_percentile: float | None = None
    scope1_2_intensity_percentile: float | None = None
    scope1_2_3_intensity_percentile: float | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Rankings:
    """Percentiles within the entity's industry and within its sector."""

    industry: IntensityPercentiles | None = None
    sector: IntensityPercentiles | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CompanyRankingYear:
    """Rankings of one year."""

    year: int
    rankings: Rankings
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class CompanyRankingResult:
    """Result of ``/company-ranking`` for one entity."""

    entity_info: EntityInfo | None = None
    data: Sequence[CompanyRankingYear]
    extra: Mapping[str, Any] = extra_field()
