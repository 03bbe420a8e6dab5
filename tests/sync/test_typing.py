"""mypy --strict accepts the facade and the typed uses of it in ``typing_check.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_mypy_strict_on_the_facade_and_its_typed_uses() -> None:
    api = pytest.importorskip("mypy.api")
    stdout, stderr, status = api.run(
        [
            "--strict",
            "--config-file",
            str(REPO / "pyproject.toml"),
            "--cache-dir",
            str(REPO / ".mypy_cache"),
            str(REPO / "emmi_async" / "sync.py"),
            str(REPO / "emmi_async" / "_sync_support.py"),
            str(REPO / "tests" / "sync" / "typing_check.py"),
        ]
    )
    assert status == 0, stdout + stderr
