"""Progress and summary output: rich when installed, plain text otherwise, or none.

Everything human goes to stderr, so stdout stays free for ``--json``. A
:class:`Reporter` is told the total (when known), each step, notes (bad rows) and the
final :class:`Summary`. :func:`make_reporter` picks one; rich is imported only then.
"""

from __future__ import annotations

import sys
import time
from typing import Literal, Protocol, TextIO

import orjson

from emmi_async.batch import BatchStats
from emmi_async.cli._summary import STATUSES, Summary

__all__ = ["STATUSES", "PlainReporter", "QuietReporter", "Reporter", "Summary", "make_reporter"]


class Reporter(Protocol):
    """Receives the progress of a run."""

    def start(self, total: int | None, description: str) -> None: ...

    def update(self, done: int, stats: BatchStats | None) -> None:
        """``done`` entities written so far; ``stats`` the runner's live counters."""

    def note(self, text: str) -> None:
        """A line for the user (a bad row...), shown above the bar."""

    def finish(self) -> None:
        """Stop the bar (before the summary or an error message)."""

    def summary(self, summary: Summary) -> None: ...


class QuietReporter:
    """``--quiet``: nothing at all; ``--json``: only the summary, as JSON on stdout."""

    def __init__(self, json_summary: bool = False, stdout: TextIO | None = None) -> None:
        self._json = json_summary
        self._stdout = stdout

    def start(self, total: int | None, description: str) -> None:
        pass

    def update(self, done: int, stats: BatchStats | None) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def finish(self) -> None:
        pass

    def summary(self, summary: Summary) -> None:
        if self._json:
            stdout = self._stdout or sys.stdout
            stdout.write(orjson.dumps(summary.to_json(), option=orjson.OPT_INDENT_2).decode())
            stdout.write("\n")
            stdout.flush()


class PlainReporter:
    """Without rich: a progress line every ``interval`` seconds and a text table."""

    def __init__(self, stream: TextIO | None = None, interval: float = 2.0) -> None:
        self._stream = stream or sys.stderr
        self._interval = interval
        self._total: int | None = None
        self._started = time.monotonic()
        self._last = 0.0

    def _print(self, text: str) -> None:
        print(text, file=self._stream, flush=True)

    def start(self, total: int | None, description: str) -> None:
        self._total = total
        self._started = self._last = time.monotonic()
        self._print(description)

    def update(self, done: int, stats: BatchStats | None) -> None:
        now = time.monotonic()
        if now - self._last < self._interval and done != self._total:
            return
        self._last = now
        elapsed = max(now - self._started, 1e-9)
        rate = done / elapsed
        text = f"  {done:,}"
        if self._total:
            text += f"/{self._total:,} ({100 * done / self._total:.0f}%)"
            if rate > 0:
                text += f", ETA {max(self._total - done, 0) / rate:.0f} s"
        text += f", {rate:,.0f} entities/s"
        if stats is not None:
            text += f", retries {stats.retries}, 429s {stats.throttled}"
        self._print(text)

    def note(self, text: str) -> None:
        self._print(text)

    def finish(self) -> None:
        pass

    def summary(self, summary: Summary) -> None:
        lines = summary.lines()
        width = max(len(label) for label, _ in lines)
        self._print("Summary")
        for label, value in lines:
            self._print(f"  {label.ljust(width)}  {value}")


def make_reporter(mode: Literal["auto", "plain", "quiet", "json"]) -> Reporter:
    """The reporter for ``mode``; ``auto`` is rich when installed, else plain."""
    if mode == "quiet":
        return QuietReporter()
    if mode == "json":
        return QuietReporter(json_summary=True)
    if mode == "auto":
        try:
            from emmi_async.cli._rich import RichReporter
        except ImportError:
            pass
        else:
            return RichReporter()
    return PlainReporter()
