"""The endpoint registry: what each analysis endpoint takes, returns and checks.

This is the seam between the models, the resources and the batch runner. A spec turns
caller input (models or plain dicts) into validated entities, entities into a request
body, and a response body into results, with cattrs hooks looked up once per spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs
import orjson

from emmi_async._exceptions import EntityValidationError, Problem
from emmi_async.models._converter import DUMPS_OPTIONS, converter, field_errors, loads
from emmi_async.models._errors import FieldError, ResponseDecodeError, join
from emmi_async.models._fast import (
    EntityChecker,
    ModelEncoder,
    entity_checker,
    model_encoder,
    result_structurer,
)
from emmi_async.models._requests import (
    ClimateRiskEntity,
    ClimateRiskProjectionEntity,
    CompanyRankingEntity,
    EmissionsEstimateEntity,
    EmissionsProjectionEntity,
    TemperatureAlignmentEntity,
    TemperatureAlignmentProjectionEntity,
)
from emmi_async.models._results import (
    ClimateRiskProjectionResult,
    ClimateRiskResult,
    CompanyRankingResult,
    EmissionsEstimateResult,
    EmissionsProjectionResult,
    TemperatureAlignmentProjectionResult,
    TemperatureAlignmentResult,
)
from emmi_async.models._rules import RULES, Check, check_common

__all__ = [
    "ANALYSES",
    "CLIMATE_RISK",
    "CLIMATE_RISK_PROJECTIONS",
    "COMPANY_RANKING",
    "EMISSIONS_ESTIMATES",
    "EMISSIONS_PROJECTIONS",
    "TEMPERATURE_ALIGNMENT",
    "TEMPERATURE_ALIGNMENT_PROJECTIONS",
    "AnalysisSpec",
]

EntityT = TypeVar("EntityT")
ResultT = TypeVar("ResultT")

_TEXT = (bytes, bytearray, memoryview, str)


def _body_results(payload: Any, what: str) -> Any:
    """The results list of a parsed body (``{"results": [...]}`` or a bare array)."""
    results = payload.get("results") if isinstance(payload, Mapping) else payload
    if not isinstance(results, (list, tuple)):
        message = "required field missing" if results is None else "expected a list"
        raise ResponseDecodeError(f"unexpected {what}", [("results", message)])
    return results


@attrs.frozen
class AnalysisSpec(Generic[EntityT, ResultT]):
    """One analysis endpoint: its path segment, entity and result models, and its rules."""

    name: str
    """The URL path segment, e.g. ``"emissions-estimates"``."""
    entity_type: type[EntityT]
    result_type: type[ResultT]
    equity_only: bool
    max_entities: int = 100
    """Most entities one request may carry (the service answers 413 above it)."""

    _structure_entity: Callable[[Any, Any], EntityT] = attrs.field(init=False, repr=False, eq=False)
    _unstructure_entity: Callable[[Any], Any] = attrs.field(init=False, repr=False, eq=False)
    _structure_result: Callable[[Any, Any], ResultT] = attrs.field(init=False, repr=False, eq=False)
    _check: Check = attrs.field(init=False, repr=False, eq=False)
    _fast_entity: EntityChecker | None = attrs.field(init=False, repr=False, eq=False)
    _fast_model: ModelEncoder | None = attrs.field(init=False, repr=False, eq=False)
    _fast_result: Callable[[Any], ResultT] = attrs.field(init=False, repr=False, eq=False)
    _owned_result: Callable[[Any], ResultT] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "_structure_entity", converter.get_structure_hook(self.entity_type))
        set_(self, "_unstructure_entity", converter.get_unstructure_hook(self.entity_type))
        set_(self, "_structure_result", converter.get_structure_hook(self.result_type))
        set_(self, "_check", RULES.get(self.entity_type, check_common))
        fast = entity_checker(self.entity_type, self.equity_only)
        encoder = model_encoder(self.entity_type, self.equity_only)
        if RULES.get(self.entity_type) is None:
            fast = encoder = None  # the fast paths mirror the rules of RULES only
        set_(self, "_fast_entity", fast)
        set_(self, "_fast_model", encoder)
        hook = converter.get_structure_hook
        set_(self, "_fast_result", result_structurer(self.result_type, hook))
        set_(self, "_owned_result", result_structurer(self.result_type, hook, owned=True))

    def coerce(self, obj: EntityT | Mapping[str, Any], index: int) -> EntityT:
        """``obj`` as an entity: an instance passes through, a mapping is structured.

        Raises ``TypeError`` for anything else, and :class:`EntityValidationError` naming
        the index, identifier and field paths when a mapping does not fit the model.
        Does not apply the endpoint rules (see :meth:`problems`).
        """
        cls = self.entity_type
        if type(obj) is cls or isinstance(obj, cls):
            return obj
        if type(obj) is dict or isinstance(obj, Mapping):
            try:
                return self._structure_entity(obj, cls)
            except Exception:
                pass
            raise EntityValidationError(self._shape_problems(obj, index)) from None
        raise TypeError(
            f"entity {index}: {self.name} takes {cls.__name__} instances or mappings, "
            f"got {type(obj).__name__}"
        )

    def _shape_problems(self, obj: Mapping[str, Any], index: int) -> list[Problem]:
        info = obj.get("entity_info")
        identifier = info.get("identifier") if isinstance(info, Mapping) else None
        ident = identifier if isinstance(identifier, str) else None
        errors = field_errors(obj, self.entity_type) or [("", "does not fit the model")]
        return [
            Problem(index=index, identifier=ident, field=path or "(entity)", message=message)
            for path, message in errors
        ]

    def problems(self, entity: EntityT, index: int) -> list[Problem]:
        """Every rule of this endpoint broken by ``entity`` (empty when it may be sent)."""
        if not isinstance(entity, self.entity_type):
            raise TypeError(
                f"entity {index}: expected {self.entity_type.__name__}, "
                f"got {type(entity).__name__} (coerce it first)"
            )
        return self._check(entity, index, self.name, self.equity_only)

    def prepare(self, objs: Sequence[EntityT | Mapping[str, Any]]) -> list[EntityT]:
        """Coerce and check every entity of one request.

        Raises one :class:`EntityValidationError` listing every problem of every entity
        (an empty input and more than :attr:`max_entities` are problems too), and
        ``TypeError`` for an input that is not a sequence or an entity of a wrong type.
        """
        problems = self._count_problems(objs)
        entities: list[EntityT] = []
        for index, obj in enumerate(objs):
            try:
                entity = self.coerce(obj, index)
            except EntityValidationError as exc:
                problems.extend(exc.problems)
                continue
            problems.extend(self._check(entity, index, self.name, self.equity_only))
            entities.append(entity)
        if problems:
            raise EntityValidationError(problems)
        return entities

    def prepare_json(self, obj: EntityT | Mapping[str, Any], index: int) -> bytes:
        """One entity checked and encoded: its JSON object, as :meth:`encode` writes it.

        The same as ``coerce`` + ``problems`` + ``encode([entity])[1:-1]`` (same bytes,
        same :class:`EntityValidationError` and ``TypeError``), but a plain ``dict`` that
        is valid and already JSON-shaped is checked in place and dumped as it is, without
        building models, and a valid instance of exactly :attr:`entity_type` is checked
        and turned into its JSON object in one walk of its slots (no cattrs hooks).
        Anything a fast path does not vouch for takes the model path, which names every
        problem.
        """
        fast: Callable[[Any], Any] | None = None
        if type(obj) is dict:
            fast = self._fast_entity
        elif type(obj) is self.entity_type:
            fast = self._fast_model
        if fast is not None:
            try:
                return orjson.dumps(fast(obj), option=DUMPS_OPTIONS)
            except Exception:  # Slow, or a value the fast path did not foresee
                pass
        entity = self.coerce(obj, index)
        problems = self._check(entity, index, self.name, self.equity_only)
        if problems:
            raise EntityValidationError(problems)
        return orjson.dumps(self._unstructure_entity(entity), option=DUMPS_OPTIONS)

    def prepare_body(self, objs: Sequence[EntityT | Mapping[str, Any]]) -> tuple[bytes, int]:
        """A whole request checked and encoded: ``(body, number of entities)``.

        Raises as :meth:`prepare` does (every problem of every entity at once).
        """
        problems = self._count_problems(objs)
        parts: list[bytes] = []
        for index, obj in enumerate(objs):
            try:
                parts.append(self.prepare_json(obj, index))
            except EntityValidationError as exc:
                problems.extend(exc.problems)
        if problems:
            raise EntityValidationError(problems)
        return b"[" + b",".join(parts) + b"]", len(parts)

    def _count_problems(self, objs: object) -> list[Problem]:
        if isinstance(objs, (str, bytes, Mapping)) or not isinstance(objs, Sequence):
            raise TypeError(f"{self.name} takes a sequence of entities, got {type(objs).__name__}")
        problems: list[Problem] = []
        if not objs:
            problems.append(_call_problem("at least one entity is required"))
        elif len(objs) > self.max_entities:
            problems.append(
                _call_problem(
                    f"{self.name} takes at most {self.max_entities} entities per request, "
                    f"got {len(objs)}"
                )
            )
        return problems

    def encode(self, entities: Sequence[EntityT]) -> bytes:
        """The JSON array body for ``entities`` (``None`` fields dropped)."""
        unstructure = self._unstructure_entity
        return orjson.dumps([unstructure(entity) for entity in entities], option=DUMPS_OPTIONS)

    def decode(
        self,
        payload: bytes | Any,
        *,
        consume: bool = False,
        source: bytes | bytearray | memoryview | str | None = None,
    ) -> list[ResultT]:
        """The results of a ``{"results": [...]}`` body (bytes, str or parsed), in order.

        A bare array is accepted too. Unknown fields stay in each model's ``extra``, in the
        order the body gives them. Raises :class:`ResponseDecodeError` naming every bad
        path. The number of results is not checked here.

        ``consume=True`` hands a parsed ``payload`` over: its results list is filled with
        the models in place (and returned), so each parsed result is freed as soon as its
        model exists. With ``source``, the text ``payload`` was parsed from, the parsed
        dicts themselves are taken apart too (what is left of each, its unknown keys,
        becomes a model's ``extra``), and a result that the fast path cannot vouch for is
        read again from ``source`` before the converter sees it. Bytes are always
        consumed that way (they are parsed here). Either way the models and the errors
        are those of ``consume=False``.
        """
        what = f"{self.name} response"
        if isinstance(payload, _TEXT):
            source = payload
            payload = loads(payload, what)
            consume = True
        results = _body_results(payload, what)
        if consume and type(results) is list:
            # In place: a parsed result is released as soon as its model exists, so a
            # chunk never holds both in full (fewer young objects for the GC to promote).
            fast = self._fast_result if source is None else self._owned_result
            try:
                for position, result in enumerate(results):
                    results[position] = fast(result)
                return results
            except Exception:  # the converter decides: the same models, or the errors
                pass
            if source is not None:  # the JSON was taken apart: the converter reads it afresh
                results = _body_results(loads(source, what), what)
        else:
            try:
                return [self._fast_result(result) for result in results]
            except Exception:  # the converter decides: the same models, or the errors
                pass
        structure = self._structure_result
        cls = self.result_type
        try:
            # Models already built in place are kept (parsed JSON is never a ``cls``).
            return [result if type(result) is cls else structure(result, cls) for result in results]
        except Exception:
            pass
        raise ResponseDecodeError(f"unexpected {what}", self._result_errors(results)) from None

    def _result_errors(self, results: Sequence[Any]) -> list[FieldError]:
        errors: list[FieldError] = []
        for position, result in enumerate(results):
            if type(result) is self.result_type:
                continue  # built in place by a consuming decode: it has no errors
            prefix = join("results", position)
            for path, message in field_errors(result, self.result_type):
                errors.append((_under(prefix, path), message))
        return errors or [("results", "does not fit the model")]


def _under(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"


def _call_problem(message: str) -> Problem:
    return Problem(index=None, identifier=None, field="entities", message=message)


EMISSIONS_ESTIMATES: AnalysisSpec[EmissionsEstimateEntity, EmissionsEstimateResult] = AnalysisSpec(
    "emissions-estimates", EmissionsEstimateEntity, EmissionsEstimateResult, equity_only=False
)
EMISSIONS_PROJECTIONS: AnalysisSpec[EmissionsProjectionEntity, EmissionsProjectionResult] = (
    AnalysisSpec(
        "emissions-projections",
        EmissionsProjectionEntity,
        EmissionsProjectionResult,
        equity_only=True,
    )
)
CLIMATE_RISK: AnalysisSpec[ClimateRiskEntity, ClimateRiskResult] = AnalysisSpec(
    "climate-risk", ClimateRiskEntity, ClimateRiskResult, equity_only=False
)
CLIMATE_RISK_PROJECTIONS: AnalysisSpec[ClimateRiskProjectionEntity, ClimateRiskProjectionResult] = (
    AnalysisSpec(
        "climate-risk-projections",
        ClimateRiskProjectionEntity,
        ClimateRiskProjectionResult,
        equity_only=True,
    )
)
TEMPERATURE_ALIGNMENT: AnalysisSpec[TemperatureAlignmentEntity, TemperatureAlignmentResult] = (
    AnalysisSpec(
        "temperature-alignment",
        TemperatureAlignmentEntity,
        TemperatureAlignmentResult,
        equity_only=False,
    )
)
TEMPERATURE_ALIGNMENT_PROJECTIONS: AnalysisSpec[
    TemperatureAlignmentProjectionEntity, TemperatureAlignmentProjectionResult
] = AnalysisSpec(
    "temperature-alignment-projections",
    TemperatureAlignmentProjectionEntity,
    TemperatureAlignmentProjectionResult,
    equity_only=True,
)
COMPANY_RANKING: AnalysisSpec[CompanyRankingEntity, CompanyRankingResult] = AnalysisSpec(
    "company-ranking", CompanyRankingEntity, CompanyRankingResult, equity_only=True
)

ANALYSES: Mapping[str, AnalysisSpec[Any, Any]] = {
    spec.name: spec
    for spec in (
        EMISSIONS_ESTIMATES,
        EMISSIONS_PROJECTIONS,
        CLIMATE_RISK,
        CLIMATE_RISK_PROJECTIONS,
        TEMPERATURE_ALIGNMENT,
        TEMPERATURE_ALIGNMENT_PROJECTIONS,
        COMPANY_RANKING,
    )
}
"""Every analysis spec by its path segment."""
