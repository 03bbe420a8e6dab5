"""The everyday tests run without the outer environment's EMMI_* settings."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("EMMI_")]:
        monkeypatch.delenv(name)
