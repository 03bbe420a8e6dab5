"""Fixtures of the foundation tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from emmi_async import _base_client, _logging

from ._support import LoopbackServer


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No EMMI_* setting or proxy from the outer environment leaks into a test."""
    for name in (
        "EMMI_API_KEY",
        "EMMI_CUSTOMER_ID",
        "EMMI_END_USER_ID",
        "EMMI_BASE_URL",
        "EMMI_HTTP_BACKEND",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("EMMI_LOG", raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


class SleepRecorder:
    """Stands in for the ``anyio`` module in the pipeline: ``sleep`` records and yields."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def sleep(self, delay: float) -> None:
        self.calls.append(delay)
        await anyio.lowlevel.checkpoint()

    def __getattr__(self, name: str) -> Any:
        return getattr(anyio, name)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> SleepRecorder:
    """The pipeline's retry waits, recorded instead of slept."""
    recorder = SleepRecorder()
    monkeypatch.setattr(_base_client, "anyio", recorder)
    return recorder


@pytest.fixture
def emmi_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``EMMI_LOG=debug``, with the logger restored afterwards."""
    monkeypatch.setenv("EMMI_LOG", "debug")
    monkeypatch.setattr(_logging, "_handler", None)
    loggers = [logging.getLogger(name) for name in ("emmi_async", "httpx")]
    saved = [(named, named.level, list(named.handlers)) for named in loggers]
    yield
    for named, level, handlers in saved:
        for handler in named.handlers[:]:
            if handler not in handlers:
                named.removeHandler(handler)
        named.setLevel(level)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    loopback = LoopbackServer().start()
    yield loopback
    loopback.stop()
