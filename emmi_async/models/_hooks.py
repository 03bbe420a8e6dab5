"""cattrs hook factories: strict scalars, optionals, sequences, mappings, attrs classes.

Every hook is built once per type when the converter first meets it; nothing here reflects
on types per call. Scalars are strict (a ``"12"`` is not a number, ``True`` is not an
integer) so that dict input fails with a clear message instead of being mangled. Each
factory has a fast variant and a detailed variant (for the twin converter that only runs
after a failure, to name every bad field).
"""

from __future__ import annotations

import datetime as dt
import enum
import numbers
import types
import typing
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

__all__ = ["register_hooks"]

StructureHook = Callable[[Any, Any], Any]
UnstructureHook = Callable[[Any], Any]

_NONE = type(None)
_SEQUENCE_ORIGINS = (Sequence, tuple, list)


# -- scalars ---------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {shown!r}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value}"
    return type(value).__name__


def structure_int(value: Any, _: Any = None) -> int:
    """An ``int``; integral floats (``2023.0``) and numpy-style integers are accepted."""
    if type(value) is int:
        return value
    if not isinstance(value, bool):
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
    raise TypeError(f"expected an integer, got {_describe(value)}")


def structure_float(value: Any, _: Any = None) -> float:
    """A number (``int`` kept as is, other reals turned into ``float``); no strings, no bools."""
    cls = type(value)
    if cls is float or cls is int:
        return value  # type: ignore[no-any-return]
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {_describe(value)}")
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"expected a number, got {_describe(value)}")


def structure_str(value: Any, _: Any = None) -> str:
    """A string; subclasses (str enums) become plain strings."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    raise TypeError(f"expected a string, got {_describe(value)}")


def structure_bool(value: Any, _: Any = None) -> bool:
    """``true`` or ``false`` only."""
    if type(value) is bool:
        return value
    raise TypeError(f"expected a boolean, got {_describe(value)}")


def structure_uuid(value: Any, _: Any = None) -> uuid.UUID:
    """A UUID from its string form."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValueError(f"expected a UUID, got {_describe(value)}")


def structure_date(value: Any, _: Any = None) -> dt.date:
    """A date from ``YYYY-MM-DD`` (a ``datetime`` is cut to its date)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"expected an ISO date (YYYY-MM-DD), got {_describe(value)}")


def structure_datetime(value: Any, _: Any = None) -> dt.datetime:
    """A datetime from ISO 8601 (a trailing ``Z`` means UTC, also on Python 3.10)."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"expected an ISO 8601 datetime, got {_describe(value)}")


def _enum_structure(cls: type[enum.Enum]) -> StructureHook:
    table: dict[Any, enum.Enum] = {member.value: member for member in cls}
    table.update({member: member for member in cls})
    allowed = ", ".join(str(member.value) for member in cls)

    def structure_enum(value: Any, _: Any = None) -> enum.Enum:
        try:
            return table[value]
        except (KeyError, TypeError):
            raise ValueError(f"expected one of {allowed}; got {_describe(value)}") from None

    return structure_enum


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _identity(value: Any, _: Any = None) -> Any:
    return value


def _opt_int(value: Any, _: Any = None) -> int | None:
    if value is None or type(value) is int:
        return value
    return structure_int(value)


def _opt_float(value: Any, _: Any = None) -> float | None:
    cls = type(value)
    if value is None or cls is float or cls is int:
        return value  # type: ignore[no-any-return]
    return structure_float(value)


def _opt_str(value: Any, _: Any = None) -> str | None:
    if value is None or type(value) is str:
        return value
    return structure_str(value)


_OPTIONAL_SCALARS: Mapping[Any, StructureHook] = {int: _opt_int, float: _opt_float, str: _opt_str}


# -- type predicates --------------------------------------------------------------------


def _is_optional(tp: Any) -> bool:
    if get_origin(tp) not in (Union, types.UnionType):
        return False
    args = get_args(tp)
    return len(args) == 2 and _NONE in args


def _optional_inner(tp: Any) -> Any:
    first, second = get_args(tp)
    return second if first is _NONE else first


def _is_sequence(tp: Any) -> bool:
    if get_origin(tp) not in _SEQUENCE_ORIGINS:
        return False
    args = get_args(tp)
    return len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis)


def _is_mapping(tp: Any) -> bool:
    return get_origin(tp) in (Mapping, dict) and len(get_args(tp)) == 2


# -- containers -------------------------------------------------------------------------


def _items(value: Any) -> Iterable[Any]:
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"expected a list, got {_describe(value)}")
    return value


def _sequence_structure(conv: cattrs.Converter, tp: Any, detailed: bool) -> StructureHook:
    inner = get_args(tp)[0]
    hook = conv.get_structure_hook(inner)

    def structure_sequence(value: Any, _: Any = None) -> tuple[Any, ...]:
        cls = type(value)
        if cls is list or cls is tuple:
            return tuple([hook(item, inner) for item in value])
        return tuple([hook(item, inner) for item in _items(value)])

    def structure_sequence_detailed(value: Any, _: Any = None) -> tuple[Any, ...]:
        result = []
        errors: list[Exception] = []
        for index, item in enumerate(_items(value)):
            try:
                result.append(hook(item, inner))
            except Exception as exc:
                note = IterableValidationNote(f"Structuring item {index}", index, inner)
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
        return tuple(result)

    return structure_sequence_detailed if detailed else structure_sequence


def _mapping_structure(conv: cattrs.Converter, tp: Any, detailed: bool) -> StructureHook:
    key_type, value_type = get_args(tp)
    key_hook = conv.get_structure_hook(key_type)
    value_hook = conv.get_structure_hook(value_type)

    def structure_mapping(value: Any, _: Any = None) -> dict[Any, Any]:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object, got {_describe(value)}")
        result = {}
        errors: list[Exception] = []
        for key, item in value.items():
            try:
                result[key_hook(key, key_type)] = value_hook(item, value_type)
            except Exception as exc:
                if not detailed:
                    raise
                note = IterableValidationNote(f"Structuring value @ key {key!r}", key, value_type)
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]
                errors.append(exc)
        if errors:
            raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
        return result

    return structure_mapping


def _optional_structure(conv: cattrs.Converter, tp: Any) -> StructureHook:
    inner = _optional_inner(tp)
    if inner in _OPTIONAL_SCALARS:
        return _OPTIONAL_SCALARS[inner]
    hook = conv.get_structure_hook(inner)

    def structure_optional(value: Any, _: Any = None) -> Any:
        return None if value is None else hook(value, inner)

    return structure_optional


# -- attrs classes ----------------------------------------------------------------------


def null_means_default(cls: type[Any]) -> frozenset[str]:
    """The fields of ``cls`` for which a JSON ``null`` reads as the field's default: those
    with a default whose type does not hold ``None`` (``estimated: Sequence[str] = ()``).
    Only answers' classes have such fields; a server that writes ``null`` for "nothing"
    is read as one that leaves the field out."""
    hints = typing.get_type_hints(cls)
    return frozenset(
        field.name
        for field in attrs.fields(cls)
        if field.name != "extra"
        and field.default is not attrs.NOTHING
        and not _is_optional(hints[field.name])
    )


def _without_nulls(data: Mapping[str, Any], names: frozenset[str]) -> Mapping[str, Any]:
    if not any(data.get(name, 0) is None for name in names):
        return data
    return {key: value for key, value in data.items() if value is not None or key not in names}


def _class_structure(conv: cattrs.Converter, cls: type[Any]) -> StructureHook:
    """Generated structuring, plus unknown keys gathered into ``extra`` when the class has
    it; a ``null`` for a field of :func:`null_means_default` is left out first."""
    names = [field.name for field in attrs.fields(cls)]
    defaulted = null_means_default(cls)
    if "extra" not in names:
        plain = make_dict_structure_fn(cls, conv)
        if not defaulted:
            return plain

        def structure_plain(data: Any, _: Any = None) -> Any:
            if isinstance(data, Mapping):
                data = _without_nulls(data, defaulted)
            return plain(data, cls)

        return structure_plain
    base = make_dict_structure_fn(cls, conv, extra=override(struct_hook=_identity))
    known = frozenset(name for name in names if name != "extra")

    def split(data: Mapping[str, Any]) -> dict[str, Any]:
        # A C-level copy; Python-level work only per key. ``extra`` in the body's order.
        fields = dict(data)
        fields["extra"] = {key: fields.pop(key) for key in data if key not in known}
        return fields

    def structure_class(data: Any, _: Any = None) -> Any:
        if type(data) is not dict and not isinstance(data, Mapping):
            raise TypeError(f"expected an object, got {_describe(data)}")
        if defaulted:
            data = _without_nulls(data, defaulted)
        if known.issuperset(data):
            return base(data, cls)
        return base(split(data), cls)

    return structure_class


def _class_unstructure(conv: cattrs.Converter, cls: type[Any]) -> UnstructureHook:
    """Generated unstructuring without ``None`` fields; ``extra`` keys are merged back in."""
    names = [field.name for field in attrs.fields(cls)]
    if "extra" not in names:
        return make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True)
    base = make_dict_unstructure_fn(
        cls, conv, _cattrs_omit_if_default=True, extra=override(omit=True)
    )

    def unstructure_class(obj: Any) -> dict[str, Any]:
        data = base(obj)
        extra = obj.extra
        if extra:
            return {**extra, **data}
        return data

    return unstructure_class


# -- unstructuring of containers --------------------------------------------------------


def _is_identity(hook: Any) -> bool:
    return hook is identity or hook is _identity


def _optional_unstructure(conv: cattrs.Converter, tp: Any) -> UnstructureHook:
    hook = conv.get_unstructure_hook(_optional_inner(tp))
    if _is_identity(hook):
        return identity

    def unstructure_optional(value: Any) -> Any:
        return None if value is None else hook(value)

    return unstructure_optional


def _sequence_unstructure(conv: cattrs.Converter, tp: Any) -> UnstructureHook:
    hook = conv.get_unstructure_hook(get_args(tp)[0])
    if _is_identity(hook):
        return list

    def unstructure_sequence(value: Any) -> list[Any]:
        return [hook(item) for item in value]

    return unstructure_sequence


def _mapping_unstructure(conv: cattrs.Converter, tp: Any) -> UnstructureHook:
    hook = conv.get_unstructure_hook(get_args(tp)[1])

    def unstructure_mapping(value: Any) -> dict[Any, Any]:
        return {key: hook(item) for key, item in value.items()}

    return unstructure_mapping


# -- registration -----------------------------------------------------------------------


def register_hooks(
    conv: cattrs.Converter, *, detailed: bool, enums: Iterable[type[enum.Enum]] = ()
) -> None:
    """Install every hook of the model layer on ``conv`` (fast or detailed variant)."""
    # Class registrations go to cattrs' singledispatch, which wins over predicates; so the
    # str enums are registered by class too (else the ``str`` hook would catch them).
    for tp, hook in (
        (int, structure_int),
        (float, structure_float),
        (str, structure_str),
        (bool, structure_bool),
        (uuid.UUID, structure_uuid),
        (dt.date, structure_date),
        (dt.datetime, structure_datetime),
    ):
        conv.register_structure_hook(tp, hook)
    for enum_cls in enums:
        conv.register_structure_hook(enum_cls, _enum_structure(enum_cls))
        conv.register_unstructure_hook(enum_cls, _enum_value)
    conv.register_unstructure_hook(uuid.UUID, str)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)

    conv.register_structure_hook_factory(_is_optional, lambda tp: _optional_structure(conv, tp))
    conv.register_unstructure_hook_factory(_is_optional, lambda tp: _optional_unstructure(conv, tp))
    conv.register_structure_hook_factory(
        _is_sequence, lambda tp: _sequence_structure(conv, tp, detailed)
    )
    conv.register_unstructure_hook_factory(_is_sequence, lambda tp: _sequence_unstructure(conv, tp))
    conv.register_structure_hook_factory(
        _is_mapping, lambda tp: _mapping_structure(conv, tp, detailed)
    )
    conv.register_unstructure_hook_factory(_is_mapping, lambda tp: _mapping_unstructure(conv, tp))
    conv.register_structure_hook_factory(attrs.has, lambda cls: _class_structure(conv, cls))
    conv.register_unstructure_hook_factory(attrs.has, lambda cls: _class_unstructure(conv, cls))
