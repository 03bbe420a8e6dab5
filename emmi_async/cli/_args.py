"""The command line: ``emmi estimate | serve | customers | usage | health`` (argparse).

Each sub-parser sets ``handler`` to the function that runs it. Value checks that
argparse can do (ranges, formats) happen here and exit 2 with argparse's usage message.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any

from emmi_async._entrypoints import non_negative
from emmi_async.cli._operations import OPERATIONS
from emmi_async.cli._portfolio import COLUMNS

__all__ = ["build_parser"]

Handler = Callable[[argparse.Namespace, list[str]], int]

_DESCRIPTION = """\
The EMMI command line: batch-estimate a portfolio file, run the embedded reference
server, manage customers, read usage. Run 'emmi COMMAND --help' for each command."""

_ESTIMATE_DESCRIPTION = """\
Run an analysis endpoint over every entity of PORTFOLIO and write the results to
RESULTS, one row per entity-year, entities in order of their first row, with the
outcome of each entity.

Input (format from the extension, or --format; - reads CSV or JSON Lines from stdin):
  .csv      one row per entity-year; the rows of one identifier are one entity wherever
            they stand. Columns (names in any case, any order; unknown ones are ignored
            with a warning), empty cell = absent; identifier and year are required:
              {columns}
            Encoding UTF-8 (with or without BOM) unless --encoding; delimiter , ; or tab,
            detected from the header line unless --delimiter. A line that is not valid
            in the encoding, an unclosed quote or a row with too many or too few cells
            stops the command (exit 2) naming the line: nothing is sent.
            projected (true/false) marks supplied future years for
            climate-risk-projections and temperature-alignment-projections (year +
            emissions only).
  .jsonl    one row per line (the CSV's columns as keys), or one entity per line in the
            API's JSON shape ({{"entity_info", "data", ...}}).
  .parquet  the CSV's columns, typed or as text.

Output (format from the extension: .csv, .jsonl or .parquet): identifier, year, the
operation's result columns, status and error; typed columns in Parquet (estimated is a
list there, ;-joined text in CSV). status is ok, invalid (bad input, never
sent), rejected (refused by the API) or error (transient, deadline or interruption: a
rerun retries it). climate-risk writes one row per entity-year-scenario. The file
appears when the run ends (it is written as RESULTS.part).

Bad rows are reported as FILE:LINE: FIELD: MESSAGE and their entity fails alone;
--strict checks the whole file first and sends nothing if any row is bad.

Progress: a bar when stderr is a terminal, else a line every few seconds (done/total,
entities/s, failures); --quiet prints only the problems, --json adds them to its JSON.

Resume: finished entities go to a journal (default RESULTS.journal.jsonl). After Ctrl-C,
SIGTERM (docker stop, a cancelled CI job) or a crash, run the same command again: it
resumes from the journal. The journal is deleted when a run ends with nothing left to
retry.

A refused key (HTTP 401) or a refused customer or end user (403) stops the run at once
with exit 2 and names the setting to check.

Exit codes: 0 every entity succeeded, 1 some failed, 2 usage or input error (nothing
sent) or refused credentials, 130 interrupted (Ctrl-C or SIGTERM)."""

_CONNECTION = """\
Default: the EMMI_API_KEY, EMMI_CUSTOMER_ID, EMMI_END_USER_ID and EMMI_BASE_URL
environment variables. Prefer the environment for the key: command lines are visible to
other users of the machine."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _chunk_size(text: str) -> int:
    value = _positive_int(text)
    if value > 100:
        raise argparse.ArgumentTypeError(
            f"the API takes at most 100 entities a request, got {value}"
        )
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _years(text: str) -> list[int]:
    years = []
    for part in text.split(","):
        try:
            years.append(int(part.strip()))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a year: {part!r}") from None
    return years


def _target(text: str) -> dict[str, Any]:
    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        baseline, target, reduction = int(parts[0]), int(parts[1]), float(parts[2])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected BASELINE_YEAR:TARGET_YEAR:REDUCTION, e.g. 2020:2030:0.42; got {text!r}"
        ) from None
    return {"baseline_year": baseline, "target_year": target, "reduction": reduction}


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _connection_parser() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection", _CONNECTION)
    group.add_argument("--api-key", metavar="KEY", help="EMMI API key (default: EMMI_API_KEY)")
    group.add_argument(
        "--customer-id",
        metavar="UUID",
        help="customer of an account key, sent as X-Customer-ID (default: EMMI_CUSTOMER_ID)",
    )
    group.add_argument(
        "--end-user-id",
        metavar="ID",
        help="end user of a multi-tenant key, sent as X-End-User-Id (default: EMMI_END_USER_ID)",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="API root (default: EMMI_BASE_URL, else https://app.emmi.io/api/v1)",
    )
    group.add_argument(
        "--reference-server",
        action="store_true",
        help="run against the embedded reference server, in-process: no key, no network, "
        "deterministic stand-in results",
    )
    return parent


def _output_parser() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    modes = parent.add_mutually_exclusive_group()
    modes.add_argument(
        "--json",
        action="store_true",
        help="print the result as JSON on stdout (for scripts); problems also go to stderr",
    )
    modes.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print only problems (bad rows, failures) and errors",
    )
    return parent


def _add_estimate(commands: Any, parents: list[argparse.ArgumentParser], handler: Handler) -> None:
    parser = commands.add_parser(
        "estimate",
        parents=parents,
        help="run an analysis over a portfolio file into a results file",
        description=_ESTIMATE_DESCRIPTION.format(columns=", ".join(COLUMNS)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    parser.add_argument(
        "portfolio", metavar="PORTFOLIO", help="input: .csv, .jsonl or .parquet; - for stdin"
    )
    reading = parser.add_argument_group("input")
    reading.add_argument(
        "--format",
        choices=("csv", "jsonl", "parquet"),
        help="the input's format (default: from its extension; csv for -)",
    )
    reading.add_argument(
        "--encoding",
        metavar="NAME",
        help="text encoding of a CSV or JSON Lines input (default UTF-8, with or without "
        "BOM), e.g. cp1252 or latin-1 for an Excel export",
    )
    reading.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="CSV delimiter: , ; or tab (default: detected from the header line)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="RESULTS",
        required=True,
        help="results file: .csv, .jsonl or .parquet",
    )
    analysis = parser.add_argument_group("analysis")
    analysis.add_argument(
        "--operation",
        choices=sorted(OPERATIONS),
        default="emissions-estimates",
        help="the analysis endpoint (default: emissions-estimates)",
    )
    analysis.add_argument(
        "--scenario",
        action="append",
        metavar="ID",
        help="climate scenario id, repeatable (climate-risk: default the service's; "
        "climate-risk-projections: required), e.g. ipcc_net_zero, ngfs_below_two_degree",
    )
    analysis.add_argument(
        "--method",
        metavar="NAME",
        help="emissions-projections method: monte_carlo (default; needs 3+ years and "
        "--projection-year) or glide_path (needs --target)",
    )
    analysis.add_argument(
        "--projection-year",
        action="append",
        type=_years,
        metavar="YEAR[,YEAR...]",
        help="year to project to (emissions-projections), repeatable",
    )
    analysis.add_argument(
        "--target",
        action="append",
        type=_target,
        metavar="BASE:TARGET:REDUCTION",
        help="reduction target for glide_path, e.g. 2020:2030:0.42 (42%% below 2020 by "
        "2030), repeatable",
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--concurrency",
        type=_positive_int,
        metavar="N",
        help="requests in flight at most (default 64; adapts down on 429s)",
    )
    run.add_argument(
        "--chunk-size",
        type=_chunk_size,
        metavar="N",
        help="entities per request, 1 to 100 (default 100)",
    )
    run.add_argument(
        "--deadline",
        type=_seconds,
        metavar="SECONDS",
        help="stop sending after this long; unfinished entities get status error "
        "(a rerun resumes them)",
    )
    journal = run.add_mutually_exclusive_group()
    journal.add_argument(
        "--journal",
        metavar="FILE",
        help="journal of finished entities, for resuming (default: RESULTS.journal.jsonl)",
    )
    journal.add_argument("--no-journal", action="store_true", help="keep no journal (no resume)")
    run.add_argument(
        "--fresh", action="store_true", help="discard an existing journal and start over"
    )
    run.add_argument(
        "--strict",
        action="store_true",
        help="check every row first (file format and the SDK's validation); "
        "send nothing if any is bad (exit 2)",
    )
    run.add_argument(
        "--reference-latency-ms",
        type=non_negative,
        default=0.0,
        metavar="MS",
        help="with --reference-server: added latency per request (demos and tests)",
    )


def _add_serve(commands: Any, handler: Handler) -> None:
    from emmi_async.testing._cli import DESCRIPTION, add_arguments

    parser = commands.add_parser(
        "serve",
        help="run the reference server on 127.0.0.1 and print its test keys",
        description=DESCRIPTION + " Same as: python -m emmi_async.testing.",
    )
    parser.set_defaults(handler=handler)
    add_arguments(parser)


def _add_customers(
    commands: Any, parents: list[argparse.ArgumentParser], create: Handler, listing: Handler
) -> None:
    parser = commands.add_parser(
        "customers",
        help="register and list customers (account keys)",
        description="Customers subdivide an account key (emmi_sk_...) for usage and "
        "billing; data calls name one with X-Customer-ID (--customer-id).",
    )
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION")
    actions.required = True
    new = actions.add_parser(
        "create",
        parents=parents,
        help="register a customer; prints its id",
        description="Register a customer under the account key; prints its EMMI id "
        "(the value for --customer-id / EMMI_CUSTOMER_ID). Exit 1 if it exists.",
    )
    new.set_defaults(handler=create)
    new.add_argument("external_id", metavar="EXTERNAL_ID", help="your own id for the customer")
    new.add_argument("--name", help="display name")
    show = actions.add_parser(
        "list",
        parents=parents,
        help="list the account's customers",
        description="List the customers of the account key.",
    )
    show.set_defaults(handler=listing)


def _add_usage(commands: Any, parents: list[argparse.ArgumentParser], handler: Handler) -> None:
    today = dt.date.today()
    parser = commands.add_parser(
        "usage",
        parents=parents,
        help="requests and entities counted between two dates",
        description="Usage of the key between two dates (inclusive), by endpoint and by "
        "customer or end user.",
    )
    parser.set_defaults(handler=handler)
    parser.add_argument(
        "--start",
        type=_date,
        default=today.replace(day=1),
        metavar="YYYY-MM-DD",
        help="first day (default: the first of this month)",
    )
    parser.add_argument(
        "--end",
        type=_date,
        default=today,
        metavar="YYYY-MM-DD",
        help="last day (default: today)",
    )


def _add_health(commands: Any, parents: list[argparse.ArgumentParser], handler: Handler) -> None:
    parser = commands.add_parser(
        "health",
        parents=parents,
        help="check that the service answers (no key needed)",
        description="GET /health. Exit 0 when the service reports ok, 1 otherwise.",
    )
    parser.set_defaults(handler=handler)


def build_parser(handlers: dict[str, Handler]) -> argparse.ArgumentParser:
    """The ``emmi`` parser; ``handlers`` by name: estimate, serve, customers_create,
    customers_list, usage, health."""
    parser = argparse.ArgumentParser(
        prog="emmi",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from emmi_async import __version__

    parser.add_argument("--version", action="version", version=f"emmi-async {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    commands.required = True
    parents = [_connection_parser(), _output_parser()]
    _add_estimate(commands, parents, handlers["estimate"])
    _add_serve(commands, handlers["serve"])
    _add_customers(commands, parents, handlers["customers_create"], handlers["customers_list"])
    _add_usage(commands, parents, handlers["usage"])
    _add_health(commands, parents, handlers["health"])
    return parser
