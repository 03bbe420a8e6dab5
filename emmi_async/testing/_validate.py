"""The server's own validation of analysis request bodies (independent of the SDK's).

:func:`validate_entities` returns one problem per offending field, each naming the
entity by its index and the field by its path inside the entity (``data[0].year``), and
fills documented defaults in place (``scenarios`` of ``/climate-risk``). Unknown fields
are ignored, as a lenient service would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from emmi_async.testing._compute import (
    CARBON_PRICE,
    SCOPE_KEYS,
    glide_path_years,
    monte_carlo_scopes,
)

__all__ = ["DEFAULT_SCENARIOS", "EQUITY_ONLY", "Problem", "validate_entities"]

Problem = dict[str, Any]

EQUITY_ONLY = frozenset(
    {
        "/emissions-projections",
        "/climate-risk-projections",
        "/temperature-alignment-projections",
        "/company-ranking",
    }
)
DEFAULT_SCENARIOS = ("ipcc_net_zero", "ipcc_two_degree", "ipcc_four_degree")
"""Scenarios of ``/climate-risk`` when the entity names none."""

_INFO_STRINGS = (
    "identifier",
    "name",
    "country",
    "industry_classification_system",
    "industry",
    "sector",
)
_AMOUNTS = ("revenue", "total_assets", "ebitda", "total_debt")
# EBITDA is negative for loss-making companies; the other amounts cannot be.
_NON_NEGATIVE = frozenset({"revenue", "total_assets", "total_debt"})
_METHODS = ("monte_carlo", "glide_path")


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


class _Entity:
    """Collects the problems of the entity at ``index``."""

    def __init__(self, index: int, problems: list[Problem]) -> None:
        self.index = index
        self.problems = problems
        self.count = 0

    def add(self, field: str, message: str) -> None:
        self.problems.append({"index": self.index, "field": field, "message": message})
        self.count += 1


def validate_entities(endpoint: str, entities: Sequence[Any]) -> list[Problem]:
    """Every problem of ``entities`` for ``endpoint`` (``[]`` when all are valid)."""
    problems: list[Problem] = []
    for index, entity in enumerate(entities):
        check = _Entity(index, problems)
        if not isinstance(entity, dict):
            check.add("", "must be an object")
            continue
        asset_type = _check_info(entity, check, endpoint)
        before = check.count
        _check_data(entity, check, asset_type)
        if check.count == before and asset_type is not None:
            _ENDPOINT_CHECKS[endpoint](entity, check, SCOPE_KEYS[asset_type])
    return problems


# common parts --------------------------------------------------------------------------
def _check_info(entity: Mapping[str, Any], check: _Entity, endpoint: str) -> str | None:
    info = entity.get("entity_info")
    if not isinstance(info, dict):
        check.add("entity_info", "is required and must be an object")
        return None
    for name in _INFO_STRINGS:
        if info.get(name) is not None and not isinstance(info[name], str):
            check.add(f"entity_info.{name}", "must be a string")
    asset_type = info.get("asset_type")
    if asset_type not in SCOPE_KEYS:
        check.add("entity_info.asset_type", "must be one of: " + ", ".join(SCOPE_KEYS))
        return None
    if endpoint in EQUITY_ONLY and asset_type != "equity":
        check.add("entity_info.asset_type", f"{endpoint} accepts equity only")
        return None
    return str(asset_type)


def _check_emissions(value: Any, field: str, check: _Entity, keys: Sequence[str]) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        check.add(field, "must be an object")
        return
    for key, amount in value.items():
        if key not in keys:
            check.add(
                f"{field}.{key}", "not accepted for this asset type (takes " + ", ".join(keys) + ")"
            )
        elif amount is not None and not _is_number(amount):
            check.add(f"{field}.{key}", "must be a number")
        elif amount is not None and amount < 0:
            check.add(f"{field}.{key}", "must not be negative")


def _check_financials(value: Any, field: str, check: _Entity) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        check.add(field, "must be an object")
        return
    currency = value.get("currency")
    if currency is not None and not (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isalpha()
        and currency.isupper()
    ):
        check.add(f"{field}.currency", "must be an ISO 4217 code such as USD")
    for name in _AMOUNTS:
        amount = value.get(name)
        if amount is None:
            continue
        if not _is_number(amount):
            check.add(f"{field}.{name}", "must be a number")
        elif amount < 0 and name in _NON_NEGATIVE:
            check.add(f"{field}.{name}", "must not be negative")


def _check_year(value: object, field: str, check: _Entity) -> TypeGuard[int]:
    if not _is_int(value):
        check.add(field, "is required and must be an integer")
        return False
    if not 1900 <= value <= 2100:
        check.add(field, "must lie between 1900 and 2100")
        return False
    return True


def _check_data(entity: Mapping[str, Any], check: _Entity, asset_type: str | None) -> None:
    data = entity.get("data")
    if not isinstance(data, list) or not data:
        check.add("data", "is required and must be a non-empty array")
        return
    keys = SCOPE_KEYS[asset_type] if asset_type else ()
    seen: set[int] = set()
    for position, item in enumerate(data):
        field = f"data[{position}]"
        if not isinstance(item, dict):
            check.add(field, "must be an object")
            continue
        year = item.get("year")
        if _check_year(year, f"{field}.year", check):
            if year in seen:
                check.add(f"{field}.year", f"duplicate year {year}")
            seen.add(year)
        if asset_type:
            _check_emissions(item.get("emissions"), f"{field}.emissions", check, keys)
        _check_financials(item.get("financials"), f"{field}.financials", check)


def _has_scope(emissions: Any) -> bool:
    return isinstance(emissions, dict) and any(v is not None for v in emissions.values())


def _has_base(financials: Any) -> bool:
    if not isinstance(financials, dict):
        return False
    return any((financials.get(name) or 0) > 0 for name in ("revenue", "total_assets"))


def _check_scenarios(entity: dict[str, Any], check: _Entity, *, required: bool) -> None:
    scenarios = entity.get("scenarios")
    if scenarios is None and not required:
        entity["scenarios"] = list(DEFAULT_SCENARIOS)
        return
    if not isinstance(scenarios, list) or not scenarios:
        check.add("scenarios", "is required and must be a non-empty array of scenario ids")
        return
    for position, scenario in enumerate(scenarios):
        if scenario not in CARBON_PRICE:
            check.add(f"scenarios[{position}]", f"unknown scenario {scenario!r}")


def _check_future(
    entity: Mapping[str, Any], name: str, check: _Entity, keys: Sequence[str], after: int
) -> None:
    items = entity.get(name)
    if not isinstance(items, list) or not items:
        check.add(name, "is required and must hold at least one future year")
        return
    for position, item in enumerate(items):
        field = f"{name}[{position}]"
        if not isinstance(item, dict):
            check.add(field, "must be an object")
            continue
        year = item.get("year")
        if _check_year(year, f"{field}.year", check) and year <= after:
            check.add(f"{field}.year", f"must come after the baseline year {after}")
        emissions = item.get("emissions")
        _check_emissions(emissions, f"{field}.emissions", check, keys)
        if not _has_scope(emissions):
            check.add(f"{field}.emissions", "is required with at least one scope")


def _check_baseline(entity: Mapping[str, Any], check: _Entity) -> int | None:
    data = entity["data"]
    if len(data) != 1:
        check.add("data", "must hold exactly one baseline year")
        return None
    if not _has_scope(data[0].get("emissions")):
        check.add("data[0].emissions", "is required with at least one scope")
    if not _has_base(data[0].get("financials")):
        check.add("data[0].financials", "is required with a positive revenue or total_assets")
    return int(data[0]["year"])


# endpoint rules ------------------------------------------------------------------------
def _estimates(entity: dict[str, Any], check: _Entity, keys: Sequence[str]) -> None:
    for position, item in enumerate(entity["data"]):
        emissions = item.get("emissions") or {}
        complete = all(emissions.get(key) is not None for key in keys)
        financials = item.get("financials") or {}
        if (
            not complete
            and financials.get("revenue") is None
            and financials.get("total_assets") is None
        ):
            check.add(
                f"data[{position}].financials",
                "revenue or total_assets is required to estimate unreported scopes",
            )


def _climate_risk(entity: dict[str, Any], check: _Entity, keys: Sequence[str]) -> None:
    for position, item in enumerate(entity["data"]):
        if not _has_scope(item.get("emissions")):
            check.add(f"data[{position}].emissions", "is required with at least one scope")
    _check_scenarios(entity, check, required=False)


def _temperature_alignment(entity: dict[str, Any], check: _Entity, keys: Sequence[str]) -> None:
    for position, item in enumerate(entity["data"]):
        if not _has_scope(item.get("emissions")):
            check.add(f"data[{position}].emissions", "is required with at least one scope")
        if not _has_base(item.get("financials")):
            check.add(
                f"data[{position}].financials",
                "is required with a positive revenue or total_assets",
            )


def _check_projection_years(entity: Mapping[str, Any], check: _Entity, *, required: bool) -> bool:
    years = entity.get("projection_years")
    if years is None and not required:
        return True
    if not isinstance(years, list) or not years:
        check.add("projection_years", "is required and must hold at least one year")
        return False
    last = max(item["year"] for item in entity["data"])
    for position, year in enumerate(years):
        field = f"projection_years[{position}]"
        if _check_year(year, field, check) and year <= last:
            check.add(field, f"must come after the last data year {last}")
    return True


def _projections(entity: dict[str, Any], check: _Entity, keys: Sequence[str]) -> None:
    method = entity.get("method")
    if method not in _METHODS:
        check.add("method", "must be one of: " + ", ".join(_METHODS))
        return
    if method == "monte_carlo":
        _check_projection_years(entity, check, required=True)
        if not monte_carlo_scopes(entity):
            check.add("data", "monte_carlo needs at least 3 historical years of a scope")
        return
    before = check.count
    _check_targets(entity, check, keys)
    if not any(_has_scope(item.get("emissions")) for item in entity["data"]):
        check.add("data", "the glide path needs emissions for at least one year")
    if not _check_projection_years(entity, check, required=False) or check.count > before:
        return
    if not glide_path_years(entity):
        check.add("projection_years", "at least one year after the last data year is required")


def _check_targets(entity: Mapping[str, Any], check: _Entity, keys: Sequence[str]) -> None:
    targets = entity.get("targets")
    if not isinstance(targets, list) or not targets:
        check.add("targets", "the glide path needs at least one reduction target")
        return
    for position, target in enumerate(targets):
        field = f"targets[{position}]"
        if not isinstance(target, dict):
            check.add(field, "must be an object")
            continue
        ok = _check_year(target.get("baseline_year"), f"{field}.baseline_year", check)
        ok = _check_year(target.get("target_year"), f"{field}.target_year", check) and ok
        if ok and target["target_year"] <= target["baseline_year"]:
            check.add(f"{field}.target_year", "must come after baseline_year")
        reduction = target.get("reduction")
        if not _is_number(reduction) or not 0 < reduction <= 1:
            check.add(f"{field}.reduction", "is required, a fraction in (0, 1]")
        scopes = target.get("scopes")
        if scopes is not None and (
            not isinstance(scopes, list) or any(scope not in keys for scope in scopes)
        ):
            check.add(f"{field}.scopes", "must be a list of: " + ", ".join(keys))


def _risk_projections(entity: dict[str, Any], check: _Entity, keys: Sequence[str]) -> None:
    baseline = _check_baseline(entity, check)
    if baseline is not None:
        _check_future(entity, "projections", check, keys, baseline)
    _check_scenarios(entity, check, required=True)


def _alignment_projections(entity: dict[str, Any], check: _Entity, keys: Sequence[str]) -> None:
    baseline = _check_baseline(entity, check)
    if baseline is not None:
        _check_future(entity, "projected_emissions", check, keys, baseline)


def _ranking(entity: dict[str, Any], check: _Entity, keys: Sequence[str]) -> None:
    for position, item in enumerate(entity["data"]):
        if not _has_scope(item.get("emissions")):
            check.add(f"data[{position}].emissions", "is required with at least one scope")
        revenue = (item.get("financials") or {}).get("revenue")
        if not revenue:
            check.add(f"data[{position}].financials.revenue", "is required and must be positive")


_ENDPOINT_CHECKS = {
    "/emissions-estimates": _estimates,
    "/climate-risk": _climate_risk,
    "/temperature-alignment": _temperature_alignment,
    "/emissions-projections": _projections,
    "/climate-risk-projections": _risk_projections,
    "/temperature-alignment-projections": _alignment_projections,
    "/company-ranking": _ranking,
}
