"""From an outcome's error back to the input file: status, message and file:line:field.

SDK problems name JSON paths (``data[1].financials.revenue``); here they become the line
of the row that holds ``data[1]`` and, for CSV and Parquet, the column (``revenue``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from emmi_async._exceptions import (
    EmmiError,
    EntityValidationError,
    UnprocessableEntityError,
)
from emmi_async._retry import is_permanent
from emmi_async.cli._portfolio import RowProblem, SourceEntity

__all__ = ["Failure", "describe_failure", "locate"]

_INDEXED = re.compile(r"^(data|projections|projected_emissions)\[(\d+)\]")
_INDEX = re.compile(r"\[\d+\]")


def locate(source: SourceEntity, display: str, path: str, message: str) -> RowProblem:
    """The problem at JSON ``path`` of ``source`` as ``file:line: field: message``."""
    line = source.first_line
    match = _INDEXED.match(path)
    if match is not None:
        lines = source.data_lines if match.group(1) == "data" else source.projected_lines
        position = int(match.group(2))
        if position < len(lines):
            line = lines[position]
    label = path
    if source.paths_are_columns:
        label = _INDEX.sub("", path).rsplit(".", 1)[-1] or path
    return RowProblem(display, line, label, message)


@dataclass(frozen=True)
class Failure:
    """Why an entity has no result: its output ``status``, the ``error`` cell, and the
    problems to show the user (``file:line: field: message``; empty for a transient one)."""

    status: str
    message: str
    problems: tuple[RowProblem, ...] = ()


def _join(problems: Iterable[RowProblem]) -> str:
    return "; ".join(problem.short() for problem in problems)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def describe_failure(source: SourceEntity, error: Exception | None, display: str) -> Failure:
    """Classify a failed entity: ``invalid`` (bad input, never sent), ``rejected`` (the API
    refused it; a rerun would too) or ``error`` (transient: a rerun may succeed)."""
    if source.problems:
        return Failure("invalid", _join(source.problems), tuple(source.problems))
    if isinstance(error, EntityValidationError):
        problems = tuple(
            locate(source, display, problem.field, problem.message) for problem in error.problems
        )
        return Failure("invalid", _join(problems), problems)
    if isinstance(error, UnprocessableEntityError):
        problems = tuple(
            locate(
                source, display, str(detail.get("field", "(entity)")), str(detail.get("message"))
            )
            for detail in error.details
            if isinstance(detail, dict)
        )
        suffix = (
            f" (HTTP 422, request id {error.request_id})" if error.request_id else " (HTTP 422)"
        )
        text = _join(problems) + suffix if problems else _one_line(str(error))
        return Failure("rejected", text, problems)
    if error is not None and is_permanent(error):
        return Failure("rejected", _one_line(str(error)))
    if isinstance(error, (ValueError, TypeError)) and not isinstance(error, EmmiError):
        return Failure("invalid", _one_line(str(error)))
    text = _one_line(str(error)) if error is not None else "no result"
    return Failure("error", text or type(error).__name__)
