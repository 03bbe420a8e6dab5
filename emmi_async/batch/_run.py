"""One run of a batch runner: the object that owns a run's state and does its work.

A :class:`Run` reads its input through a :class:`Source` (entities one by one for the
object path, prepared tables for the table path), packs chunks per attribution group,
and has a fixed set of worker tasks send them behind an adaptive concurrency limit. What
to do with a failed request is :func:`~emmi_async._retry.decide_chunk`'s decision; the run
applies it (retry, shared pause, split, fail, abort). Every entity ends in exactly one
:class:`Settled` part, per chunk rather than per entity: the consumer turns parts into
outcomes (object path) or rows (table path). A window of chunks bounds memory whatever
the input's size; an ordered consumer holds back only what came early.

A successful response is decoded by the consumer, not by the worker that fetched it: the
worker hands it over as an :class:`Answer` and waits for the verdict, and the consumer
decodes it when it is ready for the results and hands them out at once. Results are
built just before they are read and freed soon after, while their memory is still in
the CPU's caches, and only the chunk being read exists as objects (benchmarks/README.md,
"Object path (session 7): results decoded by the consumer").
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from anyio.streams.memory import MemoryObjectSendStream

from emmi_async._base_client import BaseClient
from emmi_async._exceptions import APIStatusError, APITimeoutError, EmmiError, ValidationError
from emmi_async._response import APIResponse
from emmi_async._retry import (
    ChunkDecision,
    RetryPolicy,
    decide_chunk,
    error_kind,
    is_permanent,
    server_wait,
    status_of,
)
from emmi_async.auth import AccountCustomerAuth, MultiTenantAuth
from emmi_async.batch._adaptive import AdaptiveLimit
from emmi_async.batch._gate import Gate
from emmi_async.batch._journal import Journal, Recorded, refusal_line, results_line
from emmi_async.batch._operation import Operation
from emmi_async.batch._outcome import (
    BatchAbortedError,
    BatchDeadlineError,
    BatchEvent,
    BatchStats,
    EventKind,
)

if TYPE_CHECKING:
    from emmi_async.batch._runner import BatchRunner

__all__ = ["Answer", "Delivery", "Handoff", "Job", "Journaled", "Run", "Settled", "Source"]

_OVERLOAD_STATUSES = frozenset({429, 503})
# How often a producer blocked on a full window checks what an ordered consumer waits for.
_WINDOW_POLL = 0.05
_EARLY_BATCH = 100
"""Early outcomes (bad input, journal) handed to the consumer together."""


class Settled:
    """Entities of one chunk that share their fate: a decoded ``payload`` or an ``error``.

    ``payload`` is what the operation decoded for exactly these entities, in order (a list
    of models on the object path, a table on the table path), or a :class:`Recorded` list
    for entities resumed from a journal. ``attempts`` is how many requests carried them.
    ``body`` is the response body of a success while a journal has still to record it.
    ``handed_out``: the consumer has had these entities' results already (it decoded
    them from an :class:`Answer`); the part is only left for the journal.
    """

    __slots__ = ("attempts", "body", "error", "handed_out", "identifiers", "indexes", "payload")

    def __init__(
        self,
        indexes: list[int],
        identifiers: list[str | None],
        payload: Any = None,
        error: Exception | None = None,
        attempts: int = 0,
        body: bytes | None = None,
        handed_out: bool = False,
    ) -> None:
        self.indexes = indexes
        self.identifiers = identifiers
        self.payload = payload
        self.error = error
        self.attempts = attempts
        self.body = body
        self.handed_out = handed_out


class Journaled(list[Any]):
    """The payload of entities resumed from a journal: their results as JSON, in order."""


class Job:
    """A chunk of entities of one attribution group, ready to send.

    Each item is what the operation sends for its entity (the entity's JSON bytes for an
    analysis endpoint): no model graph is kept for the garbage collector to rescan.
    """

    __slots__ = ("group", "handed_out", "holds_slot", "id", "identifiers", "indexes", "items")

    def __init__(self, job_id: int, group: str | None) -> None:
        self.id = job_id
        self.group = group
        self.indexes: list[int] = []
        self.identifiers: list[str | None] = []
        self.items: list[Any] = []
        self.holds_slot = False
        """Whether the job took a slot of the window (its delivery frees it)."""
        self.handed_out: list[int] = []
        """Indexes whose results the consumer has had (a deadline must not fail them)."""


class _Part:
    """Some entities of a job, sent together (a whole job, or one side of a split)."""

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


class Answer:
    """A successful response to a part, waiting for the consumer to decode it.

    The worker that fetched it waits on ``done``. The consumer decodes it with
    :meth:`Run.settle_answer` when it is ready for the results: then ``error`` says why
    the body did not decode (the worker decides what to do, as for a failed request), or
    ``handed_out`` is true and the results have gone out. A worker that stops waiting
    (cancelled) marks the answer ``abandoned``, and the consumer passes it by.
    """

    __slots__ = ("abandoned", "attempts", "done", "error", "handed_out", "job", "part", "response")

    def __init__(self, job: Job, part: _Part, response: APIResponse, attempts: int) -> None:
        self.job = job
        self.part = part
        self.response = response
        self.attempts = attempts
        self.done = anyio.Event()
        self.error: EmmiError | None = None
        self.handed_out = False
        self.abandoned = False


Delivery = tuple[int, list[Settled]]
"""What the run hands its consumer: (index of the job's last entity or -1, the parts).
A job's delivery (index >= 0) frees a slot of the window once consumed."""

Handoff = Delivery | Answer
"""What goes from the run to its consumer: a delivery, or an answer to decode."""


class Source(Protocol):
    """Where a run's entities come from: units read lazily (an entity, or a table)."""

    def units(self) -> Iterator[Any] | AsyncIterator[Any]:
        """The input, one unit at a time (read once)."""
        ...

    def admit(self, run: Run, unit: Any) -> None:
        """Take one unit: ``run.add`` each entity to send, ``run.settle_early`` the rest."""
        ...

    def late(self, run: Run, unit: Any, error: BatchDeadlineError) -> None:
        """Fail every entity of a unit read after the deadline (``run.settle_early``)."""
        ...


class Run:
    """The state and the work of one run: producer, window, workers and delivery."""

    def __init__(
        self,
        runner: BatchRunner[Any],
        operation: Operation,
        client: BaseClient,
        on_progress: Callable[[BatchEvent], object] | None,
    ) -> None:
        self.runner = runner
        self.operation = operation
        self.client = client
        self.on_progress = on_progress
        self.policy = RetryPolicy()
        self.stats = BatchStats()
        # Chunks admitted but not yet consumed: enough to keep every worker busy, and (for
        # small chunks) a few thousand entities, so one slow entity does not stall the rest.
        self.window_size = max(
            2 * runner.max_concurrency, -(-runner.window_entities // runner.chunk_size), 4
        )
        self.window = anyio.Semaphore(self.window_size)
        self.limit = AdaptiveLimit(
            maximum=runner.max_concurrency,
            minimum=runner.min_concurrency,
            adaptive=runner.adaptive,
        )
        self.stats.concurrency = self.limit.limit
        self.pause_until = 0.0
        self.gate: Gate | None = runner.gate
        """Leases and a pause shared with other runs (a cluster's budget), or ``None``."""
        self.budget_spent = 0
        self.consecutive_failures = 0
        self.broken: BatchAbortedError | None = None
        self.unfinished: dict[int, Job] = {}
        self.groups: dict[str | None, Job] = {}
        self.completed: list[Job] = []
        self.early: list[Settled] = []
        self.clients: dict[str | None, BaseClient] = {}
        self.next_job = 0
        self.next_index = 0
        self.next_expected = -1
        """The index an ordered consumer waits for (-1 when the stream is unordered)."""
        self.units: Iterator[Any] | AsyncIterator[Any] | None = None
        self.journal: Journal | None = None

    # -- the whole run ------------------------------------------------------------------------

    async def drive(self, source: Source, out: ObjectSendStream[Handoff]) -> None:
        """Read ``source`` to the end, send everything, deliver every part to ``out``."""
        runner = self.runner
        async with out:
            if runner.journal_path is not None:
                operation = self.operation
                self.journal = Journal(runner.journal_path, operation.name, operation.results_in)
                self.journal.open()
            try:
                with anyio.move_on_after(runner.deadline) as deadline:
                    jobs_send, jobs_receive = anyio.create_memory_object_stream[Job](
                        runner.max_concurrency
                    )
                    async with anyio.create_task_group() as group:
                        group.start_soon(self._produce, source, jobs_send, out)
                        async with jobs_receive:
                            for _ in range(runner.max_concurrency):
                                group.start_soon(self._work, jobs_receive.clone(), out)
                if deadline.cancelled_caught:
                    await self._expire(source, out)
            finally:
                if self.journal is not None:
                    self.journal.close()

    # -- admission (called by sources) -------------------------------------------------------

    def take_index(self) -> int:
        """The input index of the next entity read."""
        index = self.next_index
        self.next_index += 1
        self.stats.entities += 1
        return index

    def add(self, index: int, identifier: str | None, item: Any, group: str | None) -> None:
        """Queue one valid entity (``item``: what the operation sends for it) in its group.

        With a journal, an entity the earlier run finished is settled from the journal
        instead (after checking it is the same entity).
        """
        journal = self.journal
        if journal is not None and journal.holds(index):
            fingerprint = journal.fingerprint(self.operation.sent_bytes(item))
            recorded = journal.recorded(index, fingerprint, identifier)
            if recorded is not None:  # else a body that cannot be read back: send again
                self._resume(index, identifier, recorded)
                return
        job = self.groups.get(group)
        if job is None:
            job = self.groups[group] = Job(self.next_job, group)
            self.next_job += 1
            self.unfinished[job.id] = job
        job.indexes.append(index)
        job.identifiers.append(identifier)
        job.items.append(item)
        if len(job.indexes) >= self.runner.chunk_size:
            del self.groups[group]
            self.completed.append(job)

    def add_many(
        self, identifiers: Sequence[str | None], items: Sequence[Any], group: str | None
    ) -> None:
        """Queue valid entities of one group, taking the next ``len(items)`` indexes: what
        :meth:`take_index` and :meth:`add` do one by one, in bulk (a table's frame).

        With a journal that recorded any of them in an earlier run, each is checked
        against it one by one.
        """
        start, count = self.next_index, len(items)
        journal = self.journal
        if journal is not None and journal.records_any(start, start + count):
            for identifier, item in zip(identifiers, items, strict=True):
                self.add(self.take_index(), identifier, item, group)
            return
        self.next_index += count
        self.stats.entities += count
        size = self.runner.chunk_size
        position = 0
        while position < count:
            job = self.groups.get(group)
            if job is None:
                job = self.groups[group] = Job(self.next_job, group)
                self.next_job += 1
                self.unfinished[job.id] = job
            end = min(count, position + size - len(job.indexes))
            job.indexes.extend(range(start + position, start + end))
            job.identifiers.extend(identifiers[position:end])
            job.items.extend(items[position:end])
            position = end
            if len(job.indexes) >= size:
                del self.groups[group]
                self.completed.append(job)

    def settle_early(self, index: int, identifier: str | None, error: Exception) -> None:
        """An entity that fails before sending (bad input, a refused attribution)."""
        self.early.append(Settled([index], [identifier], error=error))
        self.stats.failed += 1
        self.emit("failed", 1)

    def client_for(self, group: str | None) -> BaseClient:
        """The client (view) that sends a group's chunks; raises ``ValueError`` for an id
        the auth refuses."""
        client = self.clients.get(group)
        if client is None:
            client = self.client
            if group is not None:
                auth = client.auth
                if isinstance(auth, AccountCustomerAuth):
                    client = client.for_customer(group)
                elif isinstance(auth, MultiTenantAuth):
                    client = client.for_end_user(group)
            self.clients[group] = client
        return client

    def emit(self, kind: EventKind, count: int) -> None:
        if self.on_progress is not None:
            self.on_progress(BatchEvent(kind, count, self.stats))

    def _resume(self, index: int, identifier: str | None, recorded: Recorded) -> None:
        self.stats.resumed += 1
        if recorded.error is None:
            self.stats.succeeded += 1
            self.emit("done", 1)
            last = self.early[-1] if self.early else None
            if (
                last is not None
                and isinstance(last.payload, Journaled)
                and last.indexes[-1] == index - 1
                and len(last.indexes) < self.runner.chunk_size
            ):  # resumed neighbours go on as one part, as a chunk would (one parse for all)
                last.indexes.append(index)
                last.identifiers.append(identifier)
                last.payload.append(recorded.result)
                return
            settled = Settled([index], [identifier], payload=Journaled([recorded.result]))
        else:
            url = str(self.client.url_for(self.operation.name))
            settled = Settled([index], [identifier], error=recorded.rebuild_error(url))
            self.stats.failed += 1
            self.emit("failed", 1)
        self.early.append(settled)

    # -- producer -----------------------------------------------------------------------------

    async def _produce(
        self, source: Source, jobs: ObjectSendStream[Job], out: ObjectSendStream[Handoff]
    ) -> None:
        async with jobs:
            units = self.units = source.units()
            if isinstance(units, AsyncIterator):
                async for unit in units:
                    source.admit(self, unit)
                    await self._pass_on(jobs, out)
            else:
                for unit in units:
                    source.admit(self, unit)
                    await self._pass_on(jobs, out)
            self.completed.extend(self.groups.values())
            self.groups.clear()
            await self._pass_on(jobs, out, flush=True)

    async def _pass_on(
        self, jobs: ObjectSendStream[Job], out: ObjectSendStream[Handoff], flush: bool = False
    ) -> None:
        """Submit completed jobs; pass early outcomes on in batches."""
        if self.completed:
            await self._flush_early(out)
            completed, self.completed = self.completed, []
            for job in completed:
                await self._submit(job, jobs)
        elif flush or len(self.early) >= _EARLY_BATCH:
            await self._flush_early(out)
        elif self.next_index % 128 == 0:
            await anyio.lowlevel.checkpoint()  # a long run of partial chunks: let others run
        if flush:
            await self._flush_early(out)

    async def _flush_early(self, out: ObjectSendStream[Handoff]) -> None:
        if self.early:
            early, self.early = self.early, []
            await _hand_over(out, (-1, early))

    async def _submit(self, job: Job, jobs: ObjectSendStream[Job]) -> None:
        """Send ``job`` to the workers once the window has room for it.

        While the window is full, an ordered consumer may be waiting for an entity that
        sits in a partial chunk of another group: such chunks go out at once, outside the
        window, or the run would wait forever.
        """
        # The workers and the consumer get their turn before each chunk is queued: without
        # this checkpoint the producer fills the whole window at once and a 1,000,000-entity
        # stream peaks 20-25 MiB higher (benchmarks/README.md, "The command line").
        await anyio.lowlevel.checkpoint()
        try:  # the window mostly has room: no cancel scope and timer per chunk then
            self.window.acquire_nowait()
        except anyio.WouldBlock:
            await self._wait_for_window(jobs)
        job.holds_slot = True
        await jobs.send(job)

    async def _wait_for_window(self, jobs: ObjectSendStream[Job]) -> None:
        """A slot of the full window; meanwhile, the partial chunks an ordered consumer
        waits for go out (see :meth:`_submit`)."""
        while True:
            with anyio.move_on_after(_WINDOW_POLL):
                await self.window.acquire()
                break
            for group, waiting_job in list(self.groups.items()):
                if waiting_job.indexes[0] <= self.next_expected:
                    del self.groups[group]
                    await jobs.send(waiting_job)

    # -- workers ------------------------------------------------------------------------------

    async def _work(self, jobs: ObjectReceiveStream[Job], out: ObjectSendStream[Handoff]) -> None:
        # The parts live in _complete's frame, not here: an idle worker waiting for its
        # next job must not keep its last results alive for the cyclic GC to rescan.
        async with jobs:
            async for job in jobs:
                if not await _hand_over(out, await self._complete(job, out)):
                    return

    async def _complete(self, job: Job, out: ObjectSendStream[Handoff]) -> Delivery:
        """Send ``job`` until every entity is settled; record them in the journal. The
        delivery holds the parts whose results the consumer has not had yet."""
        part = _Part(job.indexes, job.identifiers, job.items)
        settled = await self._send(self.client_for(job.group), job, part, out)
        self._record(job, settled)
        del self.unfinished[job.id]
        last = job.indexes[-1] if job.holds_slot else -1
        return last, [part for part in settled if not part.handed_out]

    async def _send(
        self, client: BaseClient, job: Job, part: _Part, out: ObjectSendStream[Handoff]
    ) -> list[Settled]:
        """Send ``part`` until it succeeds, splits or fails.

        A successful response goes to the consumer as an :class:`Answer`; the part is
        settled once the consumer has decoded it (or the body did not decode, and that is
        decided on like any failed request).
        """
        operation = self.operation
        body = operation.encode(part.items)
        stats = self.stats
        attempts = 0
        while True:
            if self.broken is not None:
                return [self._fail(part, self.broken, attempts)]
            await self._take_slot()
            attempts += 1
            stats.in_flight += 1
            started = time.perf_counter()
            error: EmmiError | None = None
            try:
                response = await operation.fetch(client, part.items, body)
            except EmmiError as exc:
                error = exc
            finally:
                stats.in_flight -= 1
                if self.gate is not None:
                    if error is not None:
                        self._publish_early(error)
                    with anyio.CancelScope(shield=True):
                        await self.gate.release()
            latency = time.perf_counter() - started
            stats.requests += 1
            stats.record_latency(latency)
            if self.limit.release(latency, overloaded=_is_overload(error)):
                stats.concurrency = self.limit.limit
                self.emit("concurrency", self.limit.limit)
            if error is None:
                self._note_rate_limit(response.rate_limit)  # before waiting to decode
                answer = Answer(job, part, response, attempts)
                if not await _hand_over(out, answer):
                    return []  # the consumer has gone: nothing to settle for anyone
                try:
                    await answer.done.wait()
                finally:
                    if not answer.done.is_set():
                        answer.abandoned = True
                if answer.handed_out:
                    body = response.data if self.journal is not None else None
                    return [
                        Settled(part.indexes, part.identifiers, None, None, attempts, body, True)
                    ]
                error = answer.error
                assert error is not None
            decision = self._decide(error, len(part.indexes), attempts)
            if decision.action == "split":
                return await self._split(client, job, part, error, attempts, out)
            if decision.action in ("fail", "abort"):
                return [self._fail(part, error, attempts)]
            await anyio.sleep(decision.delay if decision.action == "retry" else 0.0)

    def settle_answer(self, answer: Answer) -> Settled | None:
        """Decode ``answer`` for the consumer, which hands its results out at once: the
        settled part, or ``None`` when there is nothing to hand out (its worker has
        stopped waiting, or the body does not decode and the worker decides what next).

        Called by the consumer of the run's deliveries, never by a worker: a response is
        decoded when its results are about to be read.
        """
        if answer.abandoned:
            return None
        part = answer.part
        count = len(part.indexes)
        try:
            payload = self.operation.decode(answer.response, count)
        except EmmiError as error:
            answer.error = error
            answer.done.set()
            return None
        answer.handed_out = True
        answer.job.handed_out += part.indexes
        answer.done.set()
        self.consecutive_failures = 0
        self.stats.succeeded += count
        self.emit("done", count)
        return Settled(part.indexes, part.identifiers, payload, None, answer.attempts)

    def _decide(self, error: EmmiError, size: int, attempts: int) -> ChunkDecision:
        """:func:`decide_chunk` for a failed request of ``size`` entities, and its effects
        on the run: counters, the shared pause, the retry budget, and an abort."""
        kind = error_kind(error)
        stats = self.stats
        if kind == "rate_limited":
            stats.throttled += 1
            self.emit("throttled", 1)
        elif kind == "transient":
            self.consecutive_failures += 1
        runner = self.runner
        decision = decide_chunk(
            kind,
            attempts=attempts,
            max_attempts=runner.max_attempts,
            splittable=size > 1 or bool(_named_positions(error, size)),
            budget_left=self.budget_spent < 10 + runner.retry_budget * stats.requests,
            failing_streak=self.consecutive_failures >= max(10, runner.max_concurrency),
            wait=server_wait(error),
            max_wait=runner.max_retry_after,
            backoff=self.policy.backoff(attempts - 1),
        )
        action = decision.action
        if action == "abort" and self.broken is None:
            refused = "the key" if status_of(error) == 401 else "access"
            reason = (
                f"the API refused {refused}: {error}"
                if kind == "refused_key"
                else "stopped sending: the server kept failing and the retry budget is "
                f"spent (last error: {error})"
            )
            self.broken = BatchAbortedError(reason, error)
        elif action in ("retry", "pause"):
            stats.retries += 1
            self.emit("retried", size)
            if kind == "transient":
                self.budget_spent += 1
            if action == "pause":
                self._pause(decision.delay)
        return decision

    async def _take_slot(self) -> None:
        """A concurrency slot, once no shared pause is in force.

        The pause is checked again after the slot is taken: a 429 may have started a
        pause while this task queued for the slot, and sending then only earns another 429.
        With a gate, the slot also holds one of the gate's leases, taken last (a lease is
        shared with other processes; the gate waits out pauses other holders published).
        """
        while True:
            delay = self.pause_until - time.monotonic()
            if delay > 0:
                await anyio.sleep(delay)
            await self.limit.acquire()
            if self.pause_until <= time.monotonic():
                break
            self.limit.release(None)
        if self.gate is not None:
            try:
                await self.gate.acquire()
            except BaseException:
                self.limit.release(None)
                raise

    async def _split(
        self,
        client: BaseClient,
        job: Job,
        part: _Part,
        error: EmmiError,
        attempts: int,
        out: ObjectSendStream[Handoff],
    ) -> list[Settled]:
        """Isolate what the server refused: named entities fail, the rest is sent again."""
        size = len(part.indexes)
        named = _named_positions(error, size)
        if named and isinstance(error, ValidationError):
            failed = [
                Settled(
                    [part.indexes[position]],
                    [part.identifiers[position]],
                    error=_entity_error(error, details, part.indexes[position]),
                    attempts=attempts,
                )
                for position, details in named.items()
            ]
            self.stats.failed += len(failed)
            self.emit("failed", len(failed))
            rest = [position for position in range(size) if position not in named]
            if not rest:
                return failed
            self.stats.splits += 1
            self.emit("split", size)
            return failed + await self._send(client, job, part.subset(rest), out)
        self.stats.splits += 1
        self.emit("split", size)
        left, right = part.halves()
        return await self._send(client, job, left, out) + await self._send(client, job, right, out)

    def _fail(self, part: _Part, error: Exception, attempts: int) -> Settled:
        self.stats.failed += len(part.indexes)
        self.emit("failed", len(part.indexes))
        return Settled(part.indexes, part.identifiers, error=error, attempts=attempts)

    def _note_rate_limit(self, rate_limit: Any) -> None:
        """Pause politely when the server says its quota is used up.

        The pause is the time one more request's worth of quota takes to come back
        (``reset / limit``, as the quota refills over the window), not the whole window:
        the adaptive limit, halved by any 429, does the rest.
        """
        if rate_limit is None or rate_limit.remaining != 0 or not rate_limit.reset:
            return
        reset = min(float(rate_limit.reset), self.runner.max_retry_after)
        pause = reset / rate_limit.limit if rate_limit.limit else reset
        self._pause(min(reset, pause))

    def _publish_early(self, error: EmmiError) -> None:
        """A 429's pause, told to the gate before its lease goes back (so that no holder
        uses the lease inside the pause)."""
        assert self.gate is not None
        wait = server_wait(error) if error_kind(error) == "rate_limited" else None
        if wait is not None and 0 < wait <= self.runner.max_retry_after:
            self.gate.publish_pause(time.time() + wait)

    def _pause(self, delay: float) -> None:
        """Send nothing for ``delay`` seconds; with a gate, nor does any other holder."""
        self.pause_until = max(self.pause_until, time.monotonic() + delay)
        if self.gate is not None:
            self.gate.publish_pause(time.time() + delay)

    def _record(self, job: Job, parts: list[Settled]) -> None:
        """Journal what a later run must not send again: successes (their response body as
        it came) and permanent refusals, one line per part, each entity with the
        fingerprint of what was sent for it."""
        journal = self.journal
        if journal is None:
            return
        fingerprint, sent_bytes = journal.fingerprint, self.operation.sent_bytes
        by_index: dict[int, Any] | None = None
        pieces: list[bytes] = []
        for part in parts:
            error, body = part.error, part.body
            part.body = None  # the consumer gets the payload, not the bytes again
            if error is not None and not (
                isinstance(error, APIStatusError) and is_permanent(error)
            ):
                continue
            if part.indexes is job.indexes:
                sent = job.items
            else:
                if by_index is None:
                    by_index = dict(zip(job.indexes, job.items, strict=True))
                sent = [by_index[index] for index in part.indexes]
            fingerprints = [fingerprint(sent_bytes(item)) for item in sent]
            if error is None:
                if isinstance(body, bytes):
                    pieces += results_line(part.indexes, part.identifiers, fingerprints, body)
            else:
                assert isinstance(error, APIStatusError)
                pieces += refusal_line(part.indexes, part.identifiers, fingerprints, error)
        journal.write(pieces)

    # -- deadline -----------------------------------------------------------------------------

    async def _expire(self, source: Source, out: ObjectSendStream[Handoff]) -> None:
        """Settle every entity that has no outcome yet: the deadline passed."""
        error = BatchDeadlineError(f"the batch deadline of {self.runner.deadline:g} s passed")
        for job in list(self.unfinished.values()):
            part = _Part(job.indexes, job.identifiers, job.items)
            if job.handed_out:  # the consumer has had these results: they stand
                had = set(job.handed_out)
                part = part.subset(i for i, index in enumerate(job.indexes) if index not in had)
                if not part.indexes:
                    continue
            self.early.append(self._fail(part, error, 0))
        self.unfinished.clear()
        with anyio.CancelScope(shield=True):
            await self._flush_early(out)
            # The input not read yet: its failures go out in batches, as it is read.
            units = self.units
            if isinstance(units, AsyncIterator):
                async for unit in units:
                    source.late(self, unit, error)
                    if len(self.early) >= _EARLY_BATCH:
                        await self._flush_early(out)
            elif units is not None:
                for unit in units:
                    source.late(self, unit, error)
                    if len(self.early) >= _EARLY_BATCH:
                        await self._flush_early(out)
            await self._flush_early(out)


async def _hand_over(out: ObjectSendStream[Handoff], delivery: Handoff) -> bool:
    """Give parts to the consumer; ``False`` if it has gone (stopped iterating).

    Shielded: a hand-off that the deadline interrupted half-way could neither say whether
    the consumer got the parts nor be retried without risking duplicates. When the stream
    has room, the parts go in at once (no cancel scope per chunk; nothing to interrupt).
    """
    if isinstance(out, MemoryObjectSendStream):
        try:
            out.send_nowait(delivery)
            return True
        except anyio.WouldBlock:
            pass
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return False
    with anyio.CancelScope(shield=True):
        try:
            await out.send(delivery)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return False
    return True


def _is_overload(error: EmmiError | None) -> bool:
    if error is None:
        return False
    if isinstance(error, APIStatusError):
        return error.status_code in _OVERLOAD_STATUSES
    return isinstance(error, APITimeoutError)


def _named_positions(error: EmmiError, size: int) -> dict[int, list[Any]]:
    """The positions in the chunk that a 422's ``details`` name, with their details."""
    if not isinstance(error, ValidationError):
        return {}
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
