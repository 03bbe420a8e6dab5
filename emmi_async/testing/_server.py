"""``ReferenceServer``: the reference app in-process or on a loopback port.

In-process (``port=None``, the default) requests go straight into the ASGI app through
:meth:`ReferenceServer.transport`; nothing listens anywhere. With a port (0 picks a free
one) uvicorn serves the app on 127.0.0.1 only, in a background thread with its own
asyncio loop, so that asyncio and trio tests alike can use it; it stops on exit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import anyio.to_thread

from emmi_async.testing._app import MAX_ENTITIES, ReferenceApp
from emmi_async.testing._faults import FaultConfig
from emmi_async.testing._ratelimit import DEFAULT_RATE_LIMIT, RateLimit
from emmi_async.testing._state import ServerKeys, ServerState

if TYPE_CHECKING:
    import httpx

    from emmi_async import AsyncEmmi
    from emmi_async.testing._runner import LoopbackRunner

__all__ = ["IN_PROCESS_URL", "ReferenceServer"]

IN_PROCESS_URL = "http://emmi.reference.test/api/v1"
"""The base URL of an in-process server (any host works through its transport)."""

_HOST = "127.0.0.1"


class ReferenceServer:
    """A stand-in for the EMMI service, as stripe-mock is for Stripe.

    ``async with ReferenceServer() as server`` (or ``with``) runs it; ``server.keys``
    holds its fake keys, ``server.base_url`` its address, ``server.client()`` a
    configured :class:`~emmi_async.AsyncEmmi`. ``seed`` makes keys, customer ids and
    fault draws reproducible. ``canned=True`` skips validation and computation (for
    benchmarks, see ``_canned``). ``rate_limit`` applies per key, ``end_user_rate_limit``
    per end user of a multi-tenant key; ``None`` turns either off. ``clock`` (monotonic
    seconds) drives the rate buckets.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        seed: int = 0,
        faults: FaultConfig | None = None,
        rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
        end_user_rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
        canned: bool = False,
        max_entities: int = MAX_ENTITIES,
        clock: Callable[[], float] = time.monotonic,
        log_level: str = "warning",
    ) -> None:
        self.state: ServerState = ServerState(
            seed=seed, rate_limit=rate_limit, end_user_rate_limit=end_user_rate_limit, clock=clock
        )
        self.keys: ServerKeys = ServerKeys(self.state)
        self.app: ReferenceApp = ReferenceApp(
            self.state, canned=canned, faults=faults, max_entities=max_entities
        )
        self._port = port
        self._log_level = log_level
        self._runner: LoopbackRunner | None = None

    # configuration -----------------------------------------------------------------------
    @property
    def faults(self) -> FaultConfig:
        """The faults in force; assign a new :class:`FaultConfig` (or ``None``) any time."""
        return self.app.faults

    @faults.setter
    def faults(self, config: FaultConfig | None) -> None:
        self.app.faults = config

    def set_faults(self, config: FaultConfig | None = None, **fields: Any) -> None:
        """Replace the faults: a config, or :class:`FaultConfig` fields (none: no faults)."""
        self.app.faults = config if config is not None else FaultConfig(**fields)

    @property
    def in_process(self) -> bool:
        """Whether requests go through :meth:`transport` rather than a socket."""
        return self._port is None

    @property
    def port(self) -> int | None:
        """The loopback port once started (``None`` in-process)."""
        if self._runner is not None:
            return self._runner.port
        return self._port or None

    @property
    def base_url(self) -> str:
        """Base URL including ``/api/v1``, as ``AsyncEmmi(base_url=...)`` wants it."""
        if self.in_process:
            return IN_PROCESS_URL
        if self.port is None:
            raise RuntimeError("start the server first: port 0 is chosen when it starts")
        return f"http://{_HOST}:{self.port}/api/v1"

    def transport(self) -> httpx.AsyncBaseTransport:
        """A new httpx transport to this server (in-process: no socket at all)."""
        if self.in_process:
            from emmi_async.testing._transport import ReferenceTransport

            return ReferenceTransport(self.app)
        import httpx

        return httpx.AsyncHTTPTransport()

    def client(
        self,
        model: Literal["single", "multi", "account"] = "single",
        *,
        end_user_id: str = "end_user_1",
        customer_id: str | None = None,
        api_key: str | None = None,
        **client_kwargs: Any,
    ) -> AsyncEmmi:
        """A new, unopened ``AsyncEmmi`` for this server under the ``model`` auth model.

        ``account`` registers (or reuses) the customer ``"default"`` unless ``customer_id``
        is given; ``api_key`` overrides the server's key of that model. ``client_kwargs``
        go to ``AsyncEmmi`` (in-process, ``transport`` defaults to :meth:`transport`).
        """
        from emmi_async import AsyncEmmi
        from emmi_async.auth import AccountCustomerAuth, MultiTenantAuth, SingleTenantAuth

        auth: httpx.Auth
        if model == "single":
            auth = SingleTenantAuth(api_key or self.keys.single)
        elif model == "multi":
            auth = MultiTenantAuth(api_key or self.keys.multi, end_user_id)
        elif model == "account":
            key = api_key or self.keys.account
            customer = customer_id or self.keys.register_customer("default", account_key=key)
            auth = AccountCustomerAuth(key, customer)
        else:
            raise ValueError(f"unknown auth model {model!r}: single, multi or account")
        if self.in_process:
            client_kwargs.setdefault("transport", self.transport())
        return AsyncEmmi(auth=auth, base_url=self.base_url, **client_kwargs)

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start serving (blocking until the port accepts); in-process, nothing to do."""
        if self.in_process or self._runner is not None:
            return
        from emmi_async.testing._runner import LoopbackRunner

        runner = LoopbackRunner(self.app, self._port or 0, self._log_level)
        runner.start()
        self._runner = runner

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.stop()

    def __enter__(self) -> ReferenceServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> ReferenceServer:
        if not self.in_process:
            await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await anyio.to_thread.run_sync(self.stop)

    def __repr__(self) -> str:
        where = "in-process" if self.in_process else f"{_HOST}:{self.port}"
        return f"<ReferenceServer {where}>"
