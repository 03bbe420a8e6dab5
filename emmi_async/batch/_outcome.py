"""What a batch produces: one outcome per input entity, live stats, events and the report."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any, Generic, Literal, TypeAlias, TypeVar, cast

import attrs

from emmi_async._exceptions import BatchAbortedError, BatchDeadlineError

__all__ = [
    "BatchAbortedError",
    "BatchDeadlineError",
    "BatchEvent",
    "BatchReport",
    "BatchStats",
    "EventKind",
    "Outcome",
]

ResultT = TypeVar("ResultT")

_LATENCY_SAMPLES = 10_000


@attrs.frozen(slots=True)
class Outcome(Generic[ResultT]):
    """The fate of one input entity: its ``result``, or the ``error`` that stopped it."""

    index: int
    """Position of the entity in the input."""
    identifier: str | None
    """The entity's ``entity_info.identifier`` (or ``None``)."""
    result: ResultT | None = None
    error: Exception | None = None
    attempts: int = 0
    """Requests that carried this entity (0 when it failed before sending)."""

    @property
    def ok(self) -> bool:
        """Whether the entity succeeded (then :meth:`unwrap` returns its result)."""
        return self.error is None

    def unwrap(self) -> ResultT:
        """The result, typed without ``None``; raises :attr:`error` if the entity failed.

        ``if outcome.ok: save(outcome.unwrap())`` is the idiom that type checkers follow
        (a property such as ``ok`` cannot narrow ``result`` for them).
        """
        if self.error is not None:
            raise self.error
        return cast(ResultT, self.result)


class _OutcomeBuilder(Outcome[Any]):
    """An :class:`Outcome` under construction: it adds no slots and keeps ``object``'s
    ``__setattr__``, so :func:`outcome_of` sets each field with a plain attribute store
    (not the frozen class's descriptor calls), then gives the object its class."""

    __slots__ = ()
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


_new = object.__new__


def outcome_of(
    index: int,
    identifier: str | None,
    result: ResultT | None,
    error: Exception | None,
    attempts: int,
) -> Outcome[ResultT]:
    """``Outcome(index, identifier, result=result, error=error, attempts=attempts)``, at
    a third of the cost, for the one outcome the runner makes per entity: each slot set
    once, as the frozen ``__init__`` would (it has no validators or converters), in an
    :class:`_OutcomeBuilder` that then becomes an ``Outcome`` (the two have the same
    layout, so Python allows the ``__class__`` assignment)."""
    outcome: Any = _new(_OutcomeBuilder)
    outcome.index = index
    outcome.identifier = identifier
    outcome.result = result
    outcome.error = error
    outcome.attempts = attempts
    outcome.__class__ = Outcome
    built: Outcome[ResultT] = outcome
    return built


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@attrs.define(kw_only=True)
class BatchStats:
    """Counters of a run, updated live; :meth:`snapshot` freezes a copy for the report."""

    entities: int = 0
    """Input entities seen so far."""
    succeeded: int = 0
    failed: int = 0
    resumed: int = 0
    """Entities whose outcome came from the journal of an earlier run."""
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    """Responses with status 429."""
    splits: int = 0
    """Chunks split to isolate entities the server refused."""
    concurrency: int = 0
    """The adaptive concurrency limit now."""
    in_flight: int = 0
    started: float = attrs.field(factory=time.perf_counter, repr=False)
    finished: float | None = attrs.field(default=None, repr=False)
    latencies: list[float] = attrs.field(factory=list, repr=False)
    """Request latencies in seconds: all of them up to 10,000, then a uniform sample."""
    _rng: random.Random = attrs.field(factory=lambda: random.Random(0), repr=False, eq=False)

    def record_latency(self, latency: float) -> None:
        """Add one request's latency (reservoir sampling keeps memory bounded)."""
        if len(self.latencies) < _LATENCY_SAMPLES:
            self.latencies.append(latency)
            return
        slot = self._rng.randrange(self.requests)
        if slot < _LATENCY_SAMPLES:
            self.latencies[slot] = latency

    @property
    def done(self) -> int:
        return self.succeeded + self.failed

    @property
    def elapsed(self) -> float:
        end = self.finished if self.finished is not None else time.perf_counter()
        return end - self.started

    @property
    def entities_per_second(self) -> float:
        elapsed = self.elapsed
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def latency_p50(self) -> float | None:
        """Median request latency in seconds."""
        return _percentile(self.latencies, 0.50)

    @property
    def latency_p99(self) -> float | None:
        return _percentile(self.latencies, 0.99)

    def snapshot(self) -> BatchStats:
        return attrs.evolve(self, latencies=list(self.latencies))

    def summary(self) -> dict[str, float | int | None]:
        """The counters as a flat JSON-ready mapping."""
        return {
            "entities": self.entities,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "resumed": self.resumed,
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "splits": self.splits,
            "elapsed_s": round(self.elapsed, 3),
            "entities_per_s": round(self.entities_per_second, 1),
            "latency_p50_ms": _ms(self.latency_p50),
            "latency_p99_ms": _ms(self.latency_p99),
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 2)


EventKind: TypeAlias = Literal["done", "failed", "retried", "throttled", "split", "concurrency"]


@attrs.frozen(slots=True)
class BatchEvent:
    """Something happened in a run: ``count`` entities (or requests) of ``kind``.

    ``stats`` is the live counter object, for a progress bar to read.
    """

    kind: EventKind
    count: int
    stats: BatchStats = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class BatchReport(Generic[ResultT]):
    """Every outcome, in input order, and the run's stats."""

    outcomes: list[Outcome[ResultT]]
    stats: BatchStats

    @property
    def ok(self) -> bool:
        """Whether every entity succeeded."""
        return all(outcome.error is None for outcome in self.outcomes)

    @property
    def results(self) -> list[ResultT | None]:
        """The result of each entity, ``None`` where it failed, in input order."""
        return [outcome.result for outcome in self.outcomes]

    @property
    def failures(self) -> list[Outcome[ResultT]]:
        return [outcome for outcome in self.outcomes if outcome.error is not None]
