"""The reference server's deterministic formulas (stand-ins, not climate science).

Inputs have passed ``_validate``. Amounts are absolute; "per million" means per 1,000,000
units of the entity's currency (the currency itself is ignored). Missing scopes count 0
wherever scopes are summed. Scope keys are ``scope1..3`` for equity, ``scope1..2`` for
infrastructure and property, ``underlying_scope1..3`` for debt.

``base`` of a year is ``financials.revenue``, else ``financials.total_assets``.
``value`` of a year is ``financials.total_assets``, else ``revenue`` (``None`` when neither
is positive). ``S = SECTOR_INTENSITY[lower(sector)]`` (tCO2e per million, per scope;
``"default"`` for unknown sectors), e.g. energy ``(600, 60, 2400)``.

- **emissions-estimates**: a reported scope is returned as given (as a float) and not
  listed in ``estimated``. A missing scope k is ``round(base * I_k / 1e6, 2)`` where
  ``I_k`` is the mean of the entity's own intensities for k (reported / base * 1e6 over its
  other years with base > 0), or ``S_k`` when it reported k in no year.
  ``data_quality_score``: 1 all scopes reported; 2 some reported; 3 estimated from the
  entity's own intensity; 4 from the sector table on revenue; 5 on total assets.
- **climate-risk** (one item per data year) and **climate-risk-projections** (one per
  projection, ``value`` from the baseline year): per scenario,
  ``potential_carbon_liability = round((s1 + s2) * CARBON_PRICE[scenario], 2)``,
  ``pcl_to_value = round(pcl / value, 6)``, ``average_annual_loss =
  round(value * PHYSICAL_LOSS_RATE[scenario], 2)`` (both ``None`` without ``value``).
- **temperature-alignment** (per year) and **temperature-alignment-projections** (per
  projected year, ``base`` from the baseline year):
  ``round(min(6.0, 1.2 + 0.8 * ((s1 + s2) / base * 1e6) / (S_1 + S_2)), 2)``, so a
  sector-average emitter is aligned to 2.0 degrees C.
- **emissions-projections**, ``monte_carlo``: for each scope reported in at least 3 years,
  from its first (y0, v0) and last (yn, vn) reported years, ``g = (vn / v0) ** (1 / (yn -
  y0)) - 1`` (0 when v0 or vn is 0), ``E(y) = round(vn * (1 + g) ** (y - yn), 2)``,
  ``p5 / p95 = round(E * (1 -/+ 0.1 * sqrt(y - yn)), 2)`` (p5 at least 0).
  ``glide_path``: per scope, knots ``(B, E_B)`` for the earliest target (B its
  ``baseline_year``, E_B the scope in the data year closest to B, ties to the earlier)
  then ``(target_year, E_{B_t} * (1 - reduction))`` per target in target-year order;
  ``E(y)`` interpolates linearly between knots, flat outside them, rounded to 2. Years
  are ``projection_years``, else every year after the last data year up to the last
  target year.
- **company-ranking**: per year and combination c in (1, 1+2, 1+2+3),
  ``r = (sum of scopes in c / revenue * 1e6) / (sum of S over c)`` and the sector
  percentile is ``round(100 * r / (1 + r), 1)`` (50.0 at the sector average); the
  industry percentile is the same with the benchmark multiplied by
  ``INDUSTRY_FACTOR[lower(industry)]`` (default 1.0).
- **hazard-risk**: ``f = (1 + 0.5 * (90 - |lat|) / 90) * (0.75 + 0.25 * |sin(lon deg)|)``;
  per hazard h and scenario s, ``intensity = round(HAZARD[h].intensity * m_s * f, 4)``,
  ``probability = round(min(1, HAZARD[h].probability * m_s * f), 4)``, with
  ``m_s, year`` = baseline (1.0, 2020), rcp2p6 (1.1, 2050), rcp4p5 (1.25, 2050),
  rcp8p5 (1.5, 2050).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "CARBON_PRICE",
    "COMPUTERS",
    "HAZARDS",
    "HAZARD_SCENARIOS",
    "INDUSTRY_FACTOR",
    "PHYSICAL_LOSS_RATE",
    "SCOPE_KEYS",
    "SECTOR_INTENSITY",
    "hazard_risk",
]

Entity = Mapping[str, Any]
Result = dict[str, Any]

SCOPE_KEYS: Mapping[str, tuple[str, ...]] = {
    "equity": ("scope1", "scope2", "scope3"),
    "debt": ("underlying_scope1", "underlying_scope2", "underlying_scope3"),
    "infrastructure": ("scope1", "scope2"),
    "property": ("scope1", "scope2"),
}
"""Emission keys each asset type takes, in scope order."""

SECTOR_INTENSITY: Mapping[str, tuple[float, float, float]] = {
    "energy": (600.0, 60.0, 2400.0),
    "utilities": (1500.0, 30.0, 300.0),
    "materials": (700.0, 150.0, 900.0),
    "industrials": (120.0, 40.0, 600.0),
    "consumer discretionary": (40.0, 25.0, 400.0),
    "consumer staples": (60.0, 30.0, 700.0),
    "health care": (20.0, 15.0, 150.0),
    "financials": (5.0, 5.0, 50.0),
    "information technology": (10.0, 25.0, 150.0),
    "communication services": (10.0, 30.0, 120.0),
    "real estate": (50.0, 80.0, 100.0),
    "default": (100.0, 50.0, 300.0),
}
"""tCO2e per million of revenue, per scope (1, 2, 3), by lower-cased sector."""

INDUSTRY_FACTOR: Mapping[str, float] = {
    "oil & gas": 1.5,
    "integrated oil": 1.5,
    "electric utilities": 1.2,
    "steel": 1.4,
    "semiconductors": 1.3,
    "software": 0.5,
    "banks": 0.8,
}
"""Industry benchmark = sector benchmark times this (default 1.0), by lower-cased industry."""

CARBON_PRICE: Mapping[str, float] = {
    "ipcc_net_zero": 250.0,
    "ipcc_two_degree": 150.0,
    "ipcc_four_degree": 25.0,
    "ngfs_net_zero": 240.0,
    "ngfs_below_two_degree": 140.0,
    "ngfs_below_2_degrees": 140.0,
    "ngfs_divergent_net_zero": 300.0,
    "ngfs_delayed_transition": 180.0,
    "ngfs_ndcs": 60.0,
    "ngfs_current_policies": 20.0,
}
"""Carbon price per tonne by scenario; its keys are the scenario ids the server knows."""

PHYSICAL_LOSS_RATE: Mapping[str, float] = {
    "ipcc_net_zero": 0.001,
    "ipcc_two_degree": 0.0015,
    "ipcc_four_degree": 0.004,
    "ngfs_net_zero": 0.001,
    "ngfs_below_two_degree": 0.0014,
    "ngfs_below_2_degrees": 0.0014,
    "ngfs_divergent_net_zero": 0.0011,
    "ngfs_delayed_transition": 0.0018,
    "ngfs_ndcs": 0.003,
    "ngfs_current_policies": 0.0045,
}
"""Average annual loss as a fraction of value, by scenario."""

HAZARDS: Mapping[str, tuple[float, float]] = {
    "cyclone": (50.0, 0.02),
    "wildfire": (0.3, 0.05),
    "fluvial_flood": (1.2, 0.01),
    "coastal_flood": (0.8, 0.005),
}
"""Base (intensity, probability) per hazard."""

HAZARD_SCENARIOS: Mapping[str, tuple[float, int]] = {
    "baseline": (1.0, 2020),
    "rcp2p6": (1.1, 2050),
    "rcp4p5": (1.25, 2050),
    "rcp8p5": (1.5, 2050),
}
"""(multiplier, year) per warming scenario."""


# helpers -------------------------------------------------------------------------------
def _info(entity: Entity) -> dict[str, Any]:
    return {k: v for k, v in entity["entity_info"].items() if k != "identifier"}


def _sector(entity: Entity) -> tuple[float, float, float]:
    sector = entity["entity_info"].get("sector")
    key = sector.lower() if isinstance(sector, str) else "default"
    return SECTOR_INTENSITY.get(key, SECTOR_INTENSITY["default"])


def _industry_factor(entity: Entity) -> float:
    industry = entity["entity_info"].get("industry")
    return INDUSTRY_FACTOR.get(industry.lower(), 1.0) if isinstance(industry, str) else 1.0


def _scopes(entity: Entity) -> tuple[str, ...]:
    return SCOPE_KEYS[entity["entity_info"]["asset_type"]]


def _amount(financials: Mapping[str, Any] | None, name: str) -> float | None:
    value = financials.get(name) if financials else None
    return float(value) if value is not None else None


def _base(financials: Mapping[str, Any] | None) -> float | None:
    revenue = _amount(financials, "revenue")
    return revenue if revenue is not None else _amount(financials, "total_assets")


def _value(financials: Mapping[str, Any] | None) -> float | None:
    for name in ("total_assets", "revenue"):
        amount = _amount(financials, name)
        if amount:
            return amount
    return None


def _scope_sum(emissions: Mapping[str, Any] | None, keys: Sequence[str]) -> float:
    if not emissions:
        return 0.0
    return float(sum(emissions.get(k) or 0 for k in keys))


def _reported(emissions: Mapping[str, Any] | None, key: str) -> float | None:
    value = emissions.get(key) if emissions else None
    return float(value) if value is not None else None


def _alignment(s12: float, base: float, sector: tuple[float, float, float]) -> float:
    intensity = s12 / base * 1e6 if base else 0.0
    return round(min(6.0, 1.2 + 0.8 * intensity / (sector[0] + sector[1])), 2)


def _risk(
    emissions: Mapping[str, Any] | None, keys: Sequence[str], value: float | None, scenarios: Any
) -> list[dict[str, Any]]:
    s12 = _scope_sum(emissions, keys[:2])
    items = []
    for scenario in scenarios:
        pcl = round(s12 * CARBON_PRICE[scenario], 2)
        items.append(
            {
                "scenario": scenario,
                "transition_risk": {
                    "potential_carbon_liability": pcl,
                    "pcl_to_value": round(pcl / value, 6) if value else None,
                },
                "physical_risk": {
                    "average_annual_loss": (
                        round(value * PHYSICAL_LOSS_RATE[scenario], 2) if value else None
                    ),
                },
            }
        )
    return items


# endpoints -----------------------------------------------------------------------------
def emissions_estimates(entity: Entity) -> Result:
    keys = _scopes(entity)
    sector = _sector(entity)
    years = entity["data"]
    own: dict[str, float | None] = {}
    for key in keys:
        ratios = [
            reported / base * 1e6
            for item in years
            if (reported := _reported(item.get("emissions"), key)) is not None
            and (base := _base(item.get("financials")) or 0.0) > 0
        ]
        own[key] = sum(ratios) / len(ratios) if ratios else None
    data = []
    for item in years:
        emissions_in = item.get("emissions")
        financials = item.get("financials")
        base = _base(financials) or 0.0
        out: dict[str, float] = {}
        estimated: list[str] = []
        used_own = False
        for position, key in enumerate(keys):
            reported = _reported(emissions_in, key)
            if reported is not None:
                out[key] = reported
                continue
            intensity = own[key]
            if intensity is None:
                intensity = sector[position]
            else:
                used_own = True
            out[key] = round(base * intensity / 1e6, 2)
            estimated.append(key)
        if not estimated:
            score = 1
        elif len(estimated) < len(keys):
            score = 2
        elif used_own:
            score = 3
        else:
            score = 4 if _amount(financials, "revenue") is not None else 5
        data.append(
            {
                "year": item["year"],
                "emissions": out,
                "estimated": estimated,
                "data_quality_score": score,
            }
        )
    return {"entity_info": _info(entity), "data": data}


def climate_risk(entity: Entity) -> Result:
    keys = _scopes(entity)
    scenarios = entity["scenarios"]
    data = [
        {
            "year": item["year"],
            "scenarios": _risk(
                item.get("emissions"), keys, _value(item.get("financials")), scenarios
            ),
        }
        for item in entity["data"]
    ]
    return {"entity_info": _info(entity), "data": data}


def climate_risk_projections(entity: Entity) -> Result:
    keys = _scopes(entity)
    value = _value(entity["data"][0].get("financials"))
    data = [
        {
            "year": item["year"],
            "scenarios": _risk(item.get("emissions"), keys, value, entity["scenarios"]),
        }
        for item in entity["projections"]
    ]
    return {"entity_info": _info(entity), "data": data}


def temperature_alignment(entity: Entity) -> Result:
    keys = _scopes(entity)
    sector = _sector(entity)
    data = [
        {
            "year": item["year"],
            "temperature_alignment": _alignment(
                _scope_sum(item.get("emissions"), keys[:2]),
                _base(item.get("financials")) or 0.0,
                sector,
            ),
        }
        for item in entity["data"]
    ]
    return {"entity_info": _info(entity), "data": data}


def temperature_alignment_projections(entity: Entity) -> Result:
    keys = _scopes(entity)
    sector = _sector(entity)
    base = _base(entity["data"][0].get("financials")) or 0.0
    data = [
        {
            "year": item["year"],
            "temperature_alignment": _alignment(
                _scope_sum(item.get("emissions"), keys[:2]), base, sector
            ),
        }
        for item in entity["projected_emissions"]
    ]
    return {"entity_info": _info(entity), "data": data}


def _history(entity: Entity, key: str) -> list[tuple[int, float]]:
    points = [
        (item["year"], value)
        for item in entity["data"]
        if (value := _reported(item.get("emissions"), key)) is not None
    ]
    return sorted(points)


def monte_carlo_scopes(entity: Entity) -> list[str]:
    """Scopes reported in at least three data years (the ones ``monte_carlo`` projects)."""
    return [key for key in _scopes(entity) if len(_history(entity, key)) >= 3]


def _monte_carlo(entity: Entity) -> list[dict[str, Any]]:
    growth: dict[str, tuple[int, float, float]] = {}
    for key in monte_carlo_scopes(entity):
        history = _history(entity, key)
        (y0, v0), (yn, vn) = history[0], history[-1]
        g = (vn / v0) ** (1 / (yn - y0)) - 1 if v0 > 0 and vn > 0 else 0.0
        growth[key] = (yn, vn, g)
    data = []
    for year in entity["projection_years"]:
        mid: dict[str, float] = {}
        low: dict[str, float] = {}
        high: dict[str, float] = {}
        for key, (yn, vn, g) in growth.items():
            horizon = max(0, year - yn)
            expected = round(vn * (1 + g) ** horizon, 2)
            spread = 0.1 * math.sqrt(horizon)
            mid[key] = expected
            low[key] = round(max(0.0, expected * (1 - spread)), 2)
            high[key] = round(expected * (1 + spread), 2)
        data.append({"year": year, "emissions": mid, "p5": low, "p95": high})
    return data


def closest_data_year(entity: Entity, baseline_year: int) -> Mapping[str, Any]:
    """The data item with emissions whose year is closest to ``baseline_year``."""
    candidates = [item for item in entity["data"] if item.get("emissions")]
    return min(candidates, key=lambda item: (abs(item["year"] - baseline_year), item["year"]))


def glide_path_years(entity: Entity) -> list[int]:
    """The years a glide-path projection covers."""
    years = entity.get("projection_years")
    if years:
        return list(years)
    last = max(item["year"] for item in entity["data"])
    end = max(target["target_year"] for target in entity["targets"])
    return list(range(last + 1, end + 1))


def _glide_path(entity: Entity) -> list[dict[str, Any]]:
    targets = sorted(entity["targets"], key=lambda t: t["target_year"])
    knots: dict[str, list[tuple[int, float]]] = {}
    for target in targets:
        baseline = closest_data_year(entity, target["baseline_year"])["emissions"]
        wanted = target.get("scopes") or [k for k in _scopes(entity) if k in baseline]
        for key in wanted:
            level = _reported(baseline, key)
            if level is None:
                continue
            points = knots.setdefault(key, [(target["baseline_year"], level)])
            points.append((target["target_year"], level * (1 - target["reduction"])))
    return [
        {
            "year": year,
            "emissions": {key: _interpolate(points, year) for key, points in knots.items()},
        }
        for year in glide_path_years(entity)
    ]


def _interpolate(points: Sequence[tuple[int, float]], year: int) -> float:
    if year <= points[0][0]:
        return round(points[0][1], 2)
    for (x0, v0), (x1, v1) in itertools.pairwise(points):
        if year <= x1:
            share = (year - x0) / (x1 - x0) if x1 != x0 else 1.0
            return round(v0 + (v1 - v0) * share, 2)
    return round(points[-1][1], 2)


def emissions_projections(entity: Entity) -> Result:
    data = _monte_carlo(entity) if entity["method"] == "monte_carlo" else _glide_path(entity)
    return {"entity_info": _info(entity), "data": data}


def company_ranking(entity: Entity) -> Result:
    keys = _scopes(entity)
    sector = _sector(entity)
    factor = _industry_factor(entity)
    data = []
    for item in entity["data"]:
        emissions = item.get("emissions")
        revenue = _amount(item.get("financials"), "revenue") or 0.0
        by_sector: dict[str, float] = {}
        by_industry: dict[str, float] = {}
        for count, name in ((1, "scope1"), (2, "scope1_2"), (3, "scope1_2_3")):
            intensity = _scope_sum(emissions, keys[:count]) / revenue * 1e6
            benchmark = sum(sector[:count])
            by_sector[f"{name}_intensity_percentile"] = _percentile(intensity / benchmark)
            by_industry[f"{name}_intensity_percentile"] = _percentile(
                intensity / (benchmark * factor)
            )
        data.append(
            {"year": item["year"], "rankings": {"industry": by_industry, "sector": by_sector}}
        )
    return {"entity_info": _info(entity), "data": data}


def _percentile(ratio: float) -> float:
    return round(100 * ratio / (1 + ratio), 1)


def hazard_risk(latitude: float, longitude: float) -> dict[str, Any]:
    """The ``/hazard-risk`` response for a location."""
    factor = (1 + 0.5 * (90 - abs(latitude)) / 90) * (
        0.75 + 0.25 * abs(math.sin(math.radians(longitude)))
    )
    hazards = []
    for hazard, (intensity, probability) in HAZARDS.items():
        for scenario, (multiplier, year) in HAZARD_SCENARIOS.items():
            hazards.append(
                {
                    "hazard": hazard,
                    "scenario": scenario,
                    "year": year,
                    "intensity": round(intensity * multiplier * factor, 4),
                    "probability": round(min(1.0, probability * multiplier * factor), 4),
                }
            )
    return {"location": {"latitude": latitude, "longitude": longitude}, "hazards": hazards}


COMPUTERS: Mapping[str, Callable[[Entity], Result]] = {
    "/emissions-estimates": emissions_estimates,
    "/climate-risk": climate_risk,
    "/temperature-alignment": temperature_alignment,
    "/emissions-projections": emissions_projections,
    "/climate-risk-projections": climate_risk_projections,
    "/temperature-alignment-projections": temperature_alignment_projections,
    "/company-ranking": company_ranking,
}
"""The result function of each analysis endpoint (path without ``/api/v1``)."""
