"""Errors of the model layer and the turning of cattrs' error trees into field paths."""

from __future__ import annotations

from collections.abc import Sequence

from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)

from emmi_async._exceptions import EmmiError

__all__ = ["FieldError", "ResponseDecodeError", "StructureError", "flatten"]

FieldError = tuple[str, str]
"""``(path, message)``, e.g. ``("data[1].financials.currency", "expected a string, got int")``."""


class StructureError(ValueError):
    """Data did not fit a model; ``errors`` lists every ``(path, message)`` found."""

    def __init__(self, what: str, errors: Sequence[FieldError]) -> None:
        self.what = what
        self.errors: tuple[FieldError, ...] = tuple(errors)
        lines = "\n".join(f"  - {path or '(top level)'}: {message}" for path, message in errors)
        super().__init__(f"{what}:\n{lines}")

    def __reduce__(self) -> tuple[type[StructureError], tuple[str, tuple[FieldError, ...]]]:
        return (type(self), (self.what, self.errors))


class ResponseDecodeError(StructureError, EmmiError):
    """A response body was not JSON or did not have the shape the SDK expects."""


def join(path: str, step: str | int) -> str:
    """``join("data", 1) == "data[1]"``, ``join("data[1]", "year") == "data[1].year"``."""
    if isinstance(step, int):
        return f"{path}[{step}]"
    if step.isidentifier():
        return f"{path}.{step}" if path else step
    return f"{path}[{step!r}]"


def flatten(exc: BaseException, path: str = "") -> list[FieldError]:
    """Every leaf error below ``exc`` (a cattrs detailed-validation error tree) with its path."""
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        found: list[FieldError] = []
        for sub in exc.exceptions:
            note = _note(sub)
            if isinstance(note, AttributeValidationNote):
                found += flatten(sub, join(path, note.name))
            elif isinstance(note, IterableValidationNote):
                found += flatten(sub, join(path, note.index))
            else:
                found += flatten(sub, path)
        return found
    if isinstance(exc, KeyError):
        return [(path, "required field missing")]
    return [(path, _message(exc))]


def _note(exc: BaseException) -> object:
    for note in getattr(exc, "__notes__", ()):
        if isinstance(note, (AttributeValidationNote, IterableValidationNote)):
            return note
    return None


def _message(exc: BaseException) -> str:
    text = str(exc)
    return text if text else type(exc).__name__
