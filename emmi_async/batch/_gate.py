"""A budget shared beyond one run: leases for requests in flight, and one shared pause.

A :class:`Gate` lets runs in several processes (the workers of a cluster) share one
concurrency budget and one 429 pause. A run given a gate calls :meth:`Gate.acquire` before
each request and :meth:`Gate.release` after it, and tells the gate of every pause the
server asked for (:meth:`Gate.publish_pause`); ``acquire`` waits while a pause published
by any run holds. Without a gate (the default) a run pays nothing for this.

Times are wall-clock seconds (:func:`time.time`): monotonic clocks are not comparable
between machines.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Gate"]


@runtime_checkable
class Gate(Protocol):
    """Leases for requests in flight, shared by every run that holds the same gate."""

    async def acquire(self) -> None:
        """Wait for a lease for one request, and for any published pause to end.

        Returns holding one lease, which the caller gives back with :meth:`release`
        exactly once, whatever happens to the request. Cancelled before it returns, it
        holds nothing.
        """
        ...

    async def release(self) -> None:
        """Give back one lease taken by :meth:`acquire` (called shielded from cancellation)."""
        ...

    def publish_pause(self, until: float) -> None:
        """Tell every holder of the gate to send nothing before ``until`` (:func:`time.time`
        seconds). Must not block: called from the run's event loop."""
        ...
