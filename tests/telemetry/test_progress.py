"""progress=True: a bar fed by the run's events where people look, nothing elsewhere."""

from __future__ import annotations

import io
import sys
import types
from typing import Any, ClassVar

import pytest
from rich.console import Console
from tqdm.std import tqdm

from emmi_async import progress as progress_module
from emmi_async.batch import BatchEvent
from emmi_async.progress import RichProgress, TqdmProgress
from emmi_async.testing import FaultConfig, ReferenceServer
from tests.batch._support import client_bad, entity

pytestmark = pytest.mark.anyio


class NotebookBar(tqdm):  # type: ignore[misc]
    """Stands in for ``tqdm.notebook.tqdm`` (which needs a kernel and ipywidgets)."""

    made: ClassVar[list[NotebookBar]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("file", io.StringIO())
        super().__init__(*args, **kwargs)
        self.shown: list[int] = []
        self.made.append(self)

    def update(self, n: float | None = 1) -> bool | None:
        result = super().update(n)
        self.shown.append(self.n)
        return result


@pytest.fixture
def notebook(monkeypatch: pytest.MonkeyPatch) -> type[NotebookBar]:
    """A Jupyter kernel, as far as :func:`emmi_async.progress.progress_bar` can tell."""
    fake = types.ModuleType("tqdm.notebook")
    fake.tqdm = NotebookBar  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm.notebook", fake)
    monkeypatch.setitem(sys.modules, "ipywidgets", types.ModuleType("ipywidgets"))
    monkeypatch.setattr(progress_module, "environment", lambda: "notebook")
    NotebookBar.made = []
    return NotebookBar


async def test_notebook_bar_follows_the_event_stream(notebook: type[NotebookBar]) -> None:
    events: list[BatchEvent] = []
    done_seen: list[int] = []

    def on_progress(event: BatchEvent) -> None:
        events.append(event)
        done_seen.append(event.stats.done)

    faults = FaultConfig(status_rates={500: 0.2}, seed=6)
    items = [client_bad(i) if i % 10 == 3 else entity(i) for i in range(60)]
    async with ReferenceServer(faults=faults) as server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=5, on_progress=on_progress)
        report = await runner.run(items, progress=True)
    (bar,) = notebook.made
    assert bar.total == 60
    assert bar.desc == "emissions-estimates"
    assert bar.n == report.stats.done == 60
    assert bar.shown == sorted(bar.shown)  # never goes back
    assert set(bar.shown) <= set(done_seen)  # every value shown came from an event
    assert bar.disable  # closed
    assert f"{report.stats.failed} failed" in bar.postfix
    assert report.stats.retries > 0
    assert f"{report.stats.retries} retries" in bar.postfix


async def test_an_input_without_length_has_an_open_ended_bar(notebook: type[NotebookBar]) -> None:
    async def entities() -> Any:
        for index in range(12):
            yield entity(index)

    async with ReferenceServer() as server, server.client() as client:
        await client.batch(client.emissions.estimate, chunk_size=5).run(entities(), progress=True)
    (bar,) = notebook.made
    assert bar.n == 12
    assert bar.total == 12  # set at the end


async def test_nothing_is_shown_when_the_output_is_not_interactive(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert progress_module.environment() is None  # pytest captures stderr: not a TTY
    async with ReferenceServer() as server, server.client() as client:
        report = await client.batch(client.emissions.estimate).run(
            [entity(i) for i in range(5)], progress=True
        )
    assert report.ok
    assert capsys.readouterr() == ("", "")


async def test_a_rich_bar_in_a_terminal() -> None:
    screen = io.StringIO()
    displays: list[RichProgress] = []

    def factory(total: int | None, description: str) -> RichProgress:
        console = Console(file=screen, force_terminal=True, width=120)
        display = RichProgress(total, description, console=console)
        displays.append(display)
        return display

    async with ReferenceServer() as server, server.client() as client:
        await client.batch(client.emissions.estimate, chunk_size=5).run(
            [entity(i) for i in range(20)], progress=factory
        )
    (display,) = displays
    assert display.progress.tasks[0].completed == 20
    assert display.progress.finished
    assert "emissions-estimates" in screen.getvalue()
    assert "20/20" in screen.getvalue()


async def test_a_display_factory_sees_every_event_and_is_closed_once() -> None:
    class Recorder:
        def __init__(self, total: int | None, description: str) -> None:
            self.total, self.description = total, description
            self.kinds: list[str] = []
            self.closed = 0

        def __call__(self, event: BatchEvent) -> None:
            self.kinds.append(event.kind)

        def close(self) -> None:
            self.closed += 1

    made: list[Recorder] = []

    def factory(total: int | None, description: str) -> Recorder:
        made.append(Recorder(total, description))
        return made[-1]

    async with ReferenceServer() as server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=2, max_concurrency=1)
        async with runner.stream([entity(i) for i in range(50)], progress=factory) as outcomes:
            async for _ in outcomes:
                break
    (recorder,) = made
    assert recorder.total == 50
    assert recorder.closed == 1
    assert "done" in recorder.kinds


def test_tqdm_display_of_a_plain_bar() -> None:
    from emmi_async.batch import BatchStats

    bar = tqdm(total=None, file=io.StringIO())
    display = TqdmProgress(bar)
    stats = BatchStats(succeeded=3, failed=1, retries=2)
    display(BatchEvent("done", 3, stats))
    display(BatchEvent("concurrency", 4, stats))
    assert bar.n == 4
    display.close()
    assert bar.total == 4
