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

__all__ = [
    "PLAIN_INTERVAL",
    "STATUSES",
    "PlainReporter",
    "QuietReporter",
    "Reporter",
    "Summary",
    "make_reporter",
]

PLAIN_INTERVAL = 2.0
"""Seconds between two plain progress lines."""


class Reporter(Protocol):
    """Receives the progress of a run."""

    def start(self, total: int | None, description: str) -> None: ...

    def update(self, done: int, stats: BatchStats | None) -> None:
        """``done`` entities written so far; ``stats`` the runner's live counters. The
        count shown is the larger of ``done`` and the entities the runner has settled."""

    def settled(self, stats: BatchStats) -> None:
        """The runner settled entities (its ``on_progress``): results may be written
        later, in bigger pieces, but the display moves now."""

    def note(self, text: str) -> None:
        """A line for the user (a bad row...), shown above the bar."""

    def finish(self) -> None:
        """Stop the bar (before the summary or an error message)."""

    def summary(self, summary: Summary) -> None: ...


class QuietReporter:
    """``--quiet``: only the problems (bad rows, failures), on stderr; ``--json``: those,
    and the summary as JSON on stdout (with the problems in it)."""

    def __init__(
        self,
        json_summary: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self._json = json_summary
        self._stdout = stdout
        self._stderr = stderr

    def start(self, total: int | None, description: str) -> None:
        pass

    def update(self, done: int, stats: BatchStats | None) -> None:
        pass

    def settled(self, stats: BatchStats) -> None:
        pass

    def note(self, text: str) -> None:
        print(text, file=self._stderr or sys.stderr, flush=True)

    def finish(self) -> None:
        pass

    def summary(self, summary: Summary) -> None:
        if self._json:
            stdout = self._stdout or sys.stdout
            stdout.write(orjson.dumps(summary.to_json(), option=orjson.OPT_INDENT_2).decode())
            stdout.write("\n")
            stdout.flush()


class PlainReporter:
    """Without a terminal (or without rich): a progress line every ``interval`` seconds
    (done/total, rate, ETA, failures, retries, 429s) and a text table.

    ``summary``, when given, is the run's live summary: its failures so far are shown.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        interval: float = PLAIN_INTERVAL,
        summary: Summary | None = None,
    ) -> None:
        self._stream = stream or sys.stderr
        self._interval = interval
        self._live = summary
        self._total: int | None = None
        self._started = time.monotonic()
        self._last = 0.0
        self._done = 0

    def _print(self, text: str) -> None:
        print(text, file=self._stream, flush=True)

    def start(self, total: int | None, description: str) -> None:
        self._total = total
        self._started = self._last = time.monotonic()
        self._print(description)

    def update(self, done: int, stats: BatchStats | None) -> None:
        done = self._done = max(self._done, done, stats.done if stats is not None else 0)
        now = time.monotonic()
        if now - self._last < self._interval and done != self._total:
            return
        if done == self._total and self._last > now:  # the last line is out already
            return
        self._last = now if done != self._total else float("inf")
        elapsed = max(now - self._started, 1e-9)
        rate = done / elapsed
        text = f"  {done:,}"
        if self._total:
            text += f"/{self._total:,} ({100 * done / self._total:.0f}%)"
            if rate > 0:
                text += f", ETA {max(self._total - done, 0) / rate:.0f} s"
        text += f", {rate:,.0f} entities/s"
        if stats is not None:
            text += f", {max(stats.failed, self._failed()):,} failed"
        elif self._live is not None:
            text += f", {self._live.failed:,} failed"
        if stats is not None:
            text += f", retries {stats.retries}, 429s {stats.throttled}"
        self._print(text)

    def _failed(self) -> int:
        return self._live.failed if self._live is not None else 0

    def settled(self, stats: BatchStats) -> None:
        self.update(self._done, stats)

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


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):  # a closed or detached stream
        return False


def make_reporter(
    mode: Literal["auto", "plain", "quiet", "json"], summary: Summary | None = None
) -> Reporter:
    """The reporter for ``mode``. ``auto`` is the rich bar when rich is installed and
    stderr is a terminal, else plain lines (CI logs, ``docker logs``, a pipe).
    ``summary`` is the run's live summary (plain lines show its failures)."""
    if mode == "quiet":
        return QuietReporter()
    if mode == "json":
        return QuietReporter(json_summary=True)
    if mode == "auto" and _is_terminal(sys.stderr):
        try:
            from emmi_async.cli._rich import RichReporter
        except ImportError:
            pass
        else:
            return RichReporter()
    return PlainReporter(summary=summary)
