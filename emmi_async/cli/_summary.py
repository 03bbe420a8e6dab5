"""The final summary of a CLI run: counts by status, the runner's stats, the exit code.

Its own module so that the reporters (:mod:`emmi_async.cli._progress`, and
:mod:`emmi_async.cli._rich` built on it) import it without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_PROBLEMS", "STATUSES", "Summary"]

STATUSES = {
    "ok": "succeeded",
    "invalid": "bad input, never sent",
    "rejected": "refused by the API",
    "error": "transient, deadline or interrupted: a rerun retries",
}
"""Output statuses and what each means."""

MAX_PROBLEMS = 1000
"""Failed entities listed in the ``--json`` summary; the rest are counted."""


@dataclass
class Summary:
    """What a run did: counts by status, the runner's stats, files and the exit code."""

    operation: str
    input: str
    output: str
    journal: str | None
    total: int = 0
    rows: int = 0
    status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    stats: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    exit_code: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    problems_not_listed: int = 0

    @property
    def failed(self) -> int:
        """Entities so far whose status is not ``ok``."""
        return sum(count for status, count in self.status.items() if status != "ok")

    def add_problem(
        self,
        identifier: str | None,
        status: str,
        error: str,
        problems: Iterable[tuple[int | None, str, str]] = (),
        first_line: int | None = None,
    ) -> None:
        """List a failed entity for ``--json``: its ``status``, ``error`` cell and
        ``(line, field, message)`` problems; the first :data:`MAX_PROBLEMS`, then a count."""
        if len(self.problems) >= MAX_PROBLEMS:
            self.problems_not_listed += 1
            return
        self.problems.append(
            {
                "identifier": identifier,
                "first_line": first_line,
                "status": status,
                "error": error,
                "problems": [
                    {"line": line, "field": field, "message": message}
                    for line, field, message in problems
                ],
            }
        )

    def to_json(self) -> dict[str, Any]:
        """The summary as printed by ``--json``."""
        return {
            "operation": self.operation,
            "input": self.input,
            "output": None if self.interrupted else self.output,
            "journal": self.journal,
            "entities": self.total,
            "rows": self.rows,
            "status": dict(self.status),
            "stats": dict(self.stats),
            "interrupted": self.interrupted,
            "exit_code": self.exit_code,
            "problems": list(self.problems),
            "problems_not_listed": self.problems_not_listed,
        }

    def lines(self) -> list[tuple[str, str]]:
        """``(label, value)`` pairs of the human summary table."""
        stats = self.stats
        out: list[tuple[str, str]] = [
            ("Operation", self.operation),
            (
                "Results",
                "not written (interrupted)"
                if self.interrupted
                else f"{self.output} ({self.rows:,} rows)",
            ),
            ("Entities", f"{self.total:,}"),
        ]
        for name, meaning in STATUSES.items():
            out.append((f"  {name}", f"{self.status.get(name, 0):,}  ({meaning})"))
        out.append(("Resumed", f"{stats.get('resumed', 0):,}  (outcomes taken from the journal)"))
        for label, key in (
            ("Requests", "requests"),
            ("Retries", "retries"),
            ("429s", "throttled"),
            ("Splits", "splits"),
        ):
            out.append((label, f"{stats.get(key, 0):,}"))
        out.append(("Elapsed", f"{stats.get('elapsed_s', 0.0):.2f} s"))
        out.append(("Entities/s", f"{stats.get('entities_per_s', 0.0):,.0f}"))
        p50, p99 = stats.get("latency_p50_ms"), stats.get("latency_p99_ms")
        if p50 is not None and p99 is not None:
            out.append(("Latency p50/p99", f"{p50:.1f} / {p99:.1f} ms"))
        if self.journal is not None:
            out.append(("Journal", self.journal))
        return out
