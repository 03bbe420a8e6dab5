"""The embedded EMMI reference server, for tests, examples and benchmarks.

``ReferenceServer`` implements the whole EMMI API as this project understands it
(``emmi-api.md``, documented part and assumed contract) with deterministic results,
the three auth models, validation, rate limits and fault injection, in-process or on a
loopback port. It shares no code with the SDK's models or validation, so that an SDK bug
cannot hide in both. Names are imported lazily: importing this package (as the pytest
plugin does in every test run) costs nothing until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emmi_async.testing._app import MAX_ENTITIES, ReferenceApp
    from emmi_async.testing._faults import FaultConfig, FaultKind
    from emmi_async.testing._keys import KeyModel
    from emmi_async.testing._ratelimit import DEFAULT_RATE_LIMIT, RateLimit
    from emmi_async.testing._server import IN_PROCESS_URL, ReferenceServer
    from emmi_async.testing._state import ServerKeys

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "IN_PROCESS_URL",
    "MAX_ENTITIES",
    "FaultConfig",
    "FaultKind",
    "KeyModel",
    "RateLimit",
    "ReferenceApp",
    "ReferenceServer",
    "ServerKeys",
]

_HOMES = {
    "DEFAULT_RATE_LIMIT": "_ratelimit",
    "IN_PROCESS_URL": "_server",
    "MAX_ENTITIES": "_app",
    "FaultConfig": "_faults",
    "FaultKind": "_faults",
    "KeyModel": "_keys",
    "RateLimit": "_ratelimit",
    "ReferenceApp": "_app",
    "ReferenceServer": "_server",
    "ServerKeys": "_state",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
