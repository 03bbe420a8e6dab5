"""The batch runner: fan a portfolio out over the client's one pool, and lose nothing.

One producer reads the input lazily, validates each item (a bad one fails alone, before
anything is sent) and packs chunks per attribution group; a fixed set of worker tasks
sends them behind an adaptive concurrency limit. A chunk is retried on transient errors,
split when the server refuses part of it (422 naming entities, or 413), and every input
item ends as exactly one :class:`Outcome`. A window of chunks in flight bounds memory
whatever the input's size; ``ordered=True`` holds back only what came early.
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
)
from functools import partial
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from emmi_async._base_client import BaseClient
from emmi_async._response import APIResponse

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup
from emmi_async._exceptions import (
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    EmmiError,
    RateLimitError,
    ValidationError,
)
from emmi_async._retry import RETRYABLE_STATUSES, RetryPolicy, parse_retry_after
from emmi_async.auth import AccountCustomerAuth, MultiTenantAuth
from emmi_async.batch._adaptive import AdaptiveLimit
from emmi_async.batch._journal import Journal, journal_line
from emmi_async.batch._operation import fingerprint_of, operation_for
from emmi_async.batch._outcome import (
    BatchAbortedError,
    BatchDeadlineError,
    BatchEvent,
    BatchReport,
    BatchStats,
    EventKind,
    Outcome,
)

__all__ = ["BatchRunner", "OutcomeStream"]

ResultT = TypeVar("ResultT")

Attribution = Callable[[Any], "str | uuid.UUID | None"]
# The group an item belongs to, and the item to send (a dict without the attribution field).
_Attributor = Callable[[Any], "tuple[str | uuid.UUID | None, Any]"]

_OVERLOAD_STATUSES = frozenset({429, 503})
_WINDOW_ENTITIES = 4096
_DECODE_AHEAD_ENTITIES = 256
# How often a producer blocked on a full window checks what an ordered consumer waits for.
_WINDOW_POLL = 0.05
_SPLIT_STATUSES = frozenset({413, 422})


class _Job:
    """A chunk of items for one attribution group, ready to send.

    For analysis endpoints each item is its entity's JSON (bytes): once validated, the
    model is dropped, so a window of queued chunks holds no object graph for the garbage
    collector to scan again and again (it took ~45 % of the CPU when it did).
    """

    __slots__ = ("fingerprints", "group", "holds_slot", "id", "identifiers", "indexes", "items")

    def __init__(self, job_id: int, group: str | None) -> None:
        self.id = job_id
        self.group = group
        self.indexes: list[int] = []
        self.identifiers: list[str | None] = []
        self.items: list[Any] = []
        self.fingerprints: list[str] = []
        self.holds_slot = False
        """Whether the job took a slot of the window (its delivery frees it)."""


class _Part:
    """Some items of a job, sent together (a whole job, or one side of a split)."""

    __slots__ = ("identifiers", "indexes", "items")

    def __init__(self, indexes: list[int], identifiers: list[str | None], items: list[Any]) -> None:
        self.indexes = indexes
        self.identifiers = identifiers
        self.items = items

    def subset(self, positions: Iterable[int]) -> _Part:
        keep = list(positions)
        return _Part(
            [self.indexes[i] for i in keep],
            [self.identifiers[i] for i in keep],
            [self.items[i] for i in keep],
        )

    def halves(self) -> tuple[_Part, _Part]:
        middle = len(self.indexes) // 2
        return self.subset(range(middle)), self.subset(range(middle, len(self.indexes)))


class _Ticket:
    """Whether a job's worker holds one of the run's decode slots (see ``_Run.decode``)."""

    __slots__ = ("holds",)

    def __init__(self) -> None:
        self.holds = False


# Items on the outcome stream: (index of the job's last item or -1, outcomes, whether they
# hold a decode slot). Items of a job (index >= 0) free a slot of the window once they
# have been yielded; a decode slot is freed once the outcomes reach the consumer.
_Delivery = tuple[int, list[Outcome[Any]], bool]


class _Run:
    """The state of one run of a runner."""

    def __init__(self, runner: BatchRunner[Any], window: int) -> None:
        self.stats = BatchStats()
        self.decode = anyio.Semaphore(max(2, -(-_DECODE_AHEAD_ENTITIES // runner.chunk_size)))
        """Slots for chunks whose results are decoded but not yet taken by the consumer.

        A response waits as bytes (which the cyclic GC does not scan) until its chunk gets
        a slot, so a slow consumer never has thousands of decoded results waiting ahead of
        it, each surviving into the GC's oldest generation and rescanned by every full
        collection.
        """
        self.limit = AdaptiveLimit(
            maximum=runner.max_concurrency,
            minimum=runner.min_concurrency,
            adaptive=runner.adaptive,
        )
        self.stats.concurrency = self.limit.limit
        self.window = anyio.Semaphore(window)
        self.pause_until = 0.0
        self.budget_spent = 0
        self.consecutive_failures = 0
        self.broken: BatchAbortedError | None = None
        self.unfinished: dict[int, _Job] = {}
        self.groups: dict[str | None, _Job] = {}
        self.pending_outcomes: list[Outcome[Any]] = []
        self.clients: dict[str | None, BaseClient] = {}
        self.next_job = 0
        self.next_index = 0
        self.next_expected = -1
        """The index an ordered consumer waits for (-1 when the stream is unordered)."""
        self.iterator: Iterator[Any] | AsyncIterator[Any] | None = None
        self.journal: Journal | None = None


class BatchRunner(Generic[ResultT]):
    """Runs one operation (``client.emissions.estimate``...) over any number of entities.

    Exactly one :class:`Outcome` comes out per input item: its result, or a typed error
    (its own validation problems, the API's refusal of it, or a transient failure that
    outlived its retries). See :meth:`stream` and :meth:`run`.
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
    ) -> None:
        self._operation, self._client = operation_for(operation, client)
        max_chunk = self._operation.max_chunk
        self.chunk_size = _check_int("chunk_size", chunk_size or max_chunk, 1, max_chunk)
        self.max_concurrency = _check_int(
            "max_concurrency", max_concurrency or client.max_connections, 1, 4096
        )
        self.min_concurrency = _check_int("min_concurrency", min_concurrency, 1, 4096)
        self.adaptive = adaptive
        self.max_attempts = _check_int("max_attempts", max_attempts, 1, 100)
        if not 0.0 <= retry_budget <= 10.0:
            raise ValueError(f"retry_budget must be between 0 and 10, got {retry_budget!r}")
        self.retry_budget = retry_budget
        self.max_retry_after = max_retry_after
        if deadline is not None and not deadline > 0:
            raise ValueError(f"deadline must be a positive number of seconds, got {deadline!r}")
        self.deadline = deadline
        self.journal_path = journal
        self._attribute = _attribution(attribute, self._client)
        self._on_progress = on_progress
        self._policy = RetryPolicy()
        self._run: _Run | None = None

    @property
    def stats(self) -> BatchStats | None:
        """The live counters of the current (or last) run."""
        return None if self._run is None else self._run.stats

    # -- public entry points -----------------------------------------------------------

    def stream(
        self, entities: Iterable[Any] | AsyncIterable[Any], *, ordered: bool = False
    ) -> OutcomeStream[ResultT]:
        """Outcomes as they complete (``ordered=True``: in input order).

        Iterate it directly, or as ``async with runner.stream(x) as outcomes:`` when you
        may stop early: leaving the block stops the run and closes everything.
        """
        return OutcomeStream(self._generate(entities, ordered))

    async def run(self, entities: Iterable[Any] | AsyncIterable[Any]) -> BatchReport[ResultT]:
        """Run to the end; every outcome in input order, and the stats."""
        outcomes: list[Outcome[ResultT]] = []
        async with self.stream(entities) as stream:  # as completed: no head-of-line wait
            async for outcome in stream:
                outcomes.append(outcome)
        outcomes.sort(key=_by_index)
        assert self._run is not None
        return BatchReport(outcomes=outcomes, stats=self._run.stats.snapshot())

    # -- the run ----------------------------------------------------------------------------

    async def _generate(
        self, entities: Iterable[Any] | AsyncIterable[Any], ordered: bool
    ) -> AsyncIterator[Outcome[ResultT]]:
        # Chunks admitted but not yet yielded: enough to keep every worker busy, and (for
        # small chunks) a few thousand entities, so one slow entity does not stall the rest.
        window = max(2 * self.max_concurrency, -(-_WINDOW_ENTITIES // self.chunk_size), 4)
        run = self._run = _Run(self, window)
        send, receive = anyio.create_memory_object_stream[_Delivery](window)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._drive, run, entities, send)
                try:
                    async with receive:
                        if ordered:
                            async for outcome in self._in_order(run, receive):
                                yield outcome
                        else:
                            async for last, outcomes, decoded in receive:
                                if decoded:
                                    run.decode.release()
                                for outcome in outcomes:
                                    yield outcome
                                if last >= 0:
                                    run.window.release()
                finally:
                    group.cancel_scope.cancel()
        except BaseExceptionGroup as group_error:
            raise _sole_error(group_error) from None
        finally:
            run.stats.finished = time.perf_counter()

    async def _in_order(
        self, run: _Run, receive: ObjectReceiveStream[_Delivery]
    ) -> AsyncIterator[Outcome[ResultT]]:
        waiting: dict[int, Outcome[ResultT]] = {}
        finished_jobs: list[int] = []
        next_index = 0
        async for last, outcomes, decoded in receive:
            if decoded:
                run.decode.release()
            for outcome in outcomes:
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

    async def _drive(
        self,
        run: _Run,
        entities: Iterable[Any] | AsyncIterable[Any],
        out: ObjectSendStream[_Delivery],
    ) -> None:
        async with out:
            if self.journal_path is not None:
                run.journal = Journal(self.journal_path, self._operation.name)
                run.journal.open()
            try:
                with anyio.move_on_after(self.deadline) as deadline:
                    jobs_send, jobs_receive = anyio.create_memory_object_stream[_Job](
                        self.max_concurrency
                    )
                    async with anyio.create_task_group() as group:
                        group.start_soon(self._produce, run, entities, jobs_send, out)
                        async with jobs_receive:
                            for _ in range(self.max_concurrency):
                                group.start_soon(self._work, run, jobs_receive.clone(), out)
                if deadline.cancelled_caught:
                    await self._expire(run, out)
            finally:
                if run.journal is not None:
                    run.journal.close()

    # -- producer --------------------------------------------------------------------------

    async def _produce(
        self,
        run: _Run,
        entities: Iterable[Any] | AsyncIterable[Any],
        jobs: ObjectSendStream[_Job],
        out: ObjectSendStream[_Delivery],
    ) -> None:
        async with jobs:
            if isinstance(entities, AsyncIterable):
                iterator: AsyncIterator[Any] = aiter(entities)
                run.iterator = iterator
                async for item in iterator:
                    await self._take(run, item, jobs, out)
            else:
                run.iterator = iter(entities)
                for item in run.iterator:
                    await self._take(run, item, jobs, out)
            partials = list(run.groups.values())
            run.groups.clear()
            for job in partials:
                await self._submit(run, job, jobs)
            await self._flush_pending(run, out)

    async def _take(
        self, run: _Run, item: Any, jobs: ObjectSendStream[_Job], out: ObjectSendStream[_Delivery]
    ) -> None:
        """Admit one item; submit the job it completes; pass on early outcomes in batches."""
        job = self._admit(run, item)
        if job is not None:
            await self._flush_pending(run, out)
            await self._submit(run, job, jobs)
        elif len(run.pending_outcomes) >= 100:
            await self._flush_pending(run, out)
        elif run.next_index % 128 == 0:
            await anyio.lowlevel.checkpoint()  # a long run of partial chunks: let others run

    def _admit(self, run: _Run, item: Any) -> _Job | None:
        """Take one input item; the job it completes, if it completes one."""
        index = run.next_index
        run.next_index += 1
        run.stats.entities += 1
        operation = self._operation
        try:
            owner = None
            if self._attribute is not None:
                owner, item = self._attribute(item)
            prepared = operation.prepare(item, index)
            group = None if owner is None else str(owner)
            self._client_for(run, group)  # an id the auth refuses fails this entity alone
        except (ValueError, TypeError) as exc:
            self._pending(run, Outcome(index, operation.identifier(item), error=exc))
            run.stats.failed += 1
            self._emit(run, "failed", 1)
            return None
        identifier = operation.identifier(item)
        item = operation.encode_one(prepared) if operation.joins_encoded else prepared
        fingerprint = ""
        if run.journal is not None:
            encoded = item if operation.joins_encoded else operation.encode_one(prepared)
            fingerprint = fingerprint_of(encoded)
            recorded = run.journal.recorded(index, fingerprint)
            if recorded is not None:
                self._resume(run, index, recorded)
                return None
        job = run.groups.get(group)
        if job is None:
            job = run.groups[group] = _Job(run.next_job, group)
            run.next_job += 1
            run.unfinished[job.id] = job
        job.indexes.append(index)
        job.identifiers.append(identifier)
        job.items.append(item)
        job.fingerprints.append(fingerprint)
        if len(job.indexes) >= self.chunk_size:
            del run.groups[group]
            return job
        return None

    def _resume(self, run: _Run, index: int, recorded: Any) -> None:
        run.stats.resumed += 1
        if recorded.error is None:
            result = self._operation.result_from_json(recorded.result)
            self._pending(run, Outcome(index, recorded.identifier, result=result))
            run.stats.succeeded += 1
            self._emit(run, "done", 1)
        else:
            error = recorded.rebuild_error(str(self._client._url(self._operation.name)))
            self._pending(run, Outcome(index, recorded.identifier, error=error))
            run.stats.failed += 1
            self._emit(run, "failed", 1)

    @staticmethod
    def _pending(run: _Run, outcome: Outcome[Any]) -> None:
        run.pending_outcomes.append(outcome)

    @staticmethod
    async def _flush_pending(run: _Run, out: ObjectSendStream[_Delivery]) -> None:
        if run.pending_outcomes:
            outcomes, run.pending_outcomes = run.pending_outcomes, []
            await _hand_over(out, (-1, outcomes, False))

    async def _submit(self, run: _Run, job: _Job, jobs: ObjectSendStream[_Job]) -> None:
        """Send ``job`` to the workers once the window has room for it.

        While the window is full, an ordered consumer may be waiting for an entity that
        sits in a partial chunk of another group: such chunks go out at once, outside the
        window, or the run would wait forever.
        """
        while True:
            with anyio.move_on_after(_WINDOW_POLL):
                await run.window.acquire()
                break
            for group, waiting_job in list(run.groups.items()):
                if waiting_job.indexes[0] <= run.next_expected:
                    del run.groups[group]
                    await jobs.send(waiting_job)
        job.holds_slot = True
        await jobs.send(job)

    # -- workers ----------------------------------------------------------------------------

    async def _work(
        self, run: _Run, jobs: ObjectReceiveStream[_Job], out: ObjectSendStream[_Delivery]
    ) -> None:
        # The outcomes live in _complete's frame, not here: an idle worker waiting for its
        # next job must not keep its last results alive (64 workers held 6,400 results,
        # which the cyclic GC then scanned again and again).
        async with jobs:
            async for job in jobs:
                if not await _hand_over(out, await self._complete(run, job)):
                    return

    async def _complete(self, run: _Run, job: _Job) -> _Delivery:
        """Send ``job`` until every item has an outcome; record them in the journal."""
        part = _Part(job.indexes, job.identifiers, job.items)
        ticket = _Ticket()
        outcomes = await self._send(run, self._client_for(run, job.group), part, ticket)
        self._record(run, job, outcomes)
        del run.unfinished[job.id]
        last = job.indexes[-1] if job.holds_slot else -1
        return last, outcomes, ticket.holds

    def _client_for(self, run: _Run, group: str | None) -> BaseClient:
        client = run.clients.get(group)
        if client is None:
            client = self._client
            if group is not None:
                auth = client.auth
                if isinstance(auth, AccountCustomerAuth):
                    client = client.for_customer(group)
                elif isinstance(auth, MultiTenantAuth):
                    client = client.for_end_user(group)
            run.clients[group] = client
        return client

    async def _send(
        self, run: _Run, client: BaseClient, part: _Part, ticket: _Ticket
    ) -> list[Outcome[Any]]:
        """Send ``part`` until it succeeds, splits or fails: one outcome per item.

        A response is decoded once the job holds a decode slot (``ticket``), which it
        keeps until its outcomes reach the consumer.
        """
        operation = self._operation
        if operation.joins_encoded:
            body: bytes | None = b"[" + b",".join(part.items) + b"]"
        else:
            body = operation.encode(part.items)
        attempts = 0
        while True:
            if run.broken is not None:
                return self._fail(run, part, run.broken, attempts)
            await self._take_slot(run)
            attempts += 1
            run.stats.in_flight += 1
            started = time.perf_counter()
            error: EmmiError | None = None
            try:
                response = await operation.fetch(client, part.items, body)
            except EmmiError as exc:
                error = exc
            finally:
                run.stats.in_flight -= 1
            latency = time.perf_counter() - started
            run.stats.requests += 1
            run.stats.record_latency(latency)
            overloaded = _is_overload(error)
            if run.limit.release(latency, overloaded=overloaded):
                run.stats.concurrency = run.limit.limit
                self._emit(run, "concurrency", run.limit.limit)
            if error is None:
                self._note_rate_limit(run, response.rate_limit)  # before waiting to decode
                error, results = await self._decode(run, response, len(part.indexes), ticket)
            if error is None:
                run.consecutive_failures = 0
                run.stats.succeeded += len(results)
                self._emit(run, "done", len(results))
                return [
                    Outcome(index, identifier, result=result, attempts=attempts)
                    for index, identifier, result in zip(
                        part.indexes, part.identifiers, results, strict=True
                    )
                ]
            decision = self._decide(run, error, attempts)
            if decision == "split":
                return await self._split(run, client, part, error, attempts, ticket)
            if decision == "fail":
                return self._fail(run, part, error, attempts)
            assert isinstance(decision, float)
            wait = decision
            run.stats.retries += 1
            self._emit(run, "retried", len(part.indexes))
            await anyio.sleep(wait)

    async def _decode(
        self, run: _Run, response: APIResponse, count: int, ticket: _Ticket
    ) -> tuple[EmmiError | None, list[Any]]:
        """The response's results once the job holds a decode slot, or why it has none.

        A slot taken for a response that does not decode is given back at once: the
        retry may wait seconds, and would hold up every other chunk meanwhile.
        """
        taken = not ticket.holds
        if taken:
            await run.decode.acquire()
            ticket.holds = True
        try:
            return None, self._operation.decode(response, count)
        except EmmiError as error:
            if taken:
                ticket.holds = False
                run.decode.release()
            return error, []

    @staticmethod
    async def _take_slot(run: _Run) -> None:
        """A concurrency slot, once no shared pause is in force.

        The pause is checked again after the slot is taken: a 429 may have started a
        pause while this task queued for the slot, and sending then only earns another 429.
        """
        while True:
            delay = run.pause_until - time.monotonic()
            if delay > 0:
                await anyio.sleep(delay)
            await run.limit.acquire()
            if run.pause_until <= time.monotonic():
                return
            run.limit.release(None)

    def _decide(
        self, run: _Run, error: EmmiError, attempts: int
    ) -> Literal["split", "fail"] | float:
        """``"split"``, ``"fail"``, or the seconds to wait before retrying."""
        status = error.status_code if isinstance(error, APIStatusError) else None
        if status in _SPLIT_STATUSES:
            return "split"
        if isinstance(error, AuthenticationError):
            run.broken = BatchAbortedError(f"the API refused the key: {error}", error)
            return "fail"
        if status is not None and status not in RETRYABLE_STATUSES:
            return "fail"
        if isinstance(error, RateLimitError):
            run.stats.throttled += 1
            self._emit(run, "throttled", 1)
            wait = error.retry_after
            if wait is None:
                wait = self._policy.backoff(attempts - 1)
            if wait > self.max_retry_after or attempts >= 2 * self.max_attempts:
                return "fail"
            run.pause_until = max(run.pause_until, time.monotonic() + wait)
            return 0.0  # the shared pause does the waiting
        run.consecutive_failures += 1
        if attempts >= self.max_attempts:
            return "fail"
        allowance = 10 + self.retry_budget * run.stats.requests
        if run.budget_spent >= allowance:
            if run.consecutive_failures >= max(10, self.max_concurrency):
                run.broken = BatchAbortedError(
                    "stopped sending: the server kept failing and the retry budget is "
                    f"spent (last error: {error})",
                    error,
                )
            return "fail"
        run.budget_spent += 1
        response = getattr(error, "response", None)
        retry_after = None if response is None else parse_retry_after(response.headers)
        if retry_after is not None and retry_after <= self.max_retry_after:
            run.pause_until = max(run.pause_until, time.monotonic() + retry_after)
            return 0.0
        return self._policy.backoff(attempts - 1)

    async def _split(
        self,
        run: _Run,
        client: BaseClient,
        part: _Part,
        error: EmmiError,
        attempts: int,
        ticket: _Ticket,
    ) -> list[Outcome[Any]]:
        """Isolate what the server refused: named entities fail, the rest is sent again."""
        size = len(part.indexes)
        named = _named_positions(error, size) if isinstance(error, ValidationError) else {}
        if named and isinstance(error, ValidationError):
            failed: list[Outcome[Any]] = [
                Outcome(
                    part.indexes[position],
                    part.identifiers[position],
                    error=_entity_error(error, details, part.indexes[position]),
                    attempts=attempts,
                )
                for position, details in named.items()
            ]
            run.stats.failed += len(failed)
            self._emit(run, "failed", len(failed))
            rest = [position for position in range(size) if position not in named]
            if not rest:
                return failed
            run.stats.splits += 1
            self._emit(run, "split", size)
            return failed + await self._send(run, client, part.subset(rest), ticket)
        if size == 1:
            return self._fail(run, part, error, attempts)
        run.stats.splits += 1
        self._emit(run, "split", size)
        left, right = part.halves()
        return await self._send(run, client, left, ticket) + await self._send(
            run, client, right, ticket
        )

    def _fail(self, run: _Run, part: _Part, error: Exception, attempts: int) -> list[Outcome[Any]]:
        run.stats.failed += len(part.indexes)
        self._emit(run, "failed", len(part.indexes))
        return [
            Outcome(index, identifier, error=error, attempts=attempts)
            for index, identifier in zip(part.indexes, part.identifiers, strict=True)
        ]

    def _note_rate_limit(self, run: _Run, rate_limit: Any) -> None:
        """Pause politely when the server says its quota is used up.

        The pause is the time one more request's worth of quota takes to come back
        (``reset / limit``, as the quota refills over the window), not the whole window:
        the adaptive limit, halved by any 429, does the rest.
        """
        if rate_limit is None or rate_limit.remaining != 0 or not rate_limit.reset:
            return
        reset = min(float(rate_limit.reset), self.max_retry_after)
        pause = reset / rate_limit.limit if rate_limit.limit else reset
        run.pause_until = max(run.pause_until, time.monotonic() + min(reset, pause))

    def _record(self, run: _Run, job: _Job, outcomes: list[Outcome[Any]]) -> None:
        journal = run.journal
        if journal is None:
            return
        fingerprints = dict(zip(job.indexes, job.fingerprints, strict=True))
        encode = self._operation.result_to_json
        journal.write(
            journal_line(
                outcome.index,
                outcome.identifier,
                fingerprints[outcome.index],
                outcome.result,
                outcome.error if isinstance(outcome.error, APIStatusError) else None,
                encode,
            )
            for outcome in outcomes
            if outcome.error is None or _is_permanent(outcome.error)
        )

    def _emit(self, run: _Run, kind: EventKind, count: int) -> None:
        if self._on_progress is not None:
            self._on_progress(BatchEvent(kind, count, run.stats))

    # -- deadline ---------------------------------------------------------------------------

    async def _expire(self, run: _Run, out: ObjectSendStream[_Delivery]) -> None:
        """Give every entity without an outcome one: the deadline passed."""
        error = BatchDeadlineError(f"the batch deadline of {self.deadline:g} s passed")
        deliveries: list[list[Outcome[Any]]] = [run.pending_outcomes]
        run.pending_outcomes = []
        for job in run.unfinished.values():
            part = _Part(job.indexes, job.identifiers, job.items)
            deliveries.append(self._fail(run, part, error, 0))
        with anyio.CancelScope(shield=True):
            for outcomes in deliveries:
                if outcomes:
                    await out.send((-1, outcomes, False))
            # The input not read yet: its failures go out in batches, as it is read.
            late: list[Outcome[Any]] = []
            iterator = run.iterator
            if isinstance(iterator, AsyncIterator):
                async for item in iterator:
                    late.append(self._late(run, item, error))
                    if len(late) >= 100:
                        await out.send((-1, late, False))
                        late = []
            elif iterator is not None:
                for item in iterator:
                    late.append(self._late(run, item, error))
                    if len(late) >= 100:
                        await out.send((-1, late, False))
                        late = []
            if late:
                await out.send((-1, late, False))

    def _late(self, run: _Run, item: Any, error: BatchDeadlineError) -> Outcome[Any]:
        index = run.next_index
        run.next_index += 1
        run.stats.entities += 1
        run.stats.failed += 1
        self._emit(run, "failed", 1)
        return Outcome(index, self._operation.identifier(item), error=error)


class OutcomeStream(Generic[ResultT]):
    """The outcomes of a run: an async iterator, and an async context manager that stops it."""

    def __init__(self, generator: AsyncIterator[Outcome[ResultT]]) -> None:
        self._generator = generator

    def __aiter__(self) -> OutcomeStream[ResultT]:
        return self

    async def __anext__(self) -> Outcome[ResultT]:
        return await self._generator.__anext__()

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


# -- helpers ---------------------------------------------------------------------------------


async def _hand_over(out: ObjectSendStream[_Delivery], delivery: _Delivery) -> bool:
    """Give outcomes to the consumer; ``False`` if it has gone (stopped iterating).

    Shielded: a hand-off that the deadline interrupted half-way could neither say whether
    the consumer got the outcomes nor be retried without risking duplicates.
    """
    with anyio.CancelScope(shield=True):
        try:
            await out.send(delivery)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return False
    return True


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


def _is_overload(error: EmmiError | None) -> bool:
    if error is None:
        return False
    if isinstance(error, APIStatusError):
        return error.status_code in _OVERLOAD_STATUSES
    return isinstance(error, APITimeoutError)


def _is_permanent(error: Exception) -> bool:
    """An API refusal that a later run would get again (journaled, not retried on resume)."""
    return (
        isinstance(error, APIStatusError)
        and error.status_code not in RETRYABLE_STATUSES
        and not isinstance(error, AuthenticationError)
    )


def _named_positions(error: ValidationError, size: int) -> dict[int, list[Any]]:
    """The positions in the chunk that the 422's ``details`` name, with their details."""
    named: dict[int, list[Any]] = {}
    for detail in error.details:
        position = detail.get("index") if isinstance(detail, dict) else None
        if isinstance(position, int) and not isinstance(position, bool) and 0 <= position < size:
            named.setdefault(position, []).append(detail)
    return named


def _entity_error(error: ValidationError, details: list[Any], index: int) -> ValidationError:
    """The 422 as it concerns one entity: its own details, renumbered to its input index."""
    own = [{**detail, "index": index} for detail in details]
    problems = "; ".join(
        f"{detail.get('field', '?')}: {detail.get('message', 'invalid')}" for detail in own
    )
    message = f"422 entity {index} refused: {problems}"
    if error.request_id:
        message += f" (request id {error.request_id})"
    body = {"error": {**error.error, "details": own}}
    entity_error = ValidationError(
        message, response=error.response, body=body, request_id=error.request_id
    )
    entity_error.attempts = error.attempts
    return entity_error
