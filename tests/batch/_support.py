"""Builders and probes shared by the batch runner's tests."""

from __future__ import annotations

import collections
import os
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio
import orjson
import sniffio

from emmi_async._exceptions import APIStatusError
from emmi_async.batch import Outcome
from emmi_async.testing import FaultConfig, ReferenceServer

ESTIMATES = "/emissions-estimates"
CLIMATE_RISK = "/climate-risk"


def entity(index: int, **info: Any) -> dict[str, Any]:
    """A valid equity entity whose estimate is unique to ``index``.

    scope1 is reported as ``10 + index`` and the name is ``f"Co {index}"``: both come back
    in the result, so every result can be matched to the entity it belongs to.
    """
    entity_info = {
        "identifier": f"E{index}",
        "name": f"Co {index}",
        "asset_type": "equity",
        "sector": ("Energy", "Utilities", "Materials", "Financials")[index % 4],
    }
    entity_info.update(info)
    return {
        "entity_info": entity_info,
        "data": [
            {
                "year": 2022,
                "emissions": {"scope1": 10.0 + index},
                "financials": {"currency": "USD", "revenue": 1e6 * (1 + index % 97)},
            }
        ],
    }


def client_bad(index: int) -> dict[str, Any]:
    """An entity the SDK refuses before sending (a year that is not an integer)."""
    bad = entity(index)
    bad["data"][0]["year"] = "twenty-twenty-two"
    return bad


def risk_entity(index: int, scenario: str = "ipcc_net_zero") -> dict[str, Any]:
    """A climate-risk entity; scenarios are open strings, so the SDK passes any name."""
    return {**entity(index), "scenarios": [scenario]}


def server_bad(index: int) -> dict[str, Any]:
    """A climate-risk entity only the server refuses (422): a scenario it does not know."""
    return risk_entity(index, "ngfs_not_a_real_scenario")


def matches(outcome: Outcome[Any]) -> bool:
    """Whether an estimate outcome holds the result of entity ``outcome.index``."""
    result = outcome.result
    if result is None:
        return False
    (year,) = result.data
    return (
        result.entity_info.name == f"Co {outcome.index}"
        and year.emissions.scope1 == 10.0 + outcome.index
    )


def indexes_once(outcomes: Iterable[Outcome[Any]], count: int) -> None:
    """Assert ``outcomes`` name each index of ``0..count-1`` exactly once."""
    seen = collections.Counter(outcome.index for outcome in outcomes)
    duplicated = sorted(index for index, times in seen.items() if times > 1)
    missing = sorted(set(range(count)) - set(seen))
    extra = sorted(set(seen) - set(range(count)))
    assert not duplicated, f"outcomes given twice: {duplicated[:20]}"
    assert not missing, f"{len(missing)} entities without an outcome: {missing[:20]}"
    assert not extra, f"outcomes for indexes not in the input: {extra[:20]}"


def summary(outcome: Outcome[Any]) -> tuple[Any, ...]:
    """What must not change between runs: index, identifier, result, error type and status."""
    error = outcome.error
    status = error.status_code if isinstance(error, APIStatusError) else None
    return (
        outcome.index,
        outcome.identifier,
        outcome.result,
        None if error is None else type(error),
        status,
    )


def usage(server: ReferenceServer, key: str) -> dict[tuple[str, str], tuple[int, int]]:
    """``(endpoint, subject) -> (requests, entities)`` the server counted for ``key``."""
    return {
        (endpoint, subject): (requests, entities)
        for endpoint, subject, requests, entities in server.state.usage_rows(
            key, "0001-01-01", "9999-12-31"
        )
    }


def entities_used(server: ReferenceServer, key: str, endpoint: str = ESTIMATES) -> int:
    """Entities the server computed (successful requests only) for ``key`` on ``endpoint``."""
    return sum(
        entities for (path, _), (_, entities) in usage(server, key).items() if path == endpoint
    )


def requests_used(server: ReferenceServer, key: str, endpoint: str = ESTIMATES) -> int:
    return sum(
        requests for (path, _), (requests, _) in usage(server, key).items() if path == endpoint
    )


# -- what is left open --------------------------------------------------------------------


def _socket_inodes() -> set[int]:
    inodes = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def client_connections(port: int) -> int:
    """TCP sockets of this process connected *to* ``127.0.0.1:port`` (not yet closed).

    The loopback server lives in this process too; its own sockets have ``port`` as the
    local port, so only the client ends are counted. TIME_WAIT entries hold no descriptor.
    """
    ours = _socket_inodes()
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table) as file:
                lines = file.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            inode = int(fields[9])
            if remote_port == port and inode in ours:
                count += 1
    return count


async def wait_for_no_connections(port: int) -> int:
    """Let the event loop finish closing transports; the count left after that."""
    for _ in range(200):
        if client_connections(port) == 0:
            return 0
        await anyio.sleep(0.01)
    return client_connections(port)


def running_tasks() -> int:
    """How many tasks this event loop runs now (asyncio or trio)."""
    if sniffio.current_async_library() == "trio":
        import trio

        def count(task: Any) -> int:
            return 1 + sum(
                count(child) for nursery in task.child_nurseries for child in nursery.child_tasks
            )

        return count(trio.lowlevel.current_root_task())
    import asyncio

    return len(asyncio.all_tasks())


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def error_types(outcomes: Sequence[Outcome[Any]]) -> collections.Counter[str]:
    return collections.Counter(
        "ok" if outcome.error is None else type(outcome.error).__name__ for outcome in outcomes
    )


def throttle_first(server: ReferenceServer, then: Any) -> Any:
    """An on_progress hook: the server throttles every request until the first 429 is seen.

    Start the server with ``faults=throttled()``; ``then`` (a FaultConfig or ``None``) is
    put in force at the first ``throttled`` event, so a run sees at least one 429 (and a
    shared Retry-After pause of 1 s) whatever the order of arrival.
    """
    switched = False

    def on_progress(event: Any) -> None:
        nonlocal switched
        if event.kind == "throttled" and not switched:
            switched = True
            server.faults = then

    return on_progress


def throttled() -> FaultConfig:
    return FaultConfig(status_rates={429: 1.0})


def journal_entities(path: Path) -> tuple[int, int]:
    """Entities recorded in a journal's whole lines (a torn last line and the header not
    counted): (all, refused). A line holds one part of a chunk: its indexes in ``"i"``."""
    data = path.read_bytes() if path.exists() else b""
    recorded = refused = 0
    for line in data[: data.rfind(b"\n") + 1].splitlines()[1:]:
        item = orjson.loads(line)
        count = len(item["i"]) if isinstance(item["i"], list) else 1
        recorded += count
        if "err" in item:
            refused += count
    return recorded, refused
