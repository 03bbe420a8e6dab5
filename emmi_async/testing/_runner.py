"""Serving an ASGI app with uvicorn on 127.0.0.1 from a background thread.

The thread runs its own asyncio loop, so the caller may be asyncio, trio or plain sync
code. The listening socket is bound before the thread starts (port 0 picks a free one);
:meth:`LoopbackRunner.start` returns once uvicorn accepts connections.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn

__all__ = ["HOST", "LoopbackRunner"]

HOST = "127.0.0.1"
_START_TIMEOUT_S = 10.0


class _Server(uvicorn.Server):
    """uvicorn's server, telling the starting thread when it accepts connections."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._ready.set()


class LoopbackRunner:
    """One uvicorn server for ``app`` on ``127.0.0.1:port``, started and stopped once."""

    def __init__(self, app: Any, port: int, log_level: str = "warning") -> None:
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when
        # the listening socket says TCP, and without it every response that uvicorn writes
        # in two parts (head, body) waits ~40 ms for a delayed ACK (Nagle).
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((HOST, port))
            self._socket.listen(2048)
        except OSError:
            self._socket.close()
            raise
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._ready = threading.Event()
        self._server = _Server(config, self._ready)
        self._thread = threading.Thread(target=self._run, name="emmi-reference-server", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._socket]))

    def start(self) -> None:
        """Start the thread; return once connections are accepted."""
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._ready.wait(0.01):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the reference server failed to start")

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for its thread, release the port."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()
