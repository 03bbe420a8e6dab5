"""The batch runner: fan a portfolio out over the client's one pool, and lose nothing.

:class:`BatchRunner` holds a run's configuration and its public entry points; the work of
a run is done by a :class:`~emmi_async.batch._run.Run`, which settles every input entity
exactly once, in parts per chunk. Here those parts become :class:`Outcome` objects (the
object path); :mod:`emmi_async.batch._frames` turns them into table rows (the table path).
A bad item fails alone, before anything is sent.
"""

from __future__ import annotations

import heapq
import os
import sys
import time
import uuid
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Sized,
)
from functools import partial
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio

from emmi_async._base_client import BaseClient

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup
from emmi_async.auth import AccountCustomerAuth, MultiTenantAuth
from emmi_async.batch._gate import Gate
from emmi_async.batch._operation import Operation, operation_for
from emmi_async.batch._outcome import (
    BatchDeadlineError,
    BatchEvent,
    BatchReport,
    BatchStats,
    Outcome,
    outcome_of,
)
from emmi_async.batch._run import Answer, Delivery, Handoff, Journaled, Run, Settled, Source
from emmi_async.batch._watch import Progress, watch_run

__all__ = ["BatchRunner", "FrameStream", "OutcomeStream", "client_of", "deliveries"]

ResultT = TypeVar("ResultT")

Attribution = Callable[[Any], "str | uuid.UUID | None"]
# The group an item belongs to, and the item to send (a dict without the attribution field).
_Attributor = Callable[[Any], "tuple[str | uuid.UUID | None, Any]"]

_WINDOW_ENTITIES = 4096


class BatchRunner(Generic[ResultT]):
    """Runs one operation (``client.emissions.estimate``...) over any number of entities.

    Exactly one :class:`Outcome` comes out per input item: its result, or a typed error
    (its own validation problems, the API's refusal of it, or a transient failure that
    outlived its retries). See :meth:`stream` and :meth:`run`. Made by
    ``client.batch(operation, ...)``; ``client`` is the client whose pool it uses.

    Args:
        operation: what to run per chunk: an analysis method of this client
            (``client.emissions.estimate``, ``client.rankings.rank``...), or
            ``client.hazards.get`` for one hazard look-up per location item.
        chunk_size: entities per request; default and maximum: the operation's API
            limit (100 for analyses; 1 for hazard look-ups).
        max_concurrency: most requests in flight at once; default: the client's
            ``max_connections``.
        min_concurrency: the adaptive limit never drops below this (default 1).
        adaptive: when true (default), the limit halves on 429, 503, timeouts and
            climbing latency and creeps back up on success; when false it stays at
            ``max_concurrency``.
        max_attempts: requests that may carry one chunk before its entities fail
            (default 6; a chunk split to isolate a refused entity starts afresh).
        retry_budget: retries allowed per request sent, over the whole run, on top of
            ten free ones (default 0.2); once spent, transient failures fail at once
            and a server that keeps failing ends the run with
            :class:`~emmi_async.BatchAbortedError` outcomes instead of a retry storm.
        max_retry_after: the longest ``Retry-After`` or rate-limit reset (seconds) the
            runner pauses for (default 600); a longer wait fails the chunk.
        deadline: seconds from the start of the run; entities without an answer by
            then get :class:`~emmi_async.BatchDeadlineError` outcomes.
        journal: a file that records each finished entity; running again with the same
            journal and input resumes where the last run stopped (even after
            ``kill -9``).
        attribute: which customer (account key) or end user (multi-tenant key) an
            item belongs to: a function of the item, or a dotted field path of a dict
            item (the field is taken out before sending). Items are grouped per value.
        on_progress: called with a :class:`~emmi_async.BatchEvent` as the run goes
            (in the event loop: it must be quick and must not block).
        gate: a budget shared with other runs, maybe in other processes (see
            :class:`emmi_async.batch.Gate`; ``emmi_async.dask`` passes one): each
            request also holds one of its leases, and a 429 pause is published to it.
            Default ``None``: this run's limits only.
    """

    def __init__(
        self,
        client: BaseClient,
        operation: Callable[..., Awaitable[Any]],
        *,
        chunk_size: int | None = None,
        max_concurrency: int | None = None,
        min_concurrency: int = 1,
        adaptive: bool = True,
        max_attempts: int = 6,
        retry_budget: float = 0.2,
        max_retry_after: float = 600.0,
        deadline: float | None = None,
        journal: str | os.PathLike[str] | None = None,
        attribute: Attribution | str | None = None,
        on_progress: Callable[[BatchEvent], object] | None = None,
        gate: Gate | None = None,
    ) -> None:
        self._operation, self._client = operation_for(operation, client)
        max_chunk = self._operation.max_chunk
        self.chunk_size: int = _check_int("chunk_size", chunk_size or max_chunk, 1, max_chunk)
        self.max_concurrency: int = _check_int(
            "max_concurrency", max_concurrency or client.max_connections, 1, 4096
        )
        self.min_concurrency: int = _check_int("min_concurrency", min_concurrency, 1, 4096)
        self.adaptive = adaptive
        self.max_attempts: int = _check_int("max_attempts", max_attempts, 1, 100)
        if not 0.0 <= retry_budget <= 10.0:
            raise ValueError(f"retry_budget must be between 0 and 10, got {retry_budget!r}")
        self.retry_budget = retry_budget
        self.max_retry_after = max_retry_after
        if deadline is not None and not deadline > 0:
            raise ValueError(f"deadline must be a positive number of seconds, got {deadline!r}")
        self.deadline = deadline
        self.journal_path = journal
        self.window_entities = _WINDOW_ENTITIES
        """Entities admitted ahead of the consumer (the window holds at least twice
        ``max_concurrency`` chunks, whatever this says)."""
        self._attribute = _attribution(attribute, self._client)
        self._on_progress = on_progress
        self.gate = gate
        self._run: Run | None = None

    @property
    def endpoint(self) -> str:
        """The API path of the runner's operation (``"emissions-estimates"``...)."""
        return self._operation.name

    @property
    def stats(self) -> BatchStats | None:
        """The live counters of the current (or last) run."""
        return None if self._run is None else self._run.stats

    # -- public entry points -----------------------------------------------------------

    def stream(
        self,
        entities: Iterable[Any] | AsyncIterable[Any],
        *,
        ordered: bool = False,
        progress: Progress = False,
    ) -> OutcomeStream[ResultT]:
        """Outcomes as they complete (``ordered=True``: in input order).

        Iterate it directly, or as ``async with runner.stream(x) as outcomes:`` when you
        may stop early: leaving the block stops the run and closes everything.
        ``progress=True`` shows a progress bar where the output is interactive (see
        :mod:`emmi_async.progress`; a factory of displays may be passed instead).
        """
        source = _EntitySource(entities, self._operation, self._attribute)
        total = len(entities) if isinstance(entities, Sized) else None
        deliveries = self._deliveries(source, self._operation, progress, total)
        return OutcomeStream(self._outcomes(deliveries, ordered))

    async def run(
        self, entities: Iterable[Any] | AsyncIterable[Any], *, progress: Progress = False
    ) -> BatchReport[ResultT]:
        """Run to the end; every outcome in input order, and the stats.

        ``progress=True`` shows a progress bar in a terminal or in Jupyter, and nothing
        when the output is not interactive (see :mod:`emmi_async.progress`).
        """
        outcomes: list[Outcome[ResultT]] = []
        # As completed: no head-of-line wait.
        async with self.stream(entities, progress=progress) as stream:
            async for outcome in stream:
                outcomes.append(outcome)
        outcomes.sort(key=_by_index)
        assert self._run is not None
        return BatchReport(outcomes=outcomes, stats=self._run.stats.snapshot())

    async def run_frame(
        self,
        frame: Any,
        *,
        scenarios: Sequence[str] | None = None,
        method: str | None = None,
        projection_years: Sequence[int] | None = None,
        targets: Sequence[Mapping[str, Any]] | None = None,
        extra: bool = False,
        progress: Progress = False,
    ) -> Any:
        """Run a portfolio table to the end; the result table, of the same library.

        ``frame`` is a ``polars.DataFrame``, a ``pandas.DataFrame`` or a ``pyarrow.Table``
        with one row per entity-year in the columns of
        :data:`emmi_async.frames.INPUT_COLUMNS` (``identifier`` and ``year`` required;
        entity fields on every row of an entity or on one of them; a ``customer_id`` or
        ``end_user_id`` column attributes rows under the account or multi-tenant key).
        Rows of one identifier are one entity wherever they stand.

        The result has one row per result row (entity-year; entity-year-scenario for
        climate risk) in input order: ``identifier``, ``year``, the endpoint's result
        columns (typed), ``status`` (``ok``, ``invalid``, ``rejected``, ``error``) and
        ``error``; a failed entity keeps one row per input year with null results.
        Unknown response fields are dropped, or kept as JSON text in an ``extra`` column
        with ``extra=True``.

        ``scenarios``, ``method``, ``projection_years`` and ``targets`` are the endpoint's
        fields that are not per row; they are checked before anything is sent
        (``ValueError``). Needs the ``frames`` extra. ``progress=True``: a progress bar of
        entities, as for :meth:`run`.
        """
        from emmi_async.frames import run_frame

        options = {
            "scenarios": scenarios,
            "method": method,
            "projection_years": projection_years,
            "targets": targets,
        }
        return await run_frame(self, frame, extra=extra, options=options, progress=progress)

    def stream_frames(
        self,
        frames: Iterable[Any] | AsyncIterable[Any],
        *,
        ordered: bool = False,
        scenarios: Sequence[str] | None = None,
        method: str | None = None,
        projection_years: Sequence[int] | None = None,
        targets: Sequence[Mapping[str, Any]] | None = None,
        extra: bool = False,
        progress: Progress = False,
    ) -> FrameStream:
        """Result frames as chunks complete (``ordered=True``: in input order).

        ``frames`` is any iterable or async iterable of portfolio frames or Arrow record
        batches (``pyarrow.parquet.ParquetFile(...).iter_batches()``); results come in
        the library of the first. Memory stays bounded whatever the input's size. An
        identifier that comes back in a later frame is not sent again: that part fails
        (``invalid``) and says so. The options are those of :meth:`run_frame`.
        """
        from emmi_async.frames import stream_frames

        options = {
            "scenarios": scenarios,
            "method": method,
            "projection_years": projection_years,
            "targets": targets,
        }
        return FrameStream(
            stream_frames(
                self, frames, ordered=ordered, extra=extra, options=options, progress=progress
            )
        )

    # -- the run ------------------------------------------------------------------------------

    async def _deliveries(
        self,
        source: Source,
        operation: Operation,
        progress: Progress = False,
        total: int | None = None,
    ) -> AsyncIterator[tuple[Run, Delivery]]:
        run = self._run = Run(self, operation, self._client, self._on_progress)
        watch = watch_run(operation.name, run.stats, run.on_progress, progress, total)
        run.on_progress = watch.on_event  # on_progress, OpenTelemetry, the progress display
        send, receive = anyio.create_memory_object_stream[Handoff](run.window_size)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(watch.within(run.drive), source, send)
                try:
                    async with receive:
                        async for handoff in receive:
                            if isinstance(handoff, Answer):  # decoded now, read next
                                settled = run.settle_answer(handoff)
                                if settled is not None:
                                    yield run, (-1, [settled])
                            else:
                                yield run, handoff
                finally:
                    group.cancel_scope.cancel()
        except BaseExceptionGroup as group_error:
            raise _sole_error(group_error) from None
        finally:
            run.stats.finished = time.perf_counter()
            watch.finish(sys.exc_info()[1])

    async def _outcomes(
        self, deliveries: AsyncIterator[tuple[Run, Delivery]], ordered: bool
    ) -> AsyncIterator[Outcome[ResultT]]:
        """One :class:`Outcome` per entity, as completed or (``ordered``) in input order."""
        waiting: dict[int, Outcome[ResultT]] = {}
        finished_jobs: list[int] = []
        next_index = 0
        try:
            async for run, (last, parts) in deliveries:
                if not ordered:
                    for part in parts:
                        for outcome in self._expand(part):
                            yield outcome
                    if last >= 0:
                        run.window.release()
                    continue
                for part in parts:
                    for outcome in self._expand(part):
                        waiting[outcome.index] = outcome
                if last >= 0:
                    heapq.heappush(finished_jobs, last)
                while next_index in waiting:
                    yield waiting.pop(next_index)
                    next_index += 1
                run.next_expected = next_index
                while finished_jobs and finished_jobs[0] < next_index:
                    heapq.heappop(finished_jobs)
                    run.window.release()
        finally:
            aclose = getattr(deliveries, "aclose", None)
            if aclose is not None:
                await aclose()

    def _expand(self, part: Settled) -> Iterator[Outcome[ResultT]]:
        """The outcomes of a settled part, one per entity."""
        error = part.error
        attempts = part.attempts
        if error is not None:
            for index, identifier in zip(part.indexes, part.identifiers, strict=True):
                yield outcome_of(index, identifier, None, error, attempts)
            return
        payload = part.payload
        if isinstance(payload, Journaled):
            payload = [self._operation.result_from_json(result) for result in payload]
        for index, identifier, result in zip(part.indexes, part.identifiers, payload, strict=True):
            yield outcome_of(index, identifier, result, None, attempts)


class _EntitySource:
    """The object path's input: entities (models or dicts) one by one."""

    def __init__(
        self,
        entities: Iterable[Any] | AsyncIterable[Any],
        operation: Operation,
        attribute: _Attributor | None,
    ) -> None:
        self._entities = entities
        self._operation = operation
        self._attribute = attribute

    def units(self) -> Iterator[Any] | AsyncIterator[Any]:
        entities = self._entities
        return aiter(entities) if isinstance(entities, AsyncIterable) else iter(entities)

    def admit(self, run: Run, item: Any) -> None:
        index = run.take_index()
        operation = self._operation
        try:
            group = None
            if self._attribute is not None:
                owner, item = self._attribute(item)
                group = None if owner is None else str(owner)
            prepared = operation.prepare(item, index)
            run.client_for(group)  # an id the auth refuses fails this entity alone
        except (ValueError, TypeError) as exc:
            run.settle_early(index, operation.identifier(item), exc)
            return
        run.add(index, operation.identifier(item), prepared, group)

    def late(self, run: Run, item: Any, error: BatchDeadlineError) -> None:
        run.settle_early(run.take_index(), self._operation.identifier(item), error)


class OutcomeStream(Generic[ResultT]):
    """The outcomes of a run: an async iterator, and an async context manager that stops it."""

    def __init__(self, generator: AsyncIterator[Outcome[ResultT]]) -> None:
        self._generator = generator

    def __aiter__(self) -> OutcomeStream[ResultT]:
        return self

    def __anext__(self) -> Awaitable[Outcome[ResultT]]:
        # The generator's own awaitable: no coroutine of ours per outcome.
        return self._generator.__anext__()

    async def aclose(self) -> None:
        """Stop the run: cancel what is in flight and close the journal."""
        aclose = getattr(self._generator, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> OutcomeStream[ResultT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class FrameStream:
    """The result frames of a table run: an async iterator, and an async context manager
    that stops it."""

    def __init__(self, generator: AsyncIterator[Any]) -> None:
        self._generator = generator

    def __aiter__(self) -> FrameStream:
        return self

    async def __anext__(self) -> Any:
        return await self._generator.__anext__()

    async def aclose(self) -> None:
        """Stop the run: cancel what is in flight and close the journal."""
        aclose = getattr(self._generator, "aclose", None)
        if aclose is not None:
            await aclose()

    async def __aenter__(self) -> FrameStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def deliveries(
    runner: BatchRunner[Any],
    source: Source,
    operation: Operation | None = None,
    progress: Progress = False,
    total: int | None = None,
) -> AsyncIterator[tuple[Run, Delivery]]:
    """Run ``runner``'s core over ``source``: each delivery of settled parts with its run,
    as the run makes them (the entry of the table path; ``operation`` replaces the
    runner's own for encoding and decoding).

    The consumer frees a slot of ``run.window`` for each delivery whose index is >= 0 once
    it has taken it; leaving the iteration stops the run and closes everything. Responses
    are decoded inside this iteration, as their results are about to be handed out.
    """
    return runner._deliveries(source, operation or runner._operation, progress, total)


def client_of(runner: BatchRunner[Any]) -> BaseClient:
    """The client (or view) whose pool ``runner`` sends through."""
    return runner._client


# -- helpers ---------------------------------------------------------------------------------


def _sole_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one error inside nested task-group groups (the group itself if there are more).

    A run's errors (a journal that does not match, a failing ``on_progress``) reach the
    caller as themselves, not wrapped in the runner's task groups.
    """
    cancelled = anyio.get_cancelled_exc_class()
    errors = [error for error in _leaves(group) if not isinstance(error, cancelled)]
    return errors[0] if len(errors) == 1 else group


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _by_index(outcome: Outcome[Any]) -> int:
    return outcome.index


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an int from {low} to {high}, got {value!r}")
    return value


def _attribution(attribute: Attribution | str | None, client: BaseClient) -> _Attributor | None:
    """How to find an item's customer / end user: a key function, or a dotted field path.

    A field found in a dict item is taken out of a copy of the item (copied along the
    path only), since it is not part of the API's entity shape.
    """
    if attribute is None:
        return None
    if not isinstance(client.auth, (AccountCustomerAuth, MultiTenantAuth)):
        raise ValueError(
            "attribute= groups entities by customer (account key) or end user "
            f"(multi-tenant key); this client uses {type(client.auth).__name__}"
        )
    if callable(attribute):
        key_function = attribute
        return lambda item: (key_function(item), item)
    if not isinstance(attribute, str) or not attribute:
        raise TypeError("attribute must be a callable or a dotted field path")
    return partial(_take_field, attribute.split("."))


def _take_field(path: list[str], item: Any) -> tuple[str | None, Any]:
    """The value at ``path`` in ``item``, and ``item`` without it when it is a dict."""
    head, rest = path[0], path[1:]
    if isinstance(item, Mapping):
        if head not in item:
            return None, item
        if not rest:
            value = item[head]
            return (None if value is None else str(value)), {
                key: field for key, field in item.items() if key != head
            }
        value, inner = _take_field(rest, item[head])
        return value, {**item, head: inner}
    child = getattr(item, head, None)
    if child is None:
        return None, item
    if not rest:
        return str(child), item
    return _take_field(rest, child)[0], item
