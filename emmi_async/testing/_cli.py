"""The reference server's launcher, with one set of flags: ``emmi serve`` and
``python -m emmi_async.testing`` both call :func:`serve` with arguments that
:func:`add_arguments` declares.

Light on purpose (argparse and the rate-limit default only): the ``emmi`` parser imports
it to declare ``serve``'s flags; the server itself is imported when one is built.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from emmi_async._entrypoints import non_negative, sigterm_as_interrupt
from emmi_async.testing._ratelimit import DEFAULT_RATE_LIMIT

if TYPE_CHECKING:
    from emmi_async.testing._server import ReferenceServer

__all__ = ["DESCRIPTION", "add_arguments", "build_server", "main", "parse_args", "serve"]

DESCRIPTION = (
    "Run the EMMI reference server on 127.0.0.1 until Ctrl-C (or SIGTERM): deterministic "
    "stand-in results, the three auth models, rate limits and fault injection. It prints "
    "its base URL and test keys. On a port it needs the server extra: "
    "pip install 'emmi-async[server]'."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the launcher's flags on ``parser``."""
    parser.add_argument(
        "--port",
        type=int,
        default=8123,
        metavar="PORT",
        help="port on 127.0.0.1 (0: any free port)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N", help="seed of the keys and faults"
    )
    parser.add_argument(
        "--accept-key",
        action="append",
        default=[],
        metavar="KEY",
        help="also accept KEY (any EMMI key format; its model follows from it), repeatable",
    )
    parser.add_argument(
        "--canned", action="store_true", help="benchmark mode: canned results, no validation"
    )
    parser.add_argument(
        "--latency-ms",
        type=non_negative,
        default=0.0,
        metavar="MS",
        help="latency added to each request",
    )
    parser.add_argument(
        "--latency-jitter-ms",
        type=non_negative,
        default=0.0,
        metavar="MS",
        help="plus 0 to this, at random",
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=0.0,
        metavar="R",
        help="fraction of requests answered 500/502/503, split evenly (0 to 1)",
    )
    parser.add_argument(
        "--rate-429", type=float, default=0.0, metavar="R", help="injected 429 probability"
    )
    parser.add_argument(
        "--drop-rate", type=float, default=0.0, metavar="R", help="connections dropped"
    )
    parser.add_argument(
        "--truncate-rate", type=float, default=0.0, metavar="R", help="bodies cut short"
    )
    parser.add_argument(
        "--malformed-rate", type=float, default=0.0, metavar="R", help="invalid JSON bodies"
    )
    parser.add_argument(
        "--slow-body-rate", type=float, default=0.0, metavar="R", help="bodies sent slowly"
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=DEFAULT_RATE_LIMIT.requests,
        metavar="N",
        help="requests per second per key and per end user "
        f"(default {DEFAULT_RATE_LIMIT.requests:,}; 0: unlimited)",
    )
    parser.add_argument(
        "--log-level", default="warning", metavar="LEVEL", help="uvicorn's log level"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """``python -m emmi_async.testing``'s command line, parsed."""
    parser = argparse.ArgumentParser(prog="python -m emmi_async.testing", description=DESCRIPTION)
    add_arguments(parser)
    return parser.parse_args(argv)


def build_server(args: argparse.Namespace) -> ReferenceServer:
    """The server the arguments describe (not started); ``ValueError`` for bad values."""
    from emmi_async.testing._faults import FaultConfig
    from emmi_async.testing._ratelimit import RateLimit
    from emmi_async.testing._server import ReferenceServer

    share = args.error_rate / 3
    rates = {status: share for status in (500, 502, 503) if share}
    if args.rate_429:
        rates[429] = args.rate_429
    faults = FaultConfig(
        status_rates=rates,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        drop_rate=args.drop_rate,
        truncate_rate=args.truncate_rate,
        malformed_rate=args.malformed_rate,
        slow_body_rate=args.slow_body_rate,
    )
    limit = RateLimit(requests=args.rate_limit) if args.rate_limit > 0 else None
    server = ReferenceServer(
        port=args.port,
        seed=args.seed,
        faults=faults,
        rate_limit=limit,
        end_user_rate_limit=limit,
        canned=args.canned,
        log_level=args.log_level,
    )
    for key in getattr(args, "accept_key", None) or ():
        server.keys.accept(key)
    return server


def serve(args: argparse.Namespace, prog: str = "emmi serve", out: TextIO | None = None) -> int:
    """Build and start the server, print its URL and keys on ``out`` (stdout), serve until
    Ctrl-C or SIGTERM; the exit code (0, or 2 after an error message on stderr)."""
    out = out or sys.stdout
    try:
        server = build_server(args)
        server.start()
    except ImportError as exc:
        print(
            f"{prog}: error: the server needs the server extra ({exc.name or exc}): "
            "pip install 'emmi-async[server]'",
            file=sys.stderr,
        )
        return 2
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"{prog}: error: the reference server did not start: {exc}", file=sys.stderr)
        return 2
    with sigterm_as_interrupt():
        try:
            customer = server.keys.register_customer("default")
            url = server.base_url
            mode = " (canned results)" if args.canned else ""
            lines = [
                f"EMMI reference server{mode} on {url} (test keys, not secrets)",
                f"  single-tenant key  {server.keys.single}",
                f"  multi-tenant key   {server.keys.multi}  (any X-End-User-Id)",
                f"  account key        {server.keys.account}  (X-Customer-ID: {customer})",
                "Try it from another shell:",
                f"  export EMMI_BASE_URL={url} EMMI_API_KEY={server.keys.single}",
                "  emmi estimate examples/portfolio.csv -o results.csv",
                "Ctrl-C stops it.",
            ]
            print("\n".join(lines), file=out, flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
        finally:
            server.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m emmi_async.testing``: run until interrupted; the exit code."""
    return serve(parse_args(argv), prog="python -m emmi_async.testing")
