"""Objects shared by requests and responses: entity info, one data year and its parts.

Every model is a frozen, slotted, keyword-only attrs class. Every model has an ``extra``
mapping that holds the JSON keys the model does not know: on responses they stay
reachable, on requests the validation reports them (a misspelt ``scope_1`` would otherwise
be dropped silently and the value estimated instead of taken as reported). Sequence fields
accept any sequence; structured values are tuples.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from emmi_async.models._enums import AssetType

__all__ = [
    "DataYear",
    "Emissions",
    "EntityInfo",
    "Financials",
    "extra_field",
]


class _EmptyExtra(dict[str, Any]):
    """The ``extra`` of every model without unknown keys: one shared, empty, read-only dict.

    It is a ``dict`` (equal to ``{}``, shown as ``{}``) that refuses to be changed, so that
    models can share it: a result with no unknown keys allocates no ``extra`` of its own
    (7 dicts fewer per estimates result, fewer young objects for the garbage collector).
    """

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a model's extra is read-only (models are frozen)")

    __setitem__ = __delitem__ = _read_only
    update = setdefault = pop = popitem = clear = __ior__ = _read_only

    def __copy__(self) -> _EmptyExtra:
        return self

    def __deepcopy__(self, memo: Any) -> _EmptyExtra:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_empty_extra, ())


def _empty_extra() -> Mapping[str, Any]:
    return EMPTY_EXTRA


EMPTY_EXTRA: Mapping[str, Any] = _EmptyExtra()
"""The shared ``extra`` of models without unknown keys."""


def extra_field() -> Any:
    """The ``extra`` field: unknown JSON keys, empty by default, compared but not hashed."""
    return attrs.field(default=EMPTY_EXTRA, hash=False)


@attrs.frozen(kw_only=True)
class EntityInfo:
    """Who the entity is. Every field is optional: results echo it without ``identifier``.

    ``identifier`` is your own id (results come back by position, so it is only used to
    name the entity in error messages). ``asset_type`` drives the emission-key rules; when
    it is missing those rules are skipped and equity-only endpoints accept the entity.
    """

    identifier: str | None = None
    name: str | None = None
    asset_type: AssetType | None = None
    country: str | None = None
    """English country name, e.g. ``"United States"``."""
    industry_classification_system: str | None = None
    """Open string; known values in :class:`ClassificationSystem`."""
    industry: str | None = None
    sector: str | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Emissions:
    """Emissions in tonnes CO2e; equity uses ``scope1..3``, debt ``underlying_scope1..3``.

    Infrastructure and property take ``scope1`` and ``scope2`` only. Missing scopes are
    estimated by the service.
    """

    scope1: float | None = None
    scope2: float | None = None
    scope3: float | None = None
    underlying_scope1: float | None = None
    underlying_scope2: float | None = None
    underlying_scope3: float | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class Financials:
    """Absolute amounts in ``currency`` (an ISO 4217 code, sometimes omitted)."""

    currency: str | None = None
    revenue: float | None = None
    total_assets: float | None = None
    ebitda: float | None = None
    total_debt: float | None = None
    extra: Mapping[str, Any] = extra_field()


@attrs.frozen(kw_only=True)
class DataYear:
    """One year of an entity's history: ``{"year", "emissions"?, "financials"?}``."""

    year: int
    emissions: Emissions | None = None
    financials: Financials | None = None
    extra: Mapping[str, Any] = extra_field()
