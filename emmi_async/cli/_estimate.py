"""``emmi estimate``: a portfolio file through the batch runner into a results file.

Contract:

- One output row per entity-year (climate risk: per entity-year-scenario), in input
  order, with ``status`` (``ok``, ``invalid``, ``rejected``, ``error``) and ``error``. A
  failed entity gets one row per input year. Outcomes stream in input order and are
  written as they come; memory is bounded by the runner's window.
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
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio

from emmi_async import EntityValidationError
from emmi_async.batch import BatchStats, JournalMismatchError
from emmi_async.cli._connect import (
    check_credentials,
    credential_message,
    open_client,
    refused_credentials,
)
from emmi_async.cli._errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, CliError
from emmi_async.cli._mapping import locate
from emmi_async.cli._operations import OPERATIONS, Operation, OperationOptions
from emmi_async.cli._outcomes import OutcomeWriter
from emmi_async.cli._portfolio import Portfolio, RowProblem, SourceEntity, open_portfolio
from emmi_async.cli._progress import Reporter, Summary, make_reporter
from emmi_async.cli._results import check_output, open_writer

__all__ = ["run_estimate"]

_MAX_STRICT = 200

T = TypeVar("T")


@dataclass
class Plan:
    """Everything ``estimate`` needs, checked before anything is read or sent."""

    args: argparse.Namespace
    portfolio: Portfolio
    output: Path
    operation: Operation
    options: OperationOptions
    journal: Path | None
    command: str


def journal_path(output: str, journal: str | None, disabled: bool) -> Path | None:
    """The journal file: ``--journal``, else ``RESULTS.journal.jsonl``; ``None`` when off."""
    if disabled:
        return None
    return Path(journal) if journal else Path(output + ".journal.jsonl")


def _options(args: argparse.Namespace, operation: Operation, tabular: bool) -> OperationOptions:
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
    if tabular:  # rows cannot carry these: the flags must
        if operation.name == "climate-risk-projections" and not options.scenarios:
            raise CliError("climate-risk-projections needs at least one --scenario")
        method = options.method or "monte_carlo"
        if "method" in operation.uses and method == "monte_carlo" and not years:
            raise CliError("emissions-projections (monte_carlo) needs --projection-year")
        if "method" in operation.uses and method == "glide_path" and not options.targets:
            raise CliError("emissions-projections (glide_path) needs --target")
    return options


def make_plan(args: argparse.Namespace, argv: list[str]) -> Plan:
    """Check the arguments, the credentials, the input header and the output path."""
    if args.reference_latency_ms and not args.reference_server:
        raise CliError("--reference-latency-ms applies to --reference-server only")
    check_credentials(args)
    check_output(args.output)
    if Path(args.output).is_dir():
        raise CliError(f"{args.output}: is a directory; -o takes a results file name")
    if args.portfolio != "-" and Path(args.portfolio).is_dir():
        raise CliError(f"{args.portfolio}: is a directory, not a portfolio file")
    portfolio = open_portfolio(args.portfolio)
    if Path(args.output).resolve() == portfolio.path.resolve():
        raise CliError("the results file would overwrite the portfolio")
    operation = OPERATIONS[args.operation]
    options = _options(args, operation, portfolio.tabular)
    journal = journal_path(args.output, args.journal, args.no_journal)
    if journal is not None and args.fresh:
        journal.unlink(missing_ok=True)
    return Plan(
        args,
        portfolio,
        Path(args.output),
        operation,
        options,
        journal,
        "emmi " + shlex.join(argv),
    )


def _shaped(plan: Plan) -> Iterator[SourceEntity]:
    display = plan.portfolio.display
    for source in plan.portfolio.entities():
        plan.operation.shape(source, plan.options, display)
        yield source


def strict_check(plan: Plan, note: Callable[[str], None]) -> int:
    """Read the whole file and run the SDK's validation on every entity; nothing is sent.

    Returns the number of entities; raises :class:`CliError` (exit 2) listing the
    problems (the first :data:`_MAX_STRICT`) when there is any.
    """
    spec = plan.operation.spec
    display = plan.portfolio.display
    problems: list[RowProblem] = []
    bad = count = 0
    for index, source in enumerate(_shaped(plan)):
        count += 1
        found = list(source.problems)
        if not found:
            try:
                entity = spec.coerce(source.entity, index)
                issues = list(spec.problems(entity, index))
            except EntityValidationError as exc:
                issues = list(exc.problems)
            except (TypeError, ValueError) as exc:
                found.append(RowProblem(display, source.first_line, "(entity)", str(exc)))
                issues = []
            found += [locate(source, display, issue.field, issue.message) for issue in issues]
        if found:
            bad += 1
            problems += found
    if problems:
        for problem in problems[:_MAX_STRICT]:
            note(str(problem))
        more = len(problems) - _MAX_STRICT
        if more > 0:
            note(f"... and {more} more")
        raise CliError(
            f"--strict: {len(problems)} problem(s) in {bad} of {count} entities; nothing was sent"
        )
    return count


def _placeholder(source: SourceEntity) -> dict[str, Any]:
    """What the runner gets for an entity with bad rows: it fails validation, unsent."""
    return {"entity_info": {"identifier": source.identifier}, "data": []}


async def _run(plan: Plan, reporter: Reporter, total: int | None, summary: Summary) -> None:
    args = plan.args
    operation = plan.operation
    pending: deque[SourceEntity] = deque()

    def feed() -> Iterator[Any]:
        for source in _shaped(plan):
            pending.append(source)
            yield _placeholder(source) if source.problems else source.entity

    writer = open_writer(plan.output, operation.all_columns)
    output = OutcomeWriter(plan.portfolio.display, operation, writer, reporter, summary)
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
            reporter.start(total, f"{operation.name}: {plan.portfolio.display}{count}")
            done = 0
            async with runner.stream(feed(), ordered=True) as outcomes:
                async for outcome in outcomes:
                    refused = refused_credentials(outcome.error)
                    if refused is not None:
                        raise refused  # every later request would get it too: stop
                    source = pending.popleft()
                    if outcome.index != done:  # pragma: no cover - the runner's contract
                        raise RuntimeError(f"outcome {outcome.index} arrived as {done}")
                    output.add(source, outcome)
                    done += 1
                    stats = runner.stats
                    reporter.update(done, stats)
            stats = runner.stats
        writer.commit()
    finally:
        writer.discard()
        reporter.finish()
        summary.total = sum(summary.status.values())
        if stats is not None:
            summary.stats = stats.summary()
        if output.hidden:
            reporter.note(
                f"... and {output.hidden} more problem(s): see the error column of {plan.output}"
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
    total: int | None = None
    if args.strict:
        total = strict_check(plan, reporter.note)
    elif mode == "auto":
        total = plan.portfolio.count()
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
    import sys

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
