"""ReferenceServer itself: lifecycle, both transports, canned mode, CLI, plugin, SDK client."""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys

import httpx
import orjson
import pytest

from emmi_async.testing import IN_PROCESS_URL, ReferenceServer
from emmi_async.testing.__main__ import build_server, parse_args
from emmi_async.testing._canned import SAMPLES
from emmi_async.testing._compute import COMPUTERS
from tests.testing._helpers import connect, equity, year

pytestmark = pytest.mark.anyio


async def test_in_process_server_opens_no_socket() -> None:
    async with ReferenceServer() as server:
        assert server.in_process
        assert server.port is None
        assert server.base_url == IN_PROCESS_URL
        assert repr(server) == "<ReferenceServer in-process>"


async def test_loopback_server_serves_on_127_0_0_1_and_stops() -> None:
    server = ReferenceServer(port=0)
    async with server:
        port = server.port
        assert port
        assert server.base_url == f"http://127.0.0.1:{port}/api/v1"
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{server.base_url}/health")
        assert response.headers["server"] == "uvicorn"
        assert response.json() == {"status": "ok"}
    assert server.port is None
    with socket.socket() as probe:  # the port is free again, and nobody answers on it
        assert probe.connect_ex(("127.0.0.1", port)) != 0
        probe.bind(("127.0.0.1", port))


def test_sync_context_manager_and_fixed_port() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with ReferenceServer(port=port) as server:
        assert server.port == port
        assert httpx.get(f"{server.base_url}/health").status_code == 200
        with pytest.raises(OSError), ReferenceServer(port=port):
            pass


def test_base_url_of_unstarted_ephemeral_server_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="start"):
        _ = ReferenceServer(port=0).base_url


async def test_canned_mode_answers_precomputed_results() -> None:
    server = ReferenceServer(canned=True)
    sample = orjson.loads(orjson.dumps(COMPUTERS["/climate-risk"](SAMPLES["/climate-risk"])))
    async with server, connect(server, **{"X-API-Key": server.keys.single}) as client:
        three = await client.post("climate-risk", json=[equity([year(2023)])] * 3)
        unchecked = await client.post("climate-risk", content=b'[{"entity_info": 1}]')
        too_many = await client.post("climate-risk", json=[{"entity_info": {}}] * 101)
        refused = await client.post("climate-risk", json=[], headers={"X-API-Key": "x"})
        usage = await client.get("usage", params={"start": "2000-01-01", "end": "2999-01-01"})
    assert three.json() == {"results": [sample] * 3}
    assert len(unchecked.json()["results"]) == 1
    assert too_many.status_code == 413
    assert refused.status_code == 401
    assert usage.json()["entities"] == 4


def test_samples_are_valid_entities() -> None:
    from emmi_async.testing._validate import validate_entities

    for path, sample in SAMPLES.items():
        assert validate_entities(path, [sample]) == [], path


def test_cli_arguments_build_the_server() -> None:
    args = parse_args(["--port", "0", "--error-rate", "0.3", "--rate-429", "0.1", "--canned"])
    server = build_server(args)
    assert server.app.canned
    assert dict(server.faults.status_rates) == pytest.approx(
        {500: 0.1, 502: 0.1, 503: 0.1, 429: 0.1}
    )
    assert server.state.rate_limit is not None
    unlimited = build_server(parse_args(["--rate-limit", "0"]))
    assert unlimited.state.rate_limit is None


def test_cli_runs_the_server_until_interrupted() -> None:
    command = [sys.executable, "-m", "emmi_async.testing", "--port", "0", "--seed", "4"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(4)]
            base_url = lines[0].split(" on ", 1)[1].split()[0]
            single_key = lines[1].split()[-1]
            assert lines[1].startswith("  single-tenant key")
            response = httpx.post(
                f"{base_url}/emissions-estimates",
                json=[equity([year(2023, revenue=1e6)])],
                headers={"X-API-Key": single_key},
            )
            assert response.status_code == 200
            assert single_key == ReferenceServer(seed=4).keys.single
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=20) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_cli_accepts_a_given_key_and_stops_on_sigterm() -> None:
    own = "sk_test_multi_Own0Key1Here2_ab12"
    command = [sys.executable, "-m", "emmi_async.testing", "--port", "0", "--accept-key", own]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().split(" on ", 1)[1].split()[0]
            headers = {"X-API-Key": own, "X-End-User-Id": "desk_1"}
            entities = [equity([year(2023, revenue=1e6)])]
            url = f"{base_url}/emissions-estimates"
            assert httpx.post(url, json=entities, headers=headers).status_code == 200
            headers["X-API-Key"] = own[:-1] + "3"
            assert httpx.post(url, json=entities, headers=headers).status_code == 401
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0


def test_both_launchers_take_the_same_flags() -> None:
    """``emmi serve`` and ``python -m emmi_async.testing`` are one launcher."""
    from emmi_async.cli._args import build_parser
    from emmi_async.testing._cli import add_arguments

    def flags(parser: argparse.ArgumentParser) -> set[str]:
        return {flag for action in parser._actions for flag in action.option_strings}

    emmi = build_parser(
        dict.fromkeys(
            ("estimate", "serve", "customers_create", "customers_list", "usage", "health"),
            lambda args, argv: 0,
        )
    )
    commands = next(a for a in emmi._actions if isinstance(a, argparse._SubParsersAction))
    serve = commands.choices["serve"]
    alone = argparse.ArgumentParser()
    add_arguments(alone)
    assert flags(serve) == flags(alone)
    assert {"--canned", "--rate-429", "--accept-key", "--latency-ms"} <= flags(serve)
    given = ["--port", "0", "--error-rate", "0.3", "--rate-limit", "0", "--seed", "2"]
    assert vars(serve.parse_args(given)) | {"handler": None} == vars(parse_args(given)) | {
        "handler": None
    }


def test_cli_refuses_impossible_fault_rates(capsys: pytest.CaptureFixture[str]) -> None:
    from emmi_async.testing.__main__ import main

    assert main(["--drop-rate", "2"]) == 2
    assert "fault rate" in capsys.readouterr().err


def test_plugin_import_is_light() -> None:
    code = (
        "import sys, emmi_async.testing.pytest_plugin; "
        "print(sorted(m for m in ('uvicorn', 'starlette', 'emmi_async.testing._app') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_emmi_server_fixture(emmi_server: ReferenceServer) -> None:
    assert emmi_server.in_process
    assert emmi_server.keys.single.startswith("sk_test_single_")
