"""``python -m emmi_async.testing``: run the reference server on 127.0.0.1 until Ctrl-C.

Prints the base URL and the (fake, test-only) keys, then serves.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Sequence

from emmi_async.testing._faults import FaultConfig
from emmi_async.testing._ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from emmi_async.testing._server import ReferenceServer

__all__ = ["main", "parse_args"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, parsed."""
    parser = argparse.ArgumentParser(
        prog="python -m emmi_async.testing", description="Run the EMMI reference server."
    )
    parser.add_argument("--port", type=int, default=8123, help="port on 127.0.0.1 (0: any)")
    parser.add_argument("--seed", type=int, default=0, help="seed of keys and faults")
    parser.add_argument("--canned", action="store_true", help="benchmark mode: canned results")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to each request")
    parser.add_argument("--latency-jitter-ms", type=float, default=0.0, help="plus 0..this")
    parser.add_argument("--error-rate", type=float, default=0.0, help="500/502/503, split evenly")
    parser.add_argument("--rate-429", type=float, default=0.0, help="injected 429 probability")
    parser.add_argument("--drop-rate", type=float, default=0.0, help="connections dropped")
    parser.add_argument("--truncate-rate", type=float, default=0.0, help="bodies cut short")
    parser.add_argument("--malformed-rate", type=float, default=0.0, help="invalid JSON bodies")
    parser.add_argument("--slow-body-rate", type=float, default=0.0, help="bodies sent slowly")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=DEFAULT_RATE_LIMIT.requests,
        help="requests per second per key and per end user (0: unlimited)",
    )
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def build_server(args: argparse.Namespace) -> ReferenceServer:
    """The server the arguments describe (not started)."""
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
    return ReferenceServer(
        port=args.port,
        seed=args.seed,
        faults=faults,
        rate_limit=limit,
        end_user_rate_limit=limit,
        canned=args.canned,
        log_level=args.log_level,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run until interrupted; returns the exit status."""
    args = parse_args(argv)
    try:
        server = build_server(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with server:
        customer = server.keys.register_customer("default")
        print(f"EMMI reference server{' (canned)' if args.canned else ''}")
        print(f"base URL      {server.base_url}")
        print(f"account key   {server.keys.account}  (X-Customer-ID: {customer})")
        print(f"single key    {server.keys.single}")
        print(f"multi key     {server.keys.multi}  (any X-End-User-Id)")
        print("Ctrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
