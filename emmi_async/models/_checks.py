"""Field-level checks used by the endpoint rules; each adds problems to a :class:`Report`.

The checks also guard against wrongly typed values in model instances (attrs does not check
types at run time), so that a bad instance gives a problem instead of a crash or a body
the service would refuse.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from emmi_async._exceptions import Problem
from emmi_async.models._common import DataYear, Emissions, EntityInfo, Financials
from emmi_async.models._enums import AssetType
from emmi_async.models._errors import join

__all__ = [
    "EMISSION_KEYS",
    "YEAR_MAX",
    "YEAR_MIN",
    "Report",
    "check_data",
    "check_emissions",
    "check_entity_info",
    "check_scenarios",
    "check_unknown",
    "check_year",
    "check_years",
    "has_emissions",
    "number_problem",
    "sequence_problem",
]

YEAR_MIN = 1990
YEAR_MAX = 2100
_INF = math.inf
_INT_START, _INT_END = -(2**63), 2**64
"""The integers the JSON encoder (orjson) writes."""

EMISSION_KEYS = (
    "scope1",
    "scope2",
    "scope3",
    "underlying_scope1",
    "underlying_scope2",
    "underlying_scope3",
)
_ALLOWED_EMISSIONS: Mapping[AssetType, tuple[str, ...]] = {
    AssetType.EQUITY: ("scope1", "scope2", "scope3"),
    AssetType.DEBT: ("underlying_scope1", "underlying_scope2", "underlying_scope3"),
    AssetType.INFRASTRUCTURE: ("scope1", "scope2"),
    AssetType.PROPERTY: ("scope1", "scope2"),
}
_INFO_STRINGS = (
    "identifier",
    "name",
    "country",
    "industry_classification_system",
    "industry",
    "sector",
)
_NON_NEGATIVE_FINANCIALS = ("revenue", "total_assets", "total_debt")
_info_strings = attrgetter(*_INFO_STRINGS)
_emission_amounts = attrgetter(*EMISSION_KEYS)
_financial_amounts = attrgetter(*_NON_NEGATIVE_FINANCIALS)
_valid_currencies: set[str] = set()  # codes seen valid; at most 26**3 entries


class Report:
    """The problems found in one entity, each tagged with its index and identifier."""

    __slots__ = ("identifier", "index", "problems")

    def __init__(self, index: int, identifier: str | None) -> None:
        self.index = index
        self.identifier = identifier
        self.problems: list[Problem] = []

    def add(self, field: str, message: str) -> None:
        self.problems.append(
            Problem(index=self.index, identifier=self.identifier, field=field, message=message)
        )


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if value is None or isinstance(value, (bool, numbers.Number)):
        return repr(value)
    return type(value).__name__


def number_problem(value: Any, *, negative_ok: bool = False) -> str | None:
    """Why ``value`` is not a finite (non-negative) number that JSON can carry, or ``None``
    when it is fine (an integer must fit in 64 bits, as the encoder writes it)."""
    cls = type(value)
    if cls is float and 0 <= value < _INF:
        return None
    if cls is int and 0 <= value < _INT_END:
        return None
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not _INT_START <= value < _INT_END
    ):
        return (
            f"an integer too large to send (64 bits at most), got {value:.4g}: give it as a float"
        )
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return f"expected a number, got {_show(value)}"
    if not math.isfinite(value):
        return f"must be a finite number, got {_show(value)}"
    if value < 0 and not negative_ok:
        return f"must not be negative, got {_show(value)}"
    return None


def sequence_problem(value: Any, what: str) -> str | None:
    """Why ``value`` is not a list of ``what``, or ``None``."""
    cls = type(value)
    if cls is tuple or cls is list:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        return f"expected a list of {what}, got {_show(value)}"
    return None


def check_year(value: Any, field: str, report: Report) -> bool:
    """Add a problem unless ``value`` is an integer year in 1990..2100; true when fine."""
    if type(value) is int and YEAR_MIN <= value <= YEAR_MAX:
        return True
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        report.add(field, f"expected an integer year, got {_show(value)}")
    else:
        report.add(field, f"must be between {YEAR_MIN} and {YEAR_MAX}, got {value}")
    return False


def check_years(values: Iterable[tuple[str, Any]], report: Report) -> list[int]:
    """Check ``(field, year)`` pairs for range and duplicates; the valid years in order."""
    seen: dict[int, str] = {}
    years = []
    for field, year in values:
        if not check_year(year, field, report):
            continue
        first = seen.get(year)
        if first is not None:
            report.add(field, f"duplicate year {year} (also at {first})")
            continue
        seen[year] = field
        years.append(year)
    return years


def check_unknown(extra: Mapping[str, Any], path: str, report: Report) -> None:
    """Report each key of a request object's ``extra``: the API does not know it."""
    for key in extra:
        report.add(join(path, key), "unknown field (not part of the API; check the spelling)")


def check_entity_info(
    info: Any, report: Report, endpoint: str, equity_only: bool
) -> AssetType | None:
    """Check ``entity_info``; returns the asset type when it is a known one."""
    if not isinstance(info, EntityInfo):
        report.add("entity_info", f"expected EntityInfo, got {_show(info)}")
        return None
    for name, value in zip(_INFO_STRINGS, _info_strings(info), strict=True):
        if value is not None and type(value) is not str and not isinstance(value, str):
            report.add(f"entity_info.{name}", f"expected a string, got {_show(value)}")
    raw = info.asset_type
    asset: AssetType | None = raw if type(raw) is AssetType else None
    if asset is None and raw is not None:
        try:
            asset = AssetType(raw)
        except (ValueError, TypeError):
            allowed = ", ".join(member.value for member in AssetType)
            report.add("entity_info.asset_type", f"expected one of {allowed}; got {_show(raw)}")
    if equity_only and asset is not None and asset is not AssetType.EQUITY:
        report.add(
            "entity_info.asset_type",
            f"{endpoint} accepts equity entities only, got {asset.value!r}",
        )
    if info.extra:
        check_unknown(info.extra, "entity_info", report)
    return asset


def check_emissions(value: Any, path: str, asset: AssetType | None, report: Report) -> None:
    """Check an emissions object: numbers finite and non-negative, keys fit the asset type."""
    if not isinstance(value, Emissions):
        report.add(path, f"expected Emissions, got {_show(value)}")
        return
    allowed = _ALLOWED_EMISSIONS.get(asset) if asset is not None else None
    for name, amount in zip(EMISSION_KEYS, _emission_amounts(value), strict=True):
        if amount is None:
            continue
        if allowed is not None and name not in allowed:
            report.add(
                f"{path}.{name}",
                f"not accepted for {asset} entities (they take {', '.join(allowed)})",
            )
        if type(amount) is float and 0 <= amount < _INF:
            continue
        problem = number_problem(amount)
        if problem is not None:
            report.add(f"{path}.{name}", problem)
    if value.extra:
        check_unknown(value.extra, path, report)


def has_emissions(value: Any) -> bool:
    """True when ``value`` is an Emissions object with at least one amount."""
    return isinstance(value, Emissions) and any(
        amount is not None for amount in _emission_amounts(value)
    )


def _is_currency_code(value: str) -> bool:
    return len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()


def _check_currency(value: Any, field: str, report: Report) -> None:
    if value in _valid_currencies:
        return
    if isinstance(value, str) and _is_currency_code(value):
        _valid_currencies.add(value)
        return
    report.add(field, f"must be a three-letter ISO 4217 code in capitals (A-Z), got {_show(value)}")


def _check_financials(value: Any, path: str, report: Report, need_revenue: bool) -> None:
    if not isinstance(value, Financials):
        report.add(path, f"expected Financials, got {_show(value)}")
        return
    if value.currency is not None:
        _check_currency(value.currency, f"{path}.currency", report)
    for name, amount in zip(_NON_NEGATIVE_FINANCIALS, _financial_amounts(value), strict=True):
        if amount is None:
            continue
        if type(amount) is float and 0 <= amount < _INF:
            continue
        problem = number_problem(amount)
        if problem is not None:
            report.add(f"{path}.{name}", problem)
    ebitda = value.ebitda
    if ebitda is not None and not (type(ebitda) is float and -_INF < ebitda < _INF):
        # EBITDA is negative for loss-making companies: finite is all we ask.
        problem = number_problem(ebitda, negative_ok=True)
        if problem is not None:
            report.add(f"{path}.ebitda", problem)
    if need_revenue and value.revenue is None:
        report.add(f"{path}.revenue", "required")
    if value.extra:
        check_unknown(value.extra, path, report)


def check_data(
    data: Any,
    report: Report,
    asset: AssetType | None,
    endpoint: str,
    *,
    need_emissions: bool = False,
    need_financials: bool = False,
    need_revenue: bool = False,
) -> list[DataYear]:
    """Check ``data``: non-empty, valid unique years, parts required by ``endpoint``.

    The ``need_*`` flags make a part required in every year. Returns the items that are
    :class:`DataYear` instances.
    """
    problem = sequence_problem(data, "data years")
    if problem is not None:
        report.add("data", problem)
        return []
    if not data:
        report.add("data", "must hold at least one year")
        return []
    items: list[DataYear] = []
    years: list[tuple[str, Any]] = []
    for position, item in enumerate(data):
        path = f"data[{position}]"
        if not isinstance(item, DataYear):
            report.add(path, f"expected DataYear, got {_show(item)}")
            continue
        items.append(item)
        years.append((f"{path}.year", item.year))
        if item.emissions is not None:
            check_emissions(item.emissions, f"{path}.emissions", asset, report)
        elif need_emissions:
            report.add(f"{path}.emissions", f"required by {endpoint}")
        if item.financials is not None:
            _check_financials(item.financials, f"{path}.financials", report, need_revenue)
        elif need_financials:
            report.add(f"{path}.financials", f"required by {endpoint}")
        if item.extra:
            check_unknown(item.extra, path, report)
    check_years(years, report)
    return items


def check_scenarios(value: Any, report: Report, *, required: bool) -> None:
    """Scenario ids are open strings: any non-empty string; a given list is non-empty."""
    if value is None:
        if required:
            report.add("scenarios", "required: at least one scenario id")
        return
    problem = sequence_problem(value, "scenario ids")
    if problem is not None:
        report.add("scenarios", problem)
        return
    if not value:
        report.add("scenarios", "must hold at least one scenario id")
    for position, scenario in enumerate(value):
        if not isinstance(scenario, str) or not scenario.strip():
            report.add(
                f"scenarios[{position}]", f"must be a non-empty string, got {_show(scenario)}"
            )
