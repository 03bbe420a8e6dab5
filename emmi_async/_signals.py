"""SIGTERM as Ctrl-C, for the command-line entry points (``emmi``, ``emmi serve``)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["sigterm_as_interrupt"]


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM (``docker stop``, a cancelled CI job, ``Popen.terminate``)
    raises :class:`KeyboardInterrupt` as Ctrl-C does, so a command stops as it does on
    Ctrl-C (cleanly, exit 130) rather than being killed silently with 143.

    Only the main thread can set a signal handler; elsewhere the block runs unchanged. The
    previous handler is restored on the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
