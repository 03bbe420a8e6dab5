"""Running a snippet in a fresh interpreter (for what only a new process can show)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping

__all__ = ["run_python"]


def run_python(
    code: str, *, env: Mapping[str, str] | None = None, args: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with this interpreter in a clean ``EMMI_*``-free environment."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EMMI_")}
    environ.update(env or {})
    environ["NO_PROXY"] = "127.0.0.1,localhost"
    return subprocess.run(
        [sys.executable, *args, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=90,
        check=False,
    )
