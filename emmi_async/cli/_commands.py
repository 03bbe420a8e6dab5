"""The small commands: ``serve``, ``customers create|list``, ``usage``, ``health``.

Each returns an exit code: 0 done, 1 the service said no (or is unhealthy), 2 usage
errors (raised as :class:`CliError`). ``--json`` prints the API's answer as JSON.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import orjson

from emmi_async import AsyncEmmi, ConflictError, EmmiError
from emmi_async._settings import resolve_auth
from emmi_async.auth import AccountCustomerAuth
from emmi_async.cli._connect import AuthModel, check_credentials, open_client
from emmi_async.cli._errors import EXIT_FAILED, EXIT_OK, CliError
from emmi_async.models import to_json
from emmi_async.resources.customers import existing_id

__all__ = ["customers_create", "customers_list", "health", "serve", "usage"]

T = TypeVar("T")


def _print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def _call(
    args: argparse.Namespace,
    body: Callable[[AsyncEmmi], Awaitable[T]],
    model: AuthModel = "single",
) -> T:
    async def run() -> T:
        async with open_client(args, model=model) as client:
            return await body(client)

    try:
        return anyio.run(run, backend="asyncio")
    except EmmiError as exc:
        raise CliError(str(exc), code=EXIT_FAILED) from None


def _need_account_key(args: argparse.Namespace) -> None:
    check_credentials(args, data=False)
    if args.reference_server:
        return
    auth = resolve_auth(None, args.api_key, args.customer_id, args.end_user_id)
    if not isinstance(auth, AccountCustomerAuth):
        raise CliError("customers belong to account keys (emmi_sk_...); this key is not one")


def customers_create(args: argparse.Namespace, argv: list[str]) -> int:
    """Register ``EXTERNAL_ID``; print its id. Exit 1 when it exists already."""
    _need_account_key(args)

    async def create(client: AsyncEmmi) -> Any:
        try:
            return await client.customers.create(external_id=args.external_id, name=args.name)
        except ConflictError as exc:
            found = existing_id(exc)
            suffix = f" with id {found}" if found else ""
            raise CliError(
                f"customer {args.external_id!r} exists already{suffix}", code=EXIT_FAILED
            ) from None
        except (TypeError, ValueError) as exc:
            raise CliError(str(exc)) from None

    customer = _call(args, create, "account")
    if args.json:
        _print_json(to_json(customer))
    elif not args.quiet:
        print(customer.id)
    return EXIT_OK


def customers_list(args: argparse.Namespace, argv: list[str]) -> int:
    """Every customer of the account key: id, external id, name, creation time."""
    _need_account_key(args)

    async def listing(client: AsyncEmmi) -> list[Any]:
        return [customer async for customer in client.customers.list()]

    customers = _call(args, listing, "account")
    if args.json:
        _print_json([to_json(customer) for customer in customers])
    elif not args.quiet:
        for customer in customers:
            created = customer.created_at.isoformat() if customer.created_at else ""
            print(f"{customer.id}  {customer.external_id or ''}  {customer.name or ''}  {created}")
    return EXIT_OK


def usage(args: argparse.Namespace, argv: list[str]) -> int:
    """Requests and entities between ``--start`` and ``--end``, by endpoint."""
    check_credentials(args, data=False)
    if args.end < args.start:
        raise CliError(f"--end {args.end} is before --start {args.start}")

    async def get(client: AsyncEmmi) -> Any:
        return await client.usage.get(start=args.start, end=args.end)

    report = _call(args, get)
    if args.json:
        _print_json(to_json(report))
    elif not args.quiet:
        print(
            f"{report.period.start} to {report.period.end}: {report.requests:,} requests, "
            f"{report.entities:,} entities"
        )
        for path, counts in sorted(report.by_endpoint.items()):
            print(f"  {path:<36} {counts.requests:>10,} requests {counts.entities:>12,} entities")
    return EXIT_OK


def health(args: argparse.Namespace, argv: list[str]) -> int:
    """``GET /health``: exit 0 when the service reports ``ok``."""
    if args.reference_server or args.api_key is not None:
        check_credentials(args, data=False)

    async def get(client: AsyncEmmi) -> Any:
        return await client.service.health()

    report = _call(args, get)
    status = report.status
    if args.json:
        _print_json(to_json(report))
    elif not args.quiet:
        print(status or "unknown")
    return EXIT_OK if status == "ok" else EXIT_FAILED


def serve(args: argparse.Namespace, argv: list[str]) -> int:
    """Run the reference server on loopback until Ctrl-C, after printing its keys (the
    launcher of ``python -m emmi_async.testing``, with the same flags)."""
    from emmi_async.testing._cli import serve as run_server

    return run_server(args, prog="emmi serve")
