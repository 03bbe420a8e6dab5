"""pyright: ``--verifytypes`` at 100 %, and the typed idioms (``outcome.unwrap()``, raw responses).

Runs when pyright is installed (``pip install --group pyright``; it needs Node.js); the
``typecheck`` nox session runs the same commands. mypy checks the idioms in tests/sync.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYRIGHT = shutil.which("pyright")

pytestmark = pytest.mark.skipif(PYRIGHT is None, reason="pyright is not installed")


def _pyright(*args: str) -> dict[str, object]:
    assert PYRIGHT is not None
    done = subprocess.run(
        [PYRIGHT, "--outputjson", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_verifytypes_is_complete() -> None:
    report = _pyright("--verifytypes", "emmi_async", "--ignoreexternal")
    completeness = report["typeCompleteness"]
    assert isinstance(completeness, dict)
    assert completeness["completenessScore"] == 1.0, [
        d["message"]
        for d in report.get("generalDiagnostics", [])  # type: ignore[attr-defined]
    ]


def test_the_typed_idioms_hold_under_pyright() -> None:
    report = _pyright("tests/sync/typing_check.py")
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert summary["errorCount"] == 0, report["generalDiagnostics"]
