"""What runs on a worker: one client per process, one gate per run, one partition per call.

Clients are cached per :class:`~emmi_async.dask._settings.ClientSettings` at module level
(one per worker process, reused by every partition, thread-safe) and closed when the
worker stops (:class:`ClientsPlugin`, registered by :func:`emmi_async.dask.batch`) or,
failing that, when the process exits (``atexit``).
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import uuid
from typing import Any

import polars as pl
from distributed import WorkerPlugin

from emmi_async.dask._gate import DaskGate, GateSpec
from emmi_async.dask._settings import ClientSettings
from emmi_async.resources._methods import analysis_method

__all__ = ["ClientsPlugin", "PartitionTask", "close_clients", "gate_for", "client_for"]

_LOCK = threading.Lock()
_CLIENTS: dict[ClientSettings, Any] = {}
_GATES: dict[str, DaskGate] = {}
clients_made = 0
"""How many clients this process has made (one per settings, unless closed meanwhile)."""


def client_for(settings: ClientSettings) -> Any:
    """This process's blocking :class:`~emmi_async.Emmi` for ``settings`` (made once)."""
    global clients_made
    with _LOCK:
        client = _CLIENTS.get(settings)
        if client is None or client.is_closed:
            from emmi_async.sync import Emmi

            client = _CLIENTS[settings] = Emmi(**settings.client_kwargs())
            clients_made += 1
        return client


def gate_for(spec: GateSpec) -> DaskGate:
    """This process's gate of the run ``spec`` names (made once)."""
    with _LOCK:
        gate = _GATES.get(spec.name)
        if gate is None:
            gate = _GATES[spec.name] = DaskGate(spec)
        return gate


def close_clients() -> None:
    """Close every cached client of this process (idempotent)."""
    with _LOCK:
        clients = list(_CLIENTS.values())
        _CLIENTS.clear()
        _GATES.clear()
    for client in clients:
        with contextlib.suppress(Exception):  # at exit: nothing left to tell
            client.close()


atexit.register(close_clients)


class ClientsPlugin(WorkerPlugin):  # type: ignore[misc]
    """A ``distributed`` worker plugin that closes the cached clients when the worker stops."""

    name = "emmi-async-clients"
    idempotent = True
    """Registered again by every ``batch`` call: a no-op (a replaced plugin's teardown
    would close clients that running partitions use)."""

    def setup(self, worker: Any) -> None:
        """Nothing to do: clients are made on first use."""

    def teardown(self, worker: Any) -> None:
        """Close this process's clients."""
        close_clients()


class PartitionTask:
    """The callable mapped over partitions: picklable, and without secrets in its repr.

    Args:
        operation: the endpoint name (``"emissions-estimates"``...).
        settings: the client's settings (the key inside is hidden).
        gate: the run's cluster budget, or ``None`` (each partition's own limits).
        runner_options: keyword arguments of ``client.batch`` (``max_concurrency``...).
        frame_options: keyword arguments of ``run_frame`` (``scenarios``, ``extra``...).
    """

    __slots__ = ("_token", "frame_options", "gate", "operation", "runner_options", "settings")

    def __init__(
        self,
        operation: str,
        settings: ClientSettings,
        gate: GateSpec | None,
        runner_options: dict[str, Any],
        frame_options: dict[str, Any],
    ) -> None:
        self.operation = operation
        self.settings = settings
        self.gate = gate
        self.runner_options = runner_options
        self.frame_options = frame_options
        self._token = uuid.uuid4().hex

    def __dask_tokenize__(self) -> tuple[str, str]:
        """A random token: Dask would otherwise hash the key into the task names."""
        return ("PartitionTask", self._token)

    def __repr__(self) -> str:
        return f"PartitionTask({self.operation!r}, gate={self.gate!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            PartitionTask,
            (self.operation, self.settings, self.gate, self.runner_options, self.frame_options),
        )

    def __call__(self, partition: Any) -> Any:
        """The result rows of one partition, as a pandas frame with the run's ``meta``."""
        client = client_for(self.settings)
        gate = None if self.gate is None else gate_for(self.gate)
        runner = client.batch(
            analysis_method(client, self.operation), gate=gate, **self.runner_options
        )
        table = pl.from_pandas(partition, include_index=False)
        result = runner.run_frame(table, **self.frame_options)
        return result.to_pandas(use_pyarrow_extension_array=True)
