"""The README's Python snippets run as written against the reference server.

Each ```python block runs in a fresh interpreter (a block with ``def test_`` runs under
pytest) with ``EMMI_BASE_URL`` pointing at a loopback reference server and
``EMMI_API_KEY`` set to its single-tenant key; the placeholder keys (``"sk_live_single_..."``
and the like) are replaced by the server's keys of the same model.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emmi_async.testing import ReferenceServer

README = Path(__file__).resolve().parents[2] / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(port=0) as running:
        yield running


def test_the_readme_has_snippets() -> None:
    assert len(SNIPPETS) >= 7


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"snippet-{i}" for i in range(len(SNIPPETS))])
def test_snippet_runs(snippet: str, server: ReferenceServer, tmp_path: Path) -> None:
    code = (
        snippet.replace('"sk_live_single_..."', repr(server.keys.single))
        .replace('"sk_live_multi_..."', repr(server.keys.multi))
        .replace('"emmi_sk_..."', repr(server.keys.account))
    )
    assert "..." not in code.replace("...)", "").replace("# ...", ""), "a placeholder is left"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMMI_")}
    env.update(
        EMMI_BASE_URL=server.base_url,
        EMMI_API_KEY=server.keys.single,
        NO_PROXY="127.0.0.1,localhost",
    )
    if "def test_" in code:
        (tmp_path / "test_snippet.py").write_text(code)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_snippet.py",
        ]
    else:
        command = [sys.executable, "-c", code]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
