"""What watches a batch run from outside: ``on_progress``, OpenTelemetry and a progress display.

The runner knows one thing of it: :func:`watch_run` at the start of a run, whose
:attr:`RunWatch.on_event` gets every :class:`~emmi_async.BatchEvent` (instead of the
runner's ``on_progress`` alone), :meth:`RunWatch.within` to start the run's tasks under
the run's span, and :meth:`RunWatch.finish` at its end. All three observers are fed by
the same events; none of them changes what the run does.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, Union

from emmi_async import _telemetry
from emmi_async.batch._outcome import BatchEvent, BatchStats

if TYPE_CHECKING:
    from emmi_async._otel import BatchTelemetry
    from emmi_async.progress import ProgressDisplay, ProgressFactory

__all__ = ["Progress", "RunWatch", "watch_run"]

P = ParamSpec("P")
T = TypeVar("T")

Observer = Callable[[BatchEvent], object]
Progress = Union[bool, "ProgressFactory"]
"""``progress=``: ``False`` (none), ``True`` (:func:`emmi_async.progress.progress_bar`), or a
factory of displays (see :mod:`emmi_async.progress`)."""


class RunWatch:
    """The observers of one run."""

    __slots__ = ("_display", "_telemetry", "on_event")

    def __init__(
        self,
        on_event: Observer | None,
        telemetry: BatchTelemetry | None,
        display: ProgressDisplay | None,
    ) -> None:
        self.on_event = on_event
        """Call it with every event of the run (``None``: nobody listens)."""
        self._telemetry = telemetry
        self._display = display

    def within(
        self, func: Callable[P, Coroutine[Any, Any, T]]
    ) -> Callable[P, Coroutine[Any, Any, T]]:
        """``func`` as the task under which the run's tasks start (its span is current)."""
        return func if self._telemetry is None else self._telemetry.within(func)

    def finish(self, error: BaseException | None) -> None:
        """The run ended (``error``: what ended it early, if anything)."""
        try:
            if self._telemetry is not None:
                self._telemetry.finish(error)
        finally:
            if self._display is not None:
                self._display.close()


def watch_run(
    endpoint: str,
    stats: BatchStats,
    on_progress: Observer | None,
    progress: Progress,
    total: int | None,
) -> RunWatch:
    """Start watching a run of ``endpoint`` (its ``stats``) over ``total`` entities
    (``None``: not known in advance).

    Events go to OpenTelemetry (when a provider is set), then to the progress display
    (when ``progress`` asks for one and the output is interactive), then to the user's
    ``on_progress``, whose errors end the run as before.
    """
    display: ProgressDisplay | None = None
    if progress:
        if progress is True:
            from emmi_async.progress import progress_bar

            factory: ProgressFactory = progress_bar
        else:
            factory = progress
        display = factory(total, endpoint)
    telemetry = _telemetry.current()  # after the display: nothing to end if it raised
    batch = None if telemetry is None else telemetry.batch(endpoint, stats)
    observers = [observer for observer in (batch, display, on_progress) if observer is not None]
    if len(observers) <= 1:
        return RunWatch(observers[0] if observers else None, batch, display)

    def on_event(event: BatchEvent) -> None:
        for observer in observers:
            observer(event)

    return RunWatch(on_event, batch, display)
