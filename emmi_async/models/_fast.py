"""Fast paths of the model layer for the hot loop of the batch runner.

Two halves, each a shortcut that is only ever taken when it gives the same answer as the
model path, and that otherwise hands the input back to the model path untouched:

- :func:`entity_checker` builds, per endpoint, a function that walks a plain ``dict``
  entity and returns the JSON-ready object the model path would send for it (the same
  ``dict`` when it is already in canonical form, else a rebuilt one: keys in model field
  order, ``None`` dropped, :class:`AssetType` members as their values). It raises
  :class:`Slow` for anything it does not recognise as valid: a broken rule, an unknown
  key, a value of another type than the canonical JSON one (``2023.0``, numpy scalars,
  ``Mapping`` subclasses, generators...). The caller then runs ``coerce`` + ``problems``,
  so that problems and their messages come from one place only.
- :func:`result_structurer` generates, per result class, a function that builds the same
  frozen attrs models as the converter from parsed JSON, without cattrs' per-field hook
  calls and without attrs' ``__init__`` (slot descriptors are set directly, as attrs'
  frozen ``__init__`` does through ``object.__setattr__``). It raises on any value the
  converter would have to convert or refuse; the caller then runs the converter, which
  gives the same models or the same errors.
"""

from __future__ import annotations

import enum
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from emmi_async.models._checks import EMISSION_KEYS, YEAR_MAX, YEAR_MIN, _valid_currencies
from emmi_async.models._common import EMPTY_EXTRA, DataYear, Emissions, EntityInfo, Financials
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

__all__ = ["EntityChecker", "Slow", "entity_checker", "result_structurer"]

EntityChecker = Callable[[dict[str, Any]], Any]
"""``check(entity_dict) -> JSON-ready object`` (raises :class:`Slow` when unsure)."""

_INF = math.inf
_INT_START, _INT_END = -(2**63), 2**64
"""The integers the JSON encoder writes; others go to the rules, which name them."""
_MONTE_CARLO_MIN_YEARS = 3


class Slow(Exception):
    """The fast path does not vouch for this input: take the model path."""


# -- shapes: which keys an object may have, in which order ------------------------------

_MISS: Any = object()


class _Shape:
    """The keys one kind of JSON object may carry: model fields (minus ``extra``).

    ``lookup(keys)`` is ``True`` when ``keys`` are known, include the required ones and
    come in field order (the order the model path writes them), the field-ordered tuple
    when they only need reordering, and ``False`` when the object is not for the fast
    path. Answers are cached per key tuple (bounded: a stream of odd shapes is only slow).
    """

    __slots__ = ("_allowed", "_cache", "order", "required")

    _LIMIT = 512

    def __init__(self, cls: type[Any], allowed: Sequence[str] | None = None) -> None:
        fields = [field for field in attrs.fields(cls) if field.name != "extra"]
        self.order = tuple(field.name for field in fields)
        self.required = frozenset(field.name for field in fields if field.default is attrs.NOTHING)
        self._allowed = frozenset(self.order if allowed is None else allowed)
        self._cache: dict[tuple[str, ...], tuple[str, ...] | bool] = {}

    def lookup(self, obj: dict[str, Any]) -> tuple[str, ...] | bool:
        keys = tuple(obj)
        found = self._cache.get(keys, _MISS)
        if found is _MISS:
            found = self._resolve(keys)
            if len(self._cache) < self._LIMIT:
                self._cache[keys] = found
        return found  # type: ignore[no-any-return]

    def _resolve(self, keys: tuple[str, ...]) -> tuple[str, ...] | bool:
        present = set(keys)
        if not present <= self._allowed or not self.required <= present:
            return False
        order = tuple(name for name in self.order if name in present)
        return True if order == keys else order


def _rebuilt(obj: dict[str, Any], shape: tuple[str, ...] | bool, **changed: Any) -> dict[str, Any]:
    """``obj`` in canonical form: field order, ``None`` dropped, ``changed`` values put in."""
    order = tuple(obj) if shape is True else shape
    assert not isinstance(order, bool)
    result = {}
    for name in order:
        value = changed[name] if name in changed else obj[name]
        if value is not None:
            result[name] = value
    return result


_INFO = _Shape(EntityInfo)
_YEAR = _Shape(DataYear)
_FINANCIALS = _Shape(Financials)
_TARGET = _Shape(ReductionTarget)
_PROJECTED = _Shape(ProjectedEmissions)
_EMISSIONS_ALLOWED: Mapping[AssetType | None, tuple[str, ...]] = {
    None: EMISSION_KEYS,
    AssetType.EQUITY: ("scope1", "scope2", "scope3"),
    AssetType.DEBT: ("underlying_scope1", "underlying_scope2", "underlying_scope3"),
    AssetType.INFRASTRUCTURE: ("scope1", "scope2"),
    AssetType.PROPERTY: ("scope1", "scope2"),
}
_EMISSIONS: Mapping[AssetType | None, _Shape] = {
    asset: _Shape(Emissions, allowed) for asset, allowed in _EMISSIONS_ALLOWED.items()
}
_ASSETS: Mapping[str, AssetType] = {member.value: member for member in AssetType}


# -- the parts of an entity ---------------------------------------------------------------


def _entity_info(info: Any, equity_only: bool) -> tuple[Any, AssetType | None]:
    if type(info) is not dict:
        raise Slow
    shape = _INFO.lookup(info)
    if shape is False:
        raise Slow
    clean = shape is True
    asset: AssetType | None = None
    for name, value in info.items():
        if type(value) is str:
            if name == "asset_type":
                asset = _ASSETS.get(value)
                if asset is None:
                    raise Slow
        elif value is None:
            clean = False
        elif name == "asset_type" and type(value) is AssetType:
            asset = value
            clean = False
        else:
            raise Slow
    if equity_only and asset is not None and asset is not AssetType.EQUITY:
        raise Slow
    if clean:
        return info, asset
    changed = {} if asset is None else {"asset_type": asset.value}
    return _rebuilt(info, shape, **changed), asset


def _emissions(value: Any, shapes: _Shape) -> tuple[Any, bool]:
    """The canonical emissions object and whether it holds at least one amount."""
    if type(value) is not dict:
        raise Slow
    shape = shapes.lookup(value)
    if shape is False:
        raise Slow
    clean = shape is True
    some = False
    for amount in value.values():
        cls = type(amount)
        if cls is float or cls is int:
            if not 0 <= amount < (_INF if cls is float else _INT_END):
                raise Slow
            some = True
        elif amount is None:
            clean = False
        else:
            raise Slow
    return (value if clean else _rebuilt(value, shape)), some


def _currency_ok(value: Any) -> bool:
    if type(value) is not str:
        return False
    if value in _valid_currencies:
        return True
    if len(value) == 3 and value.isascii() and value.isalpha() and value.isupper():
        _valid_currencies.add(value)  # as the rule does: the set only caches valid codes
        return True
    return False


def _financials(value: Any, need_revenue: bool) -> Any:
    if type(value) is not dict:
        raise Slow
    shape = _FINANCIALS.lookup(value)
    if shape is False:
        raise Slow
    clean = shape is True
    for name, amount in value.items():
        if amount is None:
            clean = False
            continue
        if name == "currency":
            if not _currency_ok(amount):
                raise Slow
            continue
        cls = type(amount)
        if cls is not float and cls is not int:
            raise Slow
        if cls is int and not _INT_START <= amount < _INT_END:
            raise Slow  # the rules name it
        if name == "ebitda":
            if not -_INF < amount < _INF:
                raise Slow
        elif not 0 <= amount < _INF:
            raise Slow
    if need_revenue and value.get("revenue") is None:
        raise Slow
    return value if clean else _rebuilt(value, shape)


def _year(value: Any, seen: set[int]) -> None:
    if type(value) is not int or not YEAR_MIN <= value <= YEAR_MAX or value in seen:
        raise Slow
    seen.add(value)


def _is_list(value: Any) -> bool:
    cls = type(value)
    return cls is list or cls is tuple


def _data(
    data: Any,
    emission_shapes: _Shape,
    need_emissions: bool,
    need_financials: bool,
    need_revenue: bool,
) -> tuple[Any, bool, list[int]]:
    """Canonical ``data``, whether any year has an emission amount, and the years."""
    if not _is_list(data) or not data:
        raise Slow
    clean = True
    some = False
    seen: set[int] = set()
    years: list[int] = []
    items: list[Any] = []
    for item in data:
        if type(item) is not dict:
            raise Slow
        shape = _YEAR.lookup(item)
        if shape is False:
            raise Slow
        year = item["year"]
        _year(year, seen)
        years.append(year)
        item_clean = shape is True
        emissions = item.get("emissions")
        if emissions is None:
            if need_emissions:
                raise Slow
            item_clean = item_clean and "emissions" not in item
        else:
            canonical, has = _emissions(emissions, emission_shapes)
            some = some or has
            if canonical is not emissions:
                item_clean = False
                emissions = canonical
        financials = item.get("financials")
        if financials is None:
            if need_financials:
                raise Slow
            item_clean = item_clean and "financials" not in item
        else:
            canonical = _financials(financials, need_revenue)
            if canonical is not financials:
                item_clean = False
                financials = canonical
        if not item_clean:
            clean = False
            item = _rebuilt(item, shape, emissions=emissions, financials=financials)
        items.append(item)
    return (data if clean else items), some, years


def _scenarios(value: Any) -> None:
    if not _is_list(value) or not value:
        raise Slow
    for scenario in value:
        if type(scenario) is not str or not scenario.strip():
            raise Slow


def _projected(value: Any, emission_shapes: _Shape, baseline: int) -> Any:
    if not _is_list(value) or not value:
        raise Slow
    clean = True
    seen: set[int] = set()
    items: list[Any] = []
    for item in value:
        if type(item) is not dict:
            raise Slow
        shape = _PROJECTED.lookup(item)
        if shape is False:
            raise Slow
        year = item["year"]
        _year(year, seen)
        if year <= baseline:
            raise Slow
        emissions, _ = _emissions(item["emissions"], emission_shapes)
        if shape is not True or emissions is not item["emissions"]:
            clean = False
            item = _rebuilt(item, shape, emissions=emissions)
        items.append(item)
    return value if clean else items


def _targets(value: Any) -> Any:
    if not _is_list(value):
        raise Slow
    clean = True
    items: list[Any] = []
    for target in value:
        if type(target) is not dict:
            raise Slow
        shape = _TARGET.lookup(target)
        if shape is False:
            raise Slow
        item_clean = shape is True
        baseline = target["baseline_year"]
        _year(baseline, set())
        target_year = target.get("target_year")
        if target_year is None:
            item_clean = item_clean and "target_year" not in target
        else:
            _year(target_year, set())
            if target_year <= baseline:
                raise Slow
        reduction = target.get("reduction", _MISS)
        if reduction is None:
            item_clean = False
        elif reduction is not _MISS:
            cls = type(reduction)
            if (cls is not float and cls is not int) or not 0 <= reduction <= 1:
                raise Slow
        if not item_clean:
            clean = False
            target = _rebuilt(target, shape)
        items.append(target)
    return value if clean else items


def _years_list(value: Any) -> None:
    if not _is_list(value):
        raise Slow
    seen: set[int] = set()
    for year in value:
        _year(year, seen)


# -- entities -----------------------------------------------------------------------------


def entity_checker(entity_type: type[Any], equity_only: bool) -> EntityChecker | None:
    """The fast checker of ``entity_type``'s dict form, or ``None`` when there is none."""
    needs = _NEEDS.get(entity_type)
    if needs is None:
        return None
    need_emissions, need_financials, need_revenue = needs
    top = _Shape(entity_type)
    special = _SPECIAL.get(entity_type)

    def check(entity: dict[str, Any]) -> Any:
        shape = top.lookup(entity)
        if shape is False:
            raise Slow
        info, asset = _entity_info(entity["entity_info"], equity_only)
        emission_shapes = _EMISSIONS[asset]
        data, some, years = _data(
            entity["data"], emission_shapes, need_emissions, need_financials, need_revenue
        )
        changed: dict[str, Any] = {}
        if info is not entity["entity_info"]:
            changed["entity_info"] = info
        if data is not entity["data"]:
            changed["data"] = data
        if special is not None:
            special(entity, changed, emission_shapes, some, years)
        if shape is True and not changed and None not in entity.values():
            return entity
        return _rebuilt(entity, shape, **changed)

    return check


Special = Callable[[dict[str, Any], dict[str, Any], _Shape, bool, list[int]], None]


def _climate_risk(
    entity: dict[str, Any], changed: dict[str, Any], shapes: _Shape, some: bool, years: list[int]
) -> None:
    scenarios = entity.get("scenarios")
    if scenarios is not None:
        _scenarios(scenarios)


def _projection(
    entity: dict[str, Any], changed: dict[str, Any], shapes: _Shape, some: bool, years: list[int]
) -> None:
    method = entity["method"]
    if type(method) is not str or not method:
        raise Slow
    wanted = entity.get("projection_years")
    if wanted is not None:
        _years_list(wanted)
    targets = entity.get("targets")
    if method == ProjectionMethod.MONTE_CARLO:
        if len(years) < _MONTE_CARLO_MIN_YEARS or not wanted:
            raise Slow
    elif method == ProjectionMethod.GLIDE_PATH and (not targets or not some):
        raise Slow
    if targets is not None:
        canonical = _targets(targets)
        if canonical is not targets:
            changed["targets"] = canonical


def _baseline(years: list[int]) -> int:
    if len(years) != 1:
        raise Slow
    return years[0]


def _risk_projection(
    entity: dict[str, Any], changed: dict[str, Any], shapes: _Shape, some: bool, years: list[int]
) -> None:
    projections = entity["projections"]
    canonical = _projected(projections, shapes, _baseline(years))
    if canonical is not projections:
        changed["projections"] = canonical
    _scenarios(entity["scenarios"])


def _alignment_projection(
    entity: dict[str, Any], changed: dict[str, Any], shapes: _Shape, some: bool, years: list[int]
) -> None:
    projected = entity["projected_emissions"]
    canonical = _projected(projected, shapes, _baseline(years))
    if canonical is not projected:
        changed["projected_emissions"] = canonical


_NEEDS: Mapping[type[Any], tuple[bool, bool, bool]] = {
    # (emissions, financials, revenue) required in every data year, as in ``_rules``
    EmissionsEstimateEntity: (False, True, False),
    ClimateRiskEntity: (True, False, False),
    TemperatureAlignmentEntity: (True, True, False),
    EmissionsProjectionEntity: (False, False, False),
    ClimateRiskProjectionEntity: (True, True, False),
    TemperatureAlignmentProjectionEntity: (False, False, False),
    CompanyRankingEntity: (True, True, True),
}
_SPECIAL: Mapping[type[Any], Special] = {
    ClimateRiskEntity: _climate_risk,
    EmissionsProjectionEntity: _projection,
    ClimateRiskProjectionEntity: _risk_projection,
    TemperatureAlignmentProjectionEntity: _alignment_projection,
}


# -- results --------------------------------------------------------------------------------

ResultStructurer = Callable[[Any], Any]


def _is_optional(tp: Any) -> bool:
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return False
    args = typing.get_args(tp)
    return len(args) == 2 and type(None) in args


def _plain_slots(cls: type[Any], names: Sequence[str]) -> bool:
    """Whether ``cls`` instances are exactly their fields' slots and ``__init__`` only sets them."""
    if getattr(cls, "__attrs_post_init__", None) is not None:
        return False
    if getattr(cls, "__attrs_pre_init__", None) is not None:
        return False
    if any(f.validator is not None or f.converter is not None for f in attrs.fields(cls)):
        return False
    slots = {
        slot
        for klass in cls.__mro__
        for slot in getattr(klass, "__slots__", ())
        if slot != "__weakref__"
    }
    return slots == set(names) and all(
        type(getattr(cls, name, None)) is types.MemberDescriptorType for name in names
    )


_TUPLES: dict[tuple[str, ...], tuple[str, ...]] = {}
_TUPLES_LIMIT = 1024


def _share(value: tuple[str, ...]) -> tuple[str, ...]:
    """``value``, kept as the one shared instance of its content while there is room.

    Tuples of strings are immutable and compare by content, so results may share them:
    the ``estimated`` scopes of a year are one of a handful of tuples, and a shared one is
    one object less per year for the garbage collector to count.
    """
    if len(_TUPLES) < _TUPLES_LIMIT:
        _TUPLES[value] = value
    return value


class _Generator:
    """Writes one structuring function per attrs class (and caches them by class).

    ``owned``: the functions may take the parsed JSON they are given apart. Each field is
    read with ``dict.pop``, and what is left of a dict (its unknown keys) becomes the
    model's ``extra`` as it is, instead of a copy: a year of an answer with four unknown
    keys costs about 1.5 µs less. A function that raises has left its input in pieces,
    so its caller must read the JSON again before anything else looks at it.
    """

    def __init__(
        self, fallback_hook: Callable[[Any], Callable[[Any, Any], Any]], *, owned: bool = False
    ) -> None:
        self._hook = fallback_hook
        self._owned = owned
        self.namespace: dict[str, Any] = {
            "Slow": Slow,
            "_MISS": _MISS,
            "_new": object.__new__,
            "_TUPLES": _TUPLES,
            "_share": _share,
            "_EMPTY": EMPTY_EXTRA,
        }
        self.functions: dict[type[Any], str] = {}
        self._count = 0

    def _name(self, prefix: str, value: Any) -> str:
        self._count += 1
        name = f"_{prefix}{self._count}"
        self.namespace[name] = value
        return name

    def value_code(self, tp: Any, var: str, lines: list[str], indent: str) -> None:
        """Lines that check ``var`` as a ``tp`` and rebind it to the structured value."""
        if _is_optional(tp):
            inner = next(arg for arg in typing.get_args(tp) if arg is not type(None))
            body: list[str] = []
            self.value_code(inner, var, body, indent + "    ")
            if body:
                lines.append(f"{indent}if {var} is not None:")
                lines.extend(body)
            return
        origin = typing.get_origin(tp)
        if tp is int or tp is str or tp is bool:
            lines.append(f"{indent}if type({var}) is not {tp.__name__}: raise Slow")
        elif tp is float:
            lines.append(
                f"{indent}if type({var}) is not float and type({var}) is not int: raise Slow"
            )
        elif isinstance(tp, type) and issubclass(tp, enum.Enum):
            table = {member.value: member for member in tp}
            table.update({member: member for member in tp})
            lines.append(f"{indent}{var} = {self._name('enum', table)}[{var}]")
        elif attrs.has(tp):
            lines.append(f"{indent}{var} = {self.function(tp)}({var})")
        elif origin in (Sequence, tuple, list) and len(typing.get_args(tp)) == 1:
            (inner,) = typing.get_args(tp)
            lines.append(f"{indent}if type({var}) is not list and type({var}) is not tuple:")
            lines.append(f"{indent}    raise Slow")
            body = []
            self.value_code(inner, "_i", body, indent + "    ")
            if not body:
                lines.append(f"{indent}{var} = tuple({var})")
            elif len(body) == 1 and body[0].strip().startswith("_i = "):
                expression = body[0].strip()[len("_i = ") :]
                lines.append(f"{indent}{var} = tuple([{expression} for _i in {var}])")
            elif inner is str:  # one shared tuple per content, e.g. ("scope2", "scope3")
                # A content met before was checked then: only a new one is walked.
                lines.append(f"{indent}_t = _TUPLES.get(tuple({var}))")
                lines.append(f"{indent}if _t is None:")
                lines.append(f"{indent}    for _i in {var}:")
                lines.extend("    " + line for line in body)
                lines.append(f"{indent}    _t = _share(tuple({var}))")
                lines.append(f"{indent}{var} = _t")
            else:
                lines.append(f"{indent}for _i in {var}:")
                lines.extend(body)
                lines.append(f"{indent}{var} = tuple({var})")
        else:  # anything else: the converter's own hook, same result by construction
            hook = self._hook(tp)
            lines.append(
                f"{indent}{var} = {self._name('hook', hook)}({var}, {self._name('tp', tp)})"
            )

    def function(self, cls: type[Any]) -> str:
        name = self.functions.get(cls)
        if name is not None:
            return name
        kind = "owned_" if self._owned else ""
        name = self.functions[cls] = f"structure_{kind}{cls.__name__}_{len(self.functions)}"
        hints = typing.get_type_hints(cls)
        fields = attrs.fields(cls)
        names = [field.name for field in fields]
        plain = _plain_slots(cls, names)
        known = frozenset(n for n in names if n != "extra")
        read = "d.pop" if self._owned else "d.get"
        cls_ref = self._name("cls", cls)
        lines = [f"def {name}(d):", "    if type(d) is not dict: raise Slow"]
        if plain:
            lines.append(f"    o = _new({cls_ref})")
        else:
            lines.append("    kw = {}")

        def assign(field_name: str, var: str) -> None:
            if plain:
                setter = self._name("set", getattr(cls, field_name).__set__)
                lines.append(f"    {setter}(o, {var})")
            else:
                lines.append(f"    kw[{field_name!r}] = {var}")

        for field in fields:
            var = f"v_{field.name}"
            if field.name == "extra":
                continue  # last: what is left once every other field is read
            if field.default is attrs.NOTHING:
                lookup = f"d.pop({field.name!r})" if self._owned else f"d[{field.name!r}]"
                lines.append(f"    {var} = {lookup}")
                self.value_code(hints[field.name], var, lines, "    ")
            elif field.default is None and _is_optional(hints[field.name]):
                # Missing or null: None either way (the default), no sentinel needed.
                lines.append(f"    {var} = {read}({field.name!r}, None)")
                self.value_code(hints[field.name], var, lines, "    ")
            else:
                default = field.default
                lines.append(f"    {var} = {read}({field.name!r}, _MISS)")
                if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                    if default.takes_self:
                        raise TypeError(f"{cls.__name__}.{field.name}: factory takes self")
                    make = self._name("factory", default.factory)
                    fill = f"{make}()"
                else:
                    fill = self._name("default", default)
                lines.append(f"    if {var} is _MISS:")
                lines.append(f"        {var} = {fill}")
                body: list[str] = []
                self.value_code(hints[field.name], var, body, "        ")
                if body:
                    lines.append("    else:")
                    lines.extend(body)
            assign(field.name, var)
        if "extra" in names:
            if self._owned:  # the unknown keys are what the pops left
                lines.append("    v_extra = d or _EMPTY")
            else:  # in the order the answer gives them
                known_ref = self._name("known", known)
                lines.append(
                    f"    v_extra = _EMPTY if {known_ref}.issuperset(d) else "
                    f"{{k: v for k, v in d.items() if k not in {known_ref}}}"
                )
            assign("extra", "v_extra")
        lines.append("    return o" if plain else f"    return {cls_ref}(**kw)")
        exec("\n".join(lines), self.namespace)  # source built above from our own classes
        return name


def result_structurer(
    cls: type[Any],
    fallback_hook: Callable[[Any], Callable[[Any, Any], Any]],
    *,
    owned: bool = False,
) -> ResultStructurer:
    """A generated ``structure(data) -> cls`` for parsed JSON; raises when it cannot vouch.

    ``fallback_hook(tp)`` gives the converter's hook for a type the generator does not
    write code for (dates, UUIDs...): those values go through the converter as before.
    ``owned=True``: the function takes ``data`` apart (its dicts' unknown keys become the
    models' ``extra`` in place); after it raises, ``data`` must be read again from its
    source.
    """
    generator = _Generator(fallback_hook, owned=owned)
    name = generator.function(cls)
    function: ResultStructurer = generator.namespace[name]
    return function
