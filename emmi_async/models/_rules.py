"""The validation rules of each analysis endpoint, as one check function per entity class.

A check returns every problem of one entity (never raises for bad data) so that the batch
runner can fail that entity alone. Where the documentation is silent the rules stay
lenient: only what the API notes state, plus shape and range sanity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from emmi_async._exceptions import Problem
from emmi_async.models._checks import (
    Report,
    check_data,
    check_emissions,
    check_entity_info,
    check_scenarios,
    check_unknown,
    check_year,
    check_years,
    has_emissions,
    number_problem,
    sequence_problem,
)
from emmi_async.models._common import DataYear
from emmi_async.models._enums import AssetType, ProjectionMethod
from emmi_async.models._requests import (
    ClimateRiskEntity,
    ClimateRiskProjectionEntity,
    CompanyRankingEntity,
    EmissionsEstimateEntity,
    EmissionsProjectionEntity,
    ProjectedEmissions,
    ReductionTarget,
    TemperatureAlignmentEntity,
    TemperatureAlignmentProjectionEntity,
)

__all__ = ["RULES", "Check", "check_common"]

Check = Callable[[Any, int, str, bool], list[Problem]]
"""``check(entity, index, endpoint, equity_only) -> problems``."""

_MONTE_CARLO_MIN_YEARS = 3


def _report(entity: Any, index: int) -> Report:
    info = getattr(entity, "entity_info", None)
    identifier = getattr(info, "identifier", None)
    return Report(index, identifier if isinstance(identifier, str) else None)


def check_common(entity: Any, index: int, endpoint: str, equity_only: bool) -> list[Problem]:
    """Rules every analysis entity follows (entity_info, data years, unknown fields)."""
    report = _report(entity, index)
    asset = _start(entity, report, endpoint, equity_only)
    check_data(entity.data, report, asset, endpoint)
    return report.problems


def _start(entity: Any, report: Report, endpoint: str, equity_only: bool) -> AssetType | None:
    if entity.extra:
        check_unknown(entity.extra, "", report)
    return check_entity_info(entity.entity_info, report, endpoint, equity_only)


def _estimates(
    entity: EmissionsEstimateEntity, index: int, endpoint: str, eq: bool
) -> list[Problem]:
    report = _report(entity, index)
    asset = _start(entity, report, endpoint, eq)
    check_data(entity.data, report, asset, endpoint, need_financials=True)
    return report.problems


def _climate_risk(entity: ClimateRiskEntity, index: int, endpoint: str, eq: bool) -> list[Problem]:
    report = _report(entity, index)
    asset = _start(entity, report, endpoint, eq)
    check_data(entity.data, report, asset, endpoint, need_emissions=True)
    check_scenarios(entity.scenarios, report, required=False)
    return report.problems


def _alignment(
    entity: TemperatureAlignmentEntity, index: int, endpoint: str, eq: bool
) -> list[Problem]:
    report = _report(entity, index)
    asset = _start(entity, report, endpoint, eq)
    check_data(entity.data, report, asset, endpoint, need_emissions=True, need_financials=True)
    return report.problems


def _ranking(entity: CompanyRankingEntity, index: int, endpoint: str, eq: bool) -> list[Problem]:
    report = _report(entity, index)
    asset = _start(entity, report, endpoint, eq)
    check_data(
        entity.data,
        report,
        asset,
        endpoint,
        need_emissions=True,
        need_financials=True,
        need_revenue=True,
    )
    return report.problems


def _check_int_list(value: Any, field: str, report: Report) -> list[int]:
    problem = sequence_problem(value, "years")
    if problem is not None:
        report.add(field, problem)
        return []
    return check_years(((f"{field}[{i}]", year) for i, year in enumerate(value)), report)


def _check_order(baseline_year: int, target_year: int, field: str, report: Report) -> None:
    if target_year <= baseline_year:
        report.add(field, f"must be after baseline_year {baseline_year}, got {target_year}")


def _check_targets(value: Any, report: Report) -> None:
    """Check each reduction target: years in range and in order, reduction a fraction."""
    problem = sequence_problem(value, "reduction targets")
    if problem is not None:
        report.add("targets", problem)
        return
    for position, target in enumerate(value):
        path = f"targets[{position}]"
        if not isinstance(target, ReductionTarget):
            report.add(path, f"expected ReductionTarget, got {type(target).__name__}")
            continue
        baseline_ok = check_year(target.baseline_year, f"{path}.baseline_year", report)
        target_year = target.target_year
        target_ok = target_year is not None and check_year(
            target_year, f"{path}.target_year", report
        )
        if target_ok and baseline_ok and target_year is not None:
            _check_order(target.baseline_year, target_year, f"{path}.target_year", report)
        if target.reduction is not None:
            problem = number_problem(target.reduction)
            if problem is None and target.reduction > 1:
                problem = f"is a fraction of baseline emissions, 0 to 1, got {target.reduction}"
            if problem is not None:
                report.add(f"{path}.reduction", problem)


def _projection(
    entity: EmissionsProjectionEntity, index: int, endpoint: str, eq: bool
) -> list[Problem]:
    report = _report(entity, index)
    asset = _start(entity, report, endpoint, eq)
    items = check_data(entity.data, report, asset, endpoint)
    method = entity.method
    if not isinstance(method, str) or not method:
        report.add("method", "required: a projection method such as 'monte_carlo'")
    if entity.projection_years is not None:
        _check_int_list(entity.projection_years, "projection_years", report)
    if method == ProjectionMethod.MONTE_CARLO:
        if len(items) < _MONTE_CARLO_MIN_YEARS:
            report.add(
                "data",
                f"monte_carlo needs at least {_MONTE_CARLO_MIN_YEARS} years of history, "
                f"got {len(items)}",
            )
        wanted = entity.projection_years
        if wanted is None or (sequence_problem(wanted, "") is None and not wanted):
            report.add("projection_years", "monte_carlo needs at least one projection year")
    elif method == ProjectionMethod.GLIDE_PATH:
        if not entity.targets:
            report.add("targets", "glide_path needs at least one reduction target")
        if not any(has_emissions(item.emissions) for item in items):
            report.add("data", "glide_path needs emissions for at least one year")
    if entity.targets is not None:
        _check_targets(entity.targets, report)
    return report.problems


def _baseline(items: Sequence[DataYear], report: Report, endpoint: str) -> int | None:
    """The one baseline year, or ``None`` after reporting why there is not exactly one."""
    if len(items) != 1:
        if items:
            report.add("data", f"{endpoint} needs exactly one baseline year, got {len(items)}")
        return None
    year = items[0].year
    return year if type(year) is int else None


def _check_projected(
    value: Any,
    field: str,
    report: Report,
    asset: AssetType | None,
    baseline: int | None,
) -> None:
    problem = sequence_problem(value, "projected years")
    if problem is not None:
        report.add(field, problem)
        return
    if not value:
        report.add(field, "must hold at least one projected year")
        return
    years: list[tuple[str, Any]] = []
    for position, item in enumerate(value):
        path = f"{field}[{position}]"
        if not isinstance(item, ProjectedEmissions):
            report.add(path, f"expected ProjectedEmissions, got {type(item).__name__}")
            continue
        years.append((f"{path}.year", item.year))
        emissions: Any = item.emissions  # instances are not type-checked at run time
        if emissions is None:
            report.add(f"{path}.emissions", "required")
        else:
            check_emissions(emissions, f"{path}.emissions", asset, report)
        if item.extra:
            check_unknown(item.extra, path, report)
    check_years(years, report)
    if baseline is not None:
        for path, year in years:
            if type(year) is int and year <= baseline:
                report.add(path, f"must be after the baseline year {baseline}, got {year}")


def _risk_projection(
    entity: ClimateRiskProjectionEntity, index: int, endpoint: str, eq: bool
) -> list[Problem]:
    report = _report(entity, index)
    asset = _start(entity, report, endpoint, eq)
    items = check_data(
        entity.data, report, asset, endpoint, need_emissions=True, need_financials=True
    )
    baseline = _baseline(items, report, endpoint)
    _check_projected(entity.projections, "projections", report, asset, baseline)
    check_scenarios(entity.scenarios, report, required=True)
    return report.problems


def _alignment_projection(
    entity: TemperatureAlignmentProjectionEntity, index: int, endpoint: str, eq: bool
) -> list[Problem]:
    report = _report(entity, index)
    asset = _start(entity, report, endpoint, eq)
    items = check_data(entity.data, report, asset, endpoint)
    baseline = _baseline(items, report, endpoint)
    _check_projected(entity.projected_emissions, "projected_emissions", report, asset, baseline)
    return report.problems


RULES: Mapping[type[Any], Check] = {
    EmissionsEstimateEntity: _estimates,
    ClimateRiskEntity: _climate_risk,
    TemperatureAlignmentEntity: _alignment,
    EmissionsProjectionEntity: _projection,
    ClimateRiskProjectionEntity: _risk_projection,
    TemperatureAlignmentProjectionEntity: _alignment_projection,
    CompanyRankingEntity: _ranking,
}
"""The check for each request entity class; other classes get :func:`check_common`."""
