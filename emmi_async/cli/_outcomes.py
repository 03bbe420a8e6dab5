"""Outcomes into output rows: one per result year, or one failed row per input year."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from emmi_async.batch import Outcome
from emmi_async.cli._mapping import Failure, describe_failure
from emmi_async.cli._operations import Operation, Row
from emmi_async.cli._portfolio import SourceEntity
from emmi_async.cli._progress import Reporter, Summary
from emmi_async.cli._results import ResultWriter

__all__ = ["MAX_NOTES", "OutcomeWriter"]

MAX_NOTES = 50
"""Problems printed during a run; the rest are counted (all are in the error column)."""


class OutcomeWriter:
    """Writes each outcome as output rows, counts statuses in ``summary``, and notes the
    first :data:`MAX_NOTES` problems (then counts them in :attr:`hidden`)."""

    def __init__(
        self,
        display: str,
        operation: Operation,
        writer: ResultWriter,
        reporter: Reporter,
        summary: Summary,
    ) -> None:
        self.display = display
        self.operation = operation
        self.writer = writer
        self.reporter = reporter
        self.summary = summary
        self.notes = 0
        self.hidden = 0
        self.error_kinds: set[str] = set()

    def add(self, source: SourceEntity, outcome: Outcome[Any]) -> None:
        """Write ``outcome`` of ``source``: its result rows, or one failed row per year."""
        if outcome.error is None and not source.problems:
            self._rows(source, "ok", "", self.operation.rows(outcome.result))
            return
        failure = describe_failure(source, outcome.error, self.display)
        years = source.years or [None]
        self._rows(source, failure.status, failure.message, ({"year": y} for y in years))
        self._note_failure(source, failure)

    def _rows(self, source: SourceEntity, status: str, error: str, rows: Iterator[Row]) -> None:
        self.summary.status[status] = self.summary.status.get(status, 0) + 1
        written = 0
        for row in rows:
            row["identifier"] = source.identifier
            row["status"] = status
            row["error"] = error or None
            self.writer.write(row)
            written += 1
        if not written:
            self.writer.write({"identifier": source.identifier, "status": status})
            written = 1
        self.summary.rows += written

    def _note_failure(self, source: SourceEntity, failure: Failure) -> None:
        self.summary.add_problem(
            source.identifier,
            failure.status,
            failure.message,
            ((problem.line, problem.field, problem.message) for problem in failure.problems),
            first_line=source.first_line,
        )
        if failure.status == "error":
            kind = failure.message.split(":", 1)[0]
            if kind in self.error_kinds:
                return
            self.error_kinds.add(kind)
            lines = [f"{self.display}:{source.first_line}: {failure.message}"]
        elif failure.problems:
            lines = [str(problem) for problem in failure.problems]
        else:
            where = f"{self.display}:{source.first_line}"
            lines = [f"{where}: {source.identifier or '(no identifier)'}: {failure.message}"]
        for line in lines:
            if self.notes < MAX_NOTES:
                self.reporter.note(line)
                self.notes += 1
            else:
                self.hidden += 1
