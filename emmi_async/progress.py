"""Progress displays for batch runs, fed by the runner's :class:`~emmi_async.BatchEvent` s.

``runner.run(entities, progress=True)`` (and ``runner.stream(..., progress=True)``) calls
:func:`progress_bar`, which picks where people look:

- in Jupyter (an IPython kernel): tqdm's notebook bar when ``tqdm`` and ``ipywidgets``
  are installed, else rich's bar (``pip install 'emmi-async[cli]'``);
- in a terminal (stderr is a TTY): rich's bar on stderr;
- anywhere else (a pipe, a log file, CI): nothing at all, not a line.

Any function of the shape of :data:`ProgressFactory` may be passed instead of ``True``:
it is called once per run with the number of input entities (``None`` when the input has
no length) and a description (the endpoint), and returns a :class:`ProgressDisplay`, an
observer that gets every event of the run and is closed when the run ends (also when it
fails or the consumer stops early), or ``None`` for no display. rich and tqdm are
imported only when a display is made.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

from emmi_async.batch._outcome import BatchEvent, BatchStats

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

__all__ = [
    "ProgressDisplay",
    "ProgressFactory",
    "RichProgress",
    "TqdmProgress",
    "environment",
    "progress_bar",
]


class ProgressDisplay(Protocol):
    """An observer of one run's events that draws something, closed when the run ends."""

    def __call__(self, event: BatchEvent) -> object:
        """Take one event (``event.stats`` holds the run's live counters)."""

    def close(self) -> None:
        """The run ended: draw the final state and release the display."""


ProgressFactory = Callable[[int | None, str], "ProgressDisplay | None"]
"""``factory(total, description)``: the display of one run, or ``None`` for none."""

_SHOWN_KINDS = frozenset({"done", "failed", "retried", "throttled", "split"})


def environment() -> Literal["notebook", "terminal"] | None:
    """Where this process shows output: a Jupyter kernel, a terminal, or nowhere visible."""
    ipython = sys.modules.get("IPython")  # never imported here: only if the user runs it
    if ipython is not None:
        get_ipython = getattr(ipython, "get_ipython", None)
        shell = get_ipython() if callable(get_ipython) else None
        if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
            return "notebook"
    stream = sys.stderr
    try:
        if stream is not None and stream.isatty():
            return "terminal"
    except (AttributeError, ValueError):  # replaced or closed stderr
        pass
    return None


def progress_bar(total: int | None, description: str) -> ProgressDisplay | None:
    """The default display (what ``progress=True`` means); see the module's docstring."""
    where = environment()
    if where is None:
        return None
    if where == "notebook" and _installed("tqdm") and _installed("ipywidgets"):
        from tqdm.notebook import tqdm as notebook_tqdm

        return TqdmProgress(notebook_tqdm(total=total, desc=description, unit="entity"))
    if _installed("rich"):
        return RichProgress(total, description)
    return None


def _installed(module: str) -> bool:
    return module in sys.modules or importlib.util.find_spec(module) is not None


def _postfix(stats: BatchStats) -> str:
    parts = []
    if stats.failed:
        parts.append(f"{stats.failed:,} failed")
    if stats.retries:
        parts.append(f"{stats.retries:,} retries")
    if stats.throttled:
        parts.append(f"{stats.throttled:,} throttled (429)")
    if stats.splits:
        parts.append(f"{stats.splits:,} splits")
    return ", ".join(parts)


class TqdmProgress:
    """A tqdm bar (``tqdm.notebook.tqdm`` in Jupyter, or any tqdm-like bar) fed by events.

    The bar counts entities with an outcome (``stats.done``); failures, retries, 429s
    and splits show as its postfix.
    """

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self._stats: BatchStats | None = None

    def __call__(self, event: BatchEvent) -> None:
        if event.kind not in _SHOWN_KINDS:
            return
        self._stats = stats = event.stats
        bar = self.bar
        done = stats.done
        if done != bar.n:
            bar.set_postfix_str(_postfix(stats), refresh=False)
            bar.update(done - bar.n)
        elif event.kind != "done":
            bar.set_postfix_str(_postfix(stats))

    def close(self) -> None:
        stats, bar = self._stats, self.bar
        if stats is not None:
            if bar.total is None:
                bar.total = stats.done
            bar.set_postfix_str(_postfix(stats), refresh=False)
            bar.update(stats.done - bar.n)
        bar.close()


class RichProgress:
    """A rich bar (a live display on stderr, or ``console``) fed by events."""

    def __init__(self, total: int | None, description: str, console: Console | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress: Progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[extra]}"),
            console=console or Console(stderr=True),
        )
        self.task: TaskID = self.progress.add_task(description, total=total, extra="")
        self._stats: BatchStats | None = None
        self.progress.start()

    def __call__(self, event: BatchEvent) -> None:
        if event.kind in _SHOWN_KINDS:
            self._stats = stats = event.stats
            self.progress.update(self.task, completed=stats.done, extra=_postfix(stats))

    def close(self) -> None:
        stats = self._stats
        if stats is not None:
            task = self.progress.tasks[0]
            total = stats.done if task.total is None else task.total
            self.progress.update(
                self.task, completed=stats.done, total=total, extra=_postfix(stats)
            )
        self.progress.stop()
