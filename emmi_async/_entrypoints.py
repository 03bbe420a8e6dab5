"""What the command-line entry points (``emmi``, ``emmi serve``) share: SIGTERM as Ctrl-C,
and argument types. Kept below both: ``emmi_async.testing`` needs the ``server`` extra,
which ``emmi`` must not need to start."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Iterator

__all__ = ["non_negative", "sigterm_as_interrupt"]


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


def non_negative(text: str) -> float:
    """An argument that is a number >= 0 (``argparse`` type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value
