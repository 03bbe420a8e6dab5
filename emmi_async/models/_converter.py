"""The one converter of the SDK and the helpers everything else uses to cross JSON.

``converter`` is fast (no detailed validation); when structuring fails, the same data is
structured again by a detailed twin with the same hooks, only to name every bad field.
Unstructuring gives JSON-ready objects: ``None`` fields and empty ``extra`` dropped,
enums as values, UUIDs and dates as strings, sequences as lists.
"""

from __future__ import annotations

from typing import Any, TypeVar

import cattrs
import orjson

from emmi_async.models._enums import AssetType
from emmi_async.models._errors import FieldError, ResponseDecodeError, StructureError, flatten
from emmi_async.models._hooks import register_hooks

__all__ = [
    "converter",
    "decode",
    "dumps",
    "field_errors",
    "loads",
    "structure",
    "to_json",
]

T = TypeVar("T")

DUMPS_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
"""orjson options for every body we send (numpy scalars pass; NaN never reaches here)."""


def _make_converter(*, detailed: bool) -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=detailed, omit_if_default=True)
    register_hooks(conv, detailed=detailed, enums=(AssetType,))
    return conv


converter: cattrs.Converter = _make_converter(detailed=False)
"""The SDK's converter: models to JSON-ready objects and back, fast path."""

_detailed: cattrs.Converter = _make_converter(detailed=True)


def field_errors(data: Any, cls: type[Any]) -> list[FieldError]:
    """Every ``(path, message)`` that stops ``data`` from structuring as ``cls`` (slow)."""
    try:
        _detailed.structure(data, cls)
    except Exception as exc:
        return flatten(exc) or [("", str(exc))]
    return []


def structure(data: Any, cls: type[T]) -> T:
    """``data`` (JSON-shaped) as a ``cls``; raises :class:`StructureError` naming each field."""
    try:
        return converter.structure(data, cls)
    except Exception as exc:
        errors = field_errors(data, cls) or [("", str(exc))]
        raise StructureError(f"invalid {cls.__name__}", errors) from None


def to_json(obj: Any) -> Any:
    """``obj`` (a model, or a list/dict of models) as a JSON-ready object; ``None`` dropped."""
    return converter.unstructure(obj)


def dumps(obj: Any) -> bytes:
    """``obj`` as JSON bytes (orjson)."""
    return orjson.dumps(converter.unstructure(obj), option=DUMPS_OPTIONS)


def loads(payload: bytes | bytearray | memoryview | str, what: str = "response") -> Any:
    """Parse JSON; a body that is not JSON raises :class:`ResponseDecodeError`."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise ResponseDecodeError(f"{what} is not valid JSON", [("", str(exc))]) from None


def decode(payload: Any, cls: type[T], what: str | None = None) -> T:
    """A response body (bytes/str, or already parsed) as a ``cls``.

    Unknown keys land in ``extra``; a missing required field or a wrong type raises
    :class:`ResponseDecodeError` listing every bad path.
    """
    label = what or f"{cls.__name__} response"
    if isinstance(payload, (bytes, bytearray, memoryview, str)):
        payload = loads(payload, label)
    try:
        return converter.structure(payload, cls)
    except Exception as exc:
        errors = field_errors(payload, cls) or [("", str(exc))]
        raise ResponseDecodeError(f"unexpected {label}", errors) from None
