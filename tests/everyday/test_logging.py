"""EMMI_LOG: one line per request, once, whether or not the application configured logging."""

from __future__ import annotations

import pytest

from tests.everyday._subprocess import run_python

THREE_CALLS = """
    import anyio, logging, sys
    if "root" in sys.argv:
        logging.basicConfig(level=logging.WARNING, format="ROOT %(name)s %(message)s")
    from emmi_async.testing import ReferenceServer

    async def main():
        async with ReferenceServer() as server, server.client() as client:
            for _ in range(3):
                await client.service.health()

    anyio.run(main)
"""


@pytest.mark.parametrize("root", [False, True], ids=["own-handler", "root-configured"])
def test_info_logs_each_request_once(root: bool) -> None:
    code = THREE_CALLS.replace('"root" in sys.argv', str(root))
    done = run_python(code, env={"EMMI_LOG": "info"})
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "HTTP Request: GET" in line]
    assert len(lines) == 3, done.stderr
    assert all(line.startswith("ROOT httpx") for line in lines) is root


def test_unknown_level_is_an_error() -> None:
    done = run_python("from emmi_async import AsyncEmmi\nAsyncEmmi()", env={"EMMI_LOG": "verbose"})
    assert done.returncode == 1
    assert "EMMI_LOG must be one of debug, info, warning, error" in done.stderr


def test_debug_adds_our_line_with_the_request_id() -> None:
    done = run_python(THREE_CALLS, env={"EMMI_LOG": "debug"})
    assert done.returncode == 0, done.stderr
    ours = [line for line in done.stderr.splitlines() if "emmi_async: GET /api/v1/health" in line]
    assert len(ours) == 3, done.stderr
    assert "request id" in ours[0]
