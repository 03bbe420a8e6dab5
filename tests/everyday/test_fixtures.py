"""The pytest plugin: its fixtures under pytest-asyncio (strict, auto) and anyio; its cost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.everyday._subprocess import run_python

USER_TESTS = """
import pytest

ENTITY = {{
    "entity_info": {{"identifier": "ACME", "asset_type": "equity", "sector": "Technology"}},
    "data": [{{"year": 2023, "financials": {{"currency": "USD", "revenue": 5.0e8}}}}],
}}

{marker}
async def test_async_client(emmi_client):
    [result] = await emmi_client.emissions.estimate(ENTITY)
    assert result.data[0].emissions.scope1 is not None


def test_sync_client(emmi_sync_client):
    [result] = emmi_sync_client.emissions.estimate(ENTITY)
    assert result.data[0].emissions.scope1 is not None
    assert emmi_sync_client.service.health().status
"""


def _pytest(tmp_path: Path, marker: str, *options: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(USER_TESTS.format(marker=marker))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, "test_user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("marker", "options"),
    [
        ("@pytest.mark.asyncio", ("-p", "asyncio", "--asyncio-mode=strict")),
        ("", ("-p", "asyncio", "--asyncio-mode=auto")),
        ("@pytest.mark.anyio", ("-p", "no:asyncio")),
    ],
    ids=["pytest-asyncio-strict", "pytest-asyncio-auto", "anyio"],
)
def test_fixtures_under_each_runner(tmp_path: Path, marker: str, options: tuple[str, ...]) -> None:
    done = _pytest(
        tmp_path, marker, "-W", "error::pytest.PytestUnraisableExceptionWarning", *options
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout, done.stdout
    assert "failed" not in done.stdout, done.stdout
    assert "error" not in done.stdout, done.stdout


def test_the_plugin_imports_nothing_heavy() -> None:
    done = run_python(
        """
        import sys
        import emmi_async.testing.pytest_plugin
        heavy = ("httpx", "aiohttp", "attrs", "cattrs", "anyio", "orjson", "emmi_async._")
        print(sorted(m for m in sys.modules if m.startswith(heavy)))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
