"""A pause of Python's cyclic garbage collector while a response becomes models.

Decoding a 100-entity answer allocates some 5,000 container objects at once (the parsed
JSON, then the models that replace it). CPython counts every container allocated and runs
a young collection each 700 of them, so a chunk used to be collected 4 to 7 times while
half built; every collection moves what is alive to an older generation, and the
objects promoted that way trigger the *full* collections, which scan every object of
the process (the user's whole portfolio among them). Nothing a decode builds is cyclic:
pausing the collector while it runs loses nothing, and the collector catches up at the
next allocation after the pause. Measured in benchmarks/README.md, "Object path
(session 6): the decode": half the collections, and no full collection of the runner's
own where there was one per 10,000 entities.

The same technique as Mercurial's ``util.nogc``. The collector's switch is one per
process: pauses taken by several threads at once (a blocking facade's thread beside an
event loop, a Dask worker's threads) are counted under a lock, so the collector is
enabled again when the last of them ends, and only if it was enabled when the first
began. Code of someone else's that switches the collector off *during* a pause finds it
on again afterwards; nothing else is touched (thresholds, frozen objects).
"""

from __future__ import annotations

import gc
import threading
from types import TracebackType

__all__ = ["CollectorPause", "collector_paused"]

_lock = threading.Lock()
_depth = 0
_restore = False


class CollectorPause:
    """``with collector_paused():`` the cyclic GC does not run (see the module's docstring).

    It holds no state (the count of pauses is the module's): one instance serves every
    pause, and pauses nest and may overlap across threads.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        global _depth, _restore
        with _lock:
            if _depth == 0:
                _restore = gc.isenabled()
                gc.disable()
            _depth += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _depth
        with _lock:
            _depth -= 1
            if _depth == 0 and _restore:
                gc.enable()


_PAUSE = CollectorPause()


def collector_paused() -> CollectorPause:
    """A context manager that pauses the cyclic garbage collector while it is entered."""
    return _PAUSE
