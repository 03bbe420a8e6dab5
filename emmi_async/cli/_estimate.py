"""``emmi estimate``: a portfolio file through the batch runner's table path
(:meth:`BatchRunner.stream_frames`) into a results file.

Contract:

- The input is read, checked and grouped before anything is sent (:mod:`._read`): an
  input error (encoding, malformed CSV, missing column) is exit 2 naming the line.
- One output row per entity-year (climate risk: per entity-year-scenario), entities in
  order of their first row, with ``status`` (``ok``, ``invalid``, ``rejected``,
  ``error``) and ``error``. A failed entity gets one row per input year. Result frames
  are written as they come (:mod:`._write`); memory is bounded by the runner's window.
- The results file appears only when the run finishes (it is written as ``.part``).
- A journal (default ``RESULTS.journal.jsonl``) records finished entities, so a rerun of
  the same command after an interruption resumes; it is deleted when a run ends with
  nothing left to retry.
- Exit 0 when every entity succeeded, 1 when some failed, 2 for usage or input errors
  (nothing sent) and for refused credentials (a 401 or 403 stops the run at once), 130
  when interrupted (SIGINT or SIGTERM: the summary is printed, no ``.part`` is left).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio
import polars as pl

from emmi_async.batch import BatchStats, JournalMismatchError
from emmi_async.cli._connect import (
    check_credentials,
    credential_message,
    open_client,
    refused_credentials,
)
from emmi_async.cli._errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, CliError
from emmi_async.cli._notes import ResultNotes, rewrite
from emmi_async.cli._operations import OPERATIONS, Operation, OperationOptions
from emmi_async.cli._progress import Reporter, Summary, make_reporter
from emmi_async.cli._read import Portfolio, input_format, open_portfolio
from emmi_async.cli._write import FrameWriter, check_output

__all__ = ["run_estimate"]

_MAX_STRICT = 200

T = TypeVar("T")


@dataclass
class Plan:
    """Everything ``estimate`` needs, checked before anything is sent."""

    args: argparse.Namespace
    portfolio: Portfolio
    output: Path
    operation: Operation
    options: dict[str, Any]
    """The endpoint options of :meth:`BatchRunner.stream_frames` (checked)."""
    journal: Path | None
    command: str


def journal_path(output: str, journal: str | None, disabled: bool) -> Path | None:
    """The journal file: ``--journal``, else ``RESULTS.journal.jsonl``; ``None`` when off."""
    if disabled:
        return None
    return Path(journal) if journal else Path(output + ".journal.jsonl")


def _options(args: argparse.Namespace, operation: Operation) -> dict[str, Any]:
    given = {
        "scenario": bool(args.scenario),
        "method": args.method is not None,
        "projection_year": bool(args.projection_year),
        "target": bool(args.target),
    }
    for option, used in given.items():
        if used and option not in operation.uses:
            takers = [op.name for op in OPERATIONS.values() if option in op.uses]
            raise CliError(
                f"--{option.replace('_', '-')} applies to {' and '.join(takers)}, "
                f"not to {operation.name}"
            )
    years = tuple(year for group in args.projection_year or () for year in group)
    options = OperationOptions(
        scenarios=tuple(args.scenario or ()),
        method=args.method,
        projection_years=years,
        targets=tuple(args.target or ()),
    )
    # rows cannot carry these: the flags must
    if operation.name == "climate-risk-projections" and not options.scenarios:
        raise CliError("climate-risk-projections needs at least one --scenario")
    method = options.method or "monte_carlo"
    if "method" in operation.uses and method == "monte_carlo" and not years:
        raise CliError("emissions-projections (monte_carlo) needs --projection-year")
    if "method" in operation.uses and method == "glide_path" and not options.targets:
        raise CliError("emissions-projections (glide_path) needs --target")
    chosen = {
        "scenarios": list(options.scenarios) or None,
        "method": method if "method" in operation.uses else None,
        "projection_years": list(years) or None,
        "targets": [dict(target) for target in options.targets] or None,
    }
    from emmi_async.frames import RULES, _check_options

    try:
        _check_options(operation.spec, RULES[operation.name], chosen)
    except (TypeError, ValueError) as exc:
        raise CliError(str(exc)) from None
    return chosen


def make_plan(args: argparse.Namespace, argv: list[str]) -> Plan:
    """Check the arguments, the credentials, the output path; read and group the input."""
    if args.reference_latency_ms and not args.reference_server:
        raise CliError("--reference-latency-ms applies to --reference-server only")
    check_credentials(args)
    check_output(args.output)
    operation = OPERATIONS[args.operation]
    options = _options(args, operation)
    spec: str = args.portfolio
    input_format(spec, args.format)
    if spec != "-" and Path(args.output).resolve() == Path(spec).resolve():
        raise CliError("the results file would overwrite the portfolio")
    portfolio = open_portfolio(
        spec,
        fmt=args.format,
        encoding=args.encoding,
        delimiter=args.delimiter,
        warn=lambda text: _stderr(f"emmi: warning: {text}"),
    )
    journal = journal_path(args.output, args.journal, args.no_journal)
    if journal is not None and args.fresh:
        journal.unlink(missing_ok=True)
    return Plan(
        args, portfolio, Path(args.output), operation, options, journal, "emmi " + shlex.join(argv)
    )


class _DryRun:
    """What :class:`TableSource` admits entities into, for ``--strict``: sends nothing,
    keeps the failures."""

    def __init__(self) -> None:
        self.next_index = 0
        self.failed: dict[int, Exception] = {}

    def take_index(self) -> int:
        index = self.next_index
        self.next_index += 1
        return index

    def settle_early(self, index: int, identifier: str | None, error: Exception) -> None:
        self.failed[index] = error

    def client_for(self, group: str | None) -> None:
        return None

    def add(self, index: int, identifier: str | None, body: bytes, group: str | None) -> None:
        return None

    def add_many(
        self, identifiers: Sequence[str | None], bodies: Sequence[bytes], group: str | None
    ) -> None:
        self.next_index += len(bodies)


def strict_check(plan: Plan, note: Callable[[str], None]) -> int:
    """Run the table path's checks (the SDK's validation) on every entity; nothing is sent.

    Returns the number of entities; raises :class:`CliError` (exit 2) listing the
    problems (the first :data:`_MAX_STRICT`) when there is any.
    """
    from emmi_async.frames import RULES
    from emmi_async.frames._layout import OUTPUTS
    from emmi_async.frames._tables import ResultBook, TableOperation, TableSource

    operation = TableOperation(plan.operation.spec, OUTPUTS[plan.operation.name], keep_bodies=False)
    book = ResultBook(operation, extra=False, flush=1)
    options = {name: value for name, value in plan.options.items() if value is not None}
    run = _DryRun()

    async def check() -> None:
        source = TableSource(
            plan.portfolio.frames(), operation, RULES[operation.name], options, None, book
        )
        units = source.units()
        assert isinstance(units, AsyncIterator)
        async for frame in units:
            source.admit(run, frame)  # type: ignore[arg-type]

    anyio.run(check)
    display = plan.portfolio.display
    problems: list[str] = []
    for index, error in sorted(run.failed.items()):
        text = book.message_of(index) or str(error)
        _, found = rewrite(text, plan.portfolio.line_of)
        problems += [f"{display}:{line}: {column}: {message}" for line, column, message in found]
        if not found:
            problems.append(f"{display}: {text}")
    if problems:
        for problem in problems[:_MAX_STRICT]:
            note(problem)
        more = len(problems) - _MAX_STRICT
        if more > 0:
            note(f"... and {more} more")
        raise CliError(
            f"--strict: {len(problems)} problem(s) in {len(run.failed)} of "
            f"{run.next_index} entities; nothing was sent"
        )
    return run.next_index


def _frames(portfolio: Portfolio) -> Iterator[pl.DataFrame]:
    yield from portfolio.frames()


async def _run(plan: Plan, reporter: Reporter, total: int | None, summary: Summary) -> None:
    args = plan.args
    operation = plan.operation
    portfolio = plan.portfolio
    from emmi_async.frames._layout import OUTPUTS

    empty = pl.DataFrame(schema=OUTPUTS[operation.name].all_columns)
    writer = FrameWriter(plan.output, empty)
    notes = ResultNotes(portfolio.display, portfolio.line_of, reporter, summary)
    stats: BatchStats | None = None
    try:
        async with open_client(args, max_connections=args.concurrency or 64) as client:
            runner = client.batch(
                operation.method(client),
                chunk_size=args.chunk_size,
                max_concurrency=args.concurrency,
                deadline=args.deadline,
                journal=plan.journal,
                on_progress=lambda event: reporter.settled(event.stats),
            )
            count = "" if total is None else f", {total:,} entities"
            reporter.start(total, f"{operation.name}: {portfolio.display}{count}")
            stream = runner.stream_frames(_frames(portfolio), ordered=True, **plan.options)
            async with stream as frames:
                async for frame in frames:
                    writer.write(notes.add(frame))
                    stats = runner.stats
                    reporter.update(notes.entities, stats)
            stats = runner.stats
        writer.commit()
    finally:
        writer.discard()
        reporter.finish()
        summary.total = notes.entities
        if stats is not None:
            summary.stats = stats.summary()
        if notes.hidden:
            reporter.note(
                f"... and {notes.hidden} more problem(s): see the error column of {plan.output}"
            )


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Signals that stop a run cleanly: Ctrl-C, and ``docker stop`` or a cancelled CI job."""


async def _interruptible(body: Callable[[], Awaitable[T]]) -> tuple[T | None, str | None]:
    """Run ``body``; the first SIGINT or SIGTERM cancels it cleanly.

    ``(result, signal name)``; the name is ``None`` when no signal came. A second signal
    gets the default behaviour (the receiver is closed by then).
    """
    stopped_by: str | None = None
    result: T | None = None
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            nonlocal stopped_by
            with anyio.open_signal_receiver(*_STOP_SIGNALS) as signals:
                async for received in signals:
                    stopped_by = signal.Signals(received).name
                    group.cancel_scope.cancel()
                    return

        if threading.current_thread() is threading.main_thread():
            group.start_soon(watch)
            await anyio.lowlevel.checkpoint()
        result = await body()
        group.cancel_scope.cancel()
    return result, stopped_by


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    if isinstance(exc, kind):
        return exc
    for sub in getattr(exc, "exceptions", ()):
        found = _find(sub, kind)
        if found is not None:
            return found
    return None


def run_estimate(args: argparse.Namespace, argv: list[str]) -> int:
    """The ``estimate`` command; returns the exit code (raises :class:`CliError`)."""
    plan = make_plan(args, argv)
    try:
        return _estimate(plan)
    finally:
        plan.portfolio.close()


def _estimate(plan: Plan) -> int:
    args = plan.args
    mode: Literal["auto", "quiet", "json"] = (
        "json" if args.json else "quiet" if args.quiet else "auto"
    )
    summary = Summary(
        operation=plan.operation.name,
        input=plan.portfolio.display,
        output=str(plan.output),
        journal=None if plan.journal is None else str(plan.journal),
    )
    reporter = make_reporter(mode, summary)
    total = strict_check(plan, reporter.note) if args.strict else plan.portfolio.entities
    fresh_journal = plan.journal is not None and not plan.journal.exists()
    stopped_by: str | None
    try:
        _, stopped_by = anyio.run(
            _interruptible, lambda: _run(plan, reporter, total, summary), backend="asyncio"
        )
    except KeyboardInterrupt:  # no signal handler (not the main thread, or Windows)
        stopped_by = "SIGINT"
    except Exception as exc:
        refused = refused_credentials(exc)
        if refused is not None:
            if fresh_journal and plan.journal is not None:
                _drop_if_empty(plan.journal)
            raise CliError(credential_message(refused, args)) from None
        mismatch = _find(exc, JournalMismatchError)
        if mismatch is None:
            raise
        raise CliError(
            f"{mismatch}; or pass --fresh to discard the journal and start over"
        ) from None
    interrupted = stopped_by is not None
    summary.interrupted = interrupted
    failed = sum(count for status, count in summary.status.items() if status != "ok")
    summary.exit_code = EXIT_INTERRUPTED if interrupted else EXIT_FAILED if failed else EXIT_OK
    if not interrupted and plan.journal is not None and not summary.status.get("error"):
        plan.journal.unlink(missing_ok=True)  # nothing left to retry
        summary.journal = None
    reporter.summary(summary)
    _advice(plan, summary, stopped_by)
    return summary.exit_code


def _drop_if_empty(journal: Path) -> None:
    """Remove a journal this run made and recorded nothing in (its header only), so that
    a refused run leaves no file behind to match or to pass --fresh for."""
    try:
        with journal.open("rb") as file:
            lines = sum(1 for line in file if line.strip())
    except OSError:
        return
    if lines <= 1:
        journal.unlink(missing_ok=True)


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


def _advice(plan: Plan, summary: Summary, stopped_by: str | None = None) -> None:
    """What to do next, on stderr (also with --quiet: it matters)."""
    if summary.interrupted:
        how = "Interrupted" if stopped_by in (None, "SIGINT") else f"Interrupted ({stopped_by})"
        if plan.journal is None:
            _stderr(f"{how}. Nothing was journaled (--no-journal): a rerun starts over.")
            return
        _stderr(
            f"{how}: {plan.output} was not written; finished entities are kept in the "
            f"journal {plan.journal}.\nTo resume, run the same command again:\n"
            f"  {plan.command}"
        )
        if plan.args.journal is None:
            _stderr(
                "(it finds the journal by the results file's name; pass --journal "
                "FILE to keep it elsewhere)"
            )
        return
    transient = summary.status.get("error", 0)
    if transient and plan.journal is not None:
        _stderr(
            f"{transient} entities failed transiently. Run the same command again to retry "
            f"only those (the journal {plan.journal} keeps the others)."
        )
