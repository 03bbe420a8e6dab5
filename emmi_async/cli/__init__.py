"""The ``emmi`` command line (console script ``emmi``, also ``python -m emmi_async``).

``main(argv)`` parses ``argv`` (default ``sys.argv[1:]``), runs the command and returns
its exit code: 0 success, 1 some entities failed (or the service said no), 2 usage or
input errors (and refused credentials), 130 interrupted (Ctrl-C or SIGTERM). It never
raises for those; rich is used, when installed, only for output. See ``emmi --help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from emmi_async._entrypoints import sigterm_as_interrupt

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``emmi`` command line with ``argv``; the exit code."""
    from emmi_async.cli._args import build_parser
    from emmi_async.cli._commands import customers_create, customers_list, health, serve, usage
    from emmi_async.cli._errors import EXIT_INTERRUPTED, CliError

    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(
        {
            "estimate": _run_estimate,
            "serve": serve,
            "customers_create": customers_create,
            "customers_list": customers_list,
            "usage": usage,
            "health": health,
        }
    )
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # --help, --version, or a usage error (code 2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        with sigterm_as_interrupt():
            code: int = args.handler(args, arguments)
    except CliError as exc:
        print(f"emmi: error: {exc.message}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("emmi: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


def _run_estimate(args: argparse.Namespace, argv: list[str]) -> int:
    """``emmi estimate``, imported only when run: polars and pyarrow start threads that
    can take a SIGINT meant for the main thread (``emmi serve`` waits for Ctrl-C)."""
    from emmi_async.cli._errors import CliError

    try:
        from emmi_async.cli._estimate import run_estimate as run
    except ImportError as exc:  # polars / pyarrow: the cli extra
        raise CliError(
            f"emmi estimate needs the cli extra ({exc.name or exc}): pip install 'emmi-async[cli]'"
        ) from None
    return run(args, argv)
