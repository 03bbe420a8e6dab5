"""Result frames as the user sees them: counts by status, problems named by file line.

The table path names a problem by its row in the stream (``row 369: data[1].financials.
revenue: ...``); here that becomes the input's line and column (``line 371: revenue:
...``) in the ``error`` column, and ``FILE:LINE: COLUMN: MESSAGE`` on stderr for the
first :data:`MAX_NOTES` problems (the rest are counted; all are in the error column).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import polars as pl

from emmi_async.cli._progress import Reporter, Summary

__all__ = ["MAX_NOTES", "ResultNotes", "rewrite"]

MAX_NOTES = 50
"""Problems printed during a run; the rest are counted (all are in the error column)."""

_ROW = re.compile(r"row (\d+): ([^:]+): ")
_PARTS = re.compile(r"; (?=row \d+: )")
_INDEX = re.compile(r"\[\d+\]")

Problem = tuple[int, str, str]
"""``(line, column, message)``."""


def _column(path: str) -> str:
    return _INDEX.sub("", path).rsplit(".", 1)[-1] or path


def rewrite(text: str, line_of: Callable[[int], int]) -> tuple[str, list[Problem]]:
    """``text`` with each ``row N: path: message`` as ``line L: column: message``, and
    those problems (none when ``text`` names no row)."""
    problems: list[Problem] = []
    for part in _PARTS.split(text):
        match = _ROW.match(part)
        if match is None:
            return text, []
        problems.append(
            (line_of(int(match.group(1))), _column(match.group(2)), part[match.end() :])
        )
    return "; ".join(f"line {line}: {column}: {message}" for line, column, message in problems), (
        problems
    )


class ResultNotes:
    """Counts entities by status in ``summary``, rewrites the error column, notes problems."""

    def __init__(
        self, display: str, line_of: Callable[[int], int], reporter: Reporter, summary: Summary
    ) -> None:
        self.display = display
        self.line_of = line_of
        self.reporter = reporter
        self.summary = summary
        self.entities = 0
        self.notes = 0
        self.hidden = 0
        self._kinds: set[str] = set()

    def add(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Account for the result rows of whole entities (rows of one entity together);
        the frame with its error column in file lines."""
        identifier = pl.col("identifier")
        starts = frame.select((identifier != identifier.shift(1)).fill_null(True).alias("s"))
        firsts = frame.filter(starts["s"])
        self.entities += firsts.height
        self.summary.rows += frame.height
        status = self.summary.status
        for name, count in firsts["status"].value_counts().iter_rows():
            status[name] = status.get(name, 0) + count
        failed = firsts.filter(pl.col("status") != "ok")
        if not failed.height:
            return frame
        mapping: dict[str, str] = {}
        for ident, state, error in failed.select("identifier", "status", "error").iter_rows():
            text, problems = rewrite(error or "no result", self.line_of)
            if error is not None:
                mapping[error] = text
            self._note(ident, state, text, problems)
        return frame.with_columns(pl.col("error").replace(mapping))

    def _note(
        self, identifier: str | None, status: str, text: str, problems: list[Problem]
    ) -> None:
        self.summary.add_problem(identifier, status, text, problems)
        if status == "error":
            kind = text.split(":", 1)[0]
            if kind in self._kinds:
                return
            self._kinds.add(kind)
        if problems:
            lines = [f"{self.display}:{line}: {col}: {message}" for line, col, message in problems]
        else:
            lines = [f"{self.display}: {identifier or '(no identifier)'}: {text}"]
        for line in lines:
            if self.notes < MAX_NOTES:
                self.reporter.note(line)
                self.notes += 1
            else:
                self.hidden += 1
