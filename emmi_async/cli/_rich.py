"""The rich progress bar and summary table (imported only when rich is installed)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from emmi_async.batch import BatchStats
from emmi_async.cli._summary import Summary

__all__ = ["RichReporter"]

_MIN_INTERVAL = 0.05


class _RateColumn(ProgressColumn):
    """Entities per second, as rich estimates it from recent steps."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("- entities/s" if speed is None else f"{speed:,.0f} entities/s", "cyan")


class RichReporter:
    """A live bar on stderr: done/total, entities/s, ETA, retries and 429s; then a table."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last = 0.0
        self._done = 0

    def start(self, total: int | None, description: str) -> None:
        self._console.print(Text(description, style="bold"), highlight=False)
        self._progress = Progress(
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            _RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("retries {task.fields[retries]}  429s {task.fields[throttled]}"),
            console=self._console,
            speed_estimate_period=10.0,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, retries=0, throttled=0)

    def update(self, done: int, stats: BatchStats | None) -> None:
        progress, task = self._progress, self._task
        if progress is None or task is None:
            return
        done = self._done = max(self._done, done, stats.done if stats is not None else 0)
        now = self._console.get_time()
        total = progress.tasks[0].total
        if now - self._last < _MIN_INTERVAL and done != total:
            return
        self._last = now
        retries = stats.retries if stats is not None else 0
        throttled = stats.throttled if stats is not None else 0
        progress.update(task, completed=done, retries=retries, throttled=throttled)

    def settled(self, stats: BatchStats) -> None:
        self.update(self._done, stats)

    def note(self, text: str) -> None:
        self._console.print(Text(text, style="yellow"), highlight=False, soft_wrap=True)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def summary(self, summary: Summary) -> None:
        table = Table(title="emmi estimate", show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        for label, value in summary.lines():
            style = None
            name = label.strip()
            count = summary.status.get(name, 0)
            if name in ("invalid", "rejected", "error") and count:
                style = "red"
            elif name == "ok":
                style = "green"
            table.add_row(label, Text(value, style=style or ""))
        self._console.print(table)
