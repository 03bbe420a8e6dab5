"""The cluster's budget: ``distributed.Semaphore`` leases and a ``Variable`` pause.

:class:`DaskGate` is the :class:`~emmi_async.batch.Gate` of a Dask run, one per worker
process. Its leases come from one named ``distributed.Semaphore`` whose ``max_leases`` is
the run's ``max_concurrency``, so no more requests are in flight across the cluster than
that. A lease costs a round trip to the scheduler; so a worker keeps a lease it has for
its next request while it has requests waiting (a lease is held at most ``hold`` seconds
before it goes back, so that other workers get their turn) and gives it back as soon as
nothing waits. A request never goes out without a lease of its own: requests in flight
in a process never outnumber the leases it holds.

The pause is a ``distributed.Variable`` holding a wall-clock time: a worker that meets a
429 sets it (in a background thread), every worker reads it at most every ``poll``
seconds while it sends, and nothing is sent before it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import anyio
import anyio.to_thread

__all__ = ["DaskGate", "GateSpec"]

_FETCH_TIMEOUT = 0.05
"""Longest wait for a cluster lease in one call (the waiting task re-checks the pause)."""


class GateSpec:
    """What a worker needs to join a run's budget: names and sizes, no connection.

    Args:
        name: the ``distributed.Semaphore`` and ``Variable`` names (unique per run).
        max_leases: the cluster's budget of requests in flight.
        hold: seconds a worker may keep a lease for its next request.
        poll: seconds between two reads of the shared pause while sending.
    """

    __slots__ = ("hold", "max_leases", "name", "poll")

    def __init__(self, name: str, max_leases: int, hold: float = 0.5, poll: float = 0.05) -> None:
        self.name: str = name
        self.max_leases: int = max_leases
        self.hold: float = hold
        self.poll: float = poll

    def __repr__(self) -> str:
        return f"GateSpec({self.name!r}, max_leases={self.max_leases})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (GateSpec, (self.name, self.max_leases, self.hold, self.poll))


class DaskGate:
    """Leases of a ``distributed.Semaphore`` and a pause in a ``distributed.Variable``.

    Made in a worker process (or anywhere a ``distributed`` client is reachable) and used
    from one event loop (the blocking client's). Counters for measurement: ``requests``
    (leases handed to requests) and ``cluster_acquires`` (of which taken from the
    scheduler; the rest reused a lease the process held).

    Args:
        spec: the run's :class:`GateSpec`.
        semaphore: the run's ``distributed.Semaphore`` (made from ``spec`` by default).
        pause: the run's ``distributed.Variable`` for the pause (idem).
    """

    def __init__(self, spec: GateSpec, semaphore: Any = None, pause: Any = None) -> None:
        from distributed import Semaphore, Variable

        self.spec = spec
        self._semaphore = semaphore or Semaphore(max_leases=spec.max_leases, name=spec.name)
        self._pause = pause or Variable(spec.name + "-pause")
        self._held: deque[float] = deque()
        """When each lease this process holds was taken (monotonic), oldest first."""
        self._in_use = 0
        self._waiting = 0
        self._fetching = False
        self._changed: anyio.Event | None = None
        self._pause_until = 0.0
        self._published = 0.0
        self._checked = 0.0
        self._checking = False
        self.cluster_acquires: int = 0
        self.requests: int = 0

    def __repr__(self) -> str:
        return (
            f"DaskGate({self.spec.name!r}, held={len(self._held)}, in_use={self._in_use}, "
            f"max_leases={self.spec.max_leases})"
        )

    # -- Gate ---------------------------------------------------------------------------------

    async def acquire(self) -> None:
        """Wait for a lease for one request and for the shared pause to end."""
        self._waiting += 1
        try:
            await self._take()
        except BaseException:
            self._waiting -= 1
            with anyio.CancelScope(shield=True):
                await self._trim()
            raise
        self._waiting -= 1

    async def release(self) -> None:
        """Give one lease back: to a request waiting in this process while the lease is
        fresh, else to the cluster."""
        self._in_use -= 1
        self._notify()
        await self._trim()

    def publish_pause(self, until: float) -> None:
        """Pause every worker until ``until`` (wall clock); the write happens in a thread."""
        self._pause_until = max(self._pause_until, until)
        if until <= self._published + 0.01:
            return
        self._published = until
        threading.Thread(target=self._write_pause, args=(until,), daemon=True).start()

    # -- inside -------------------------------------------------------------------------------

    async def _take(self) -> None:
        while True:
            await self._wait_pause()
            if self._in_use < len(self._held):
                self._in_use += 1
                self.requests += 1
                return
            if self._fetching:
                await self._wait_change()
                continue
            self._fetching = True
            try:
                got = await anyio.to_thread.run_sync(self._lease)
            finally:
                self._fetching = False
            if got:
                self._held.append(time.monotonic())
                self.cluster_acquires += 1
            self._notify()

    def _lease(self) -> bool:
        """One lease from the scheduler, waiting at most a moment (in a worker thread)."""
        return bool(self._semaphore.acquire(timeout=_FETCH_TIMEOUT))

    async def _trim(self) -> None:
        """Hand idle leases back to the cluster: all when nothing waits here, the stale
        ones (older than ``hold``) otherwise."""
        now = time.monotonic()
        while len(self._held) > self._in_use:
            if self._waiting > 0 and now - self._held[0] < self.spec.hold:
                return
            self._held.popleft()
            await anyio.to_thread.run_sync(self._semaphore.release)
            self._notify()

    async def _wait_pause(self) -> None:
        now = time.time()
        if now - self._checked >= self.spec.poll and not self._checking:
            self._checking = True
            try:
                shared = await anyio.to_thread.run_sync(self._read_pause)
            finally:
                self._checking = False
            self._checked = time.time()
            self._pause_until = max(self._pause_until, shared)
        delay = self._pause_until - time.time()
        if delay > 0:
            await anyio.sleep(delay)

    def _read_pause(self) -> float:
        try:
            value = self._pause.get(timeout=_FETCH_TIMEOUT)
        except Exception:  # unset, or the scheduler is busy: no shared pause known
            return 0.0
        return float(value) if isinstance(value, (int, float)) else 0.0

    def _write_pause(self, until: float) -> None:
        try:
            if self._read_pause() < until:
                self._pause.set(until)
        except Exception:  # pragma: no cover - the local pause still holds
            pass

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _wait_change(self) -> None:
        """Until a lease is freed or taken here, or a moment at most."""
        if self._changed is None:
            self._changed = anyio.Event()
        with anyio.move_on_after(_FETCH_TIMEOUT):
            await self._changed.wait()
