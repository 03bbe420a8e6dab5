"""The quick start as a real subprocess, and serve / customers / usage / health."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emmi_async.cli import main
from emmi_async.testing import ReferenceServer
from tests.cli.conftest import EXAMPLE, REPO, read_csv


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("EMMI_")}


def test_quick_start_as_a_subprocess(tmp_path: Path) -> None:
    """The README's command, from the repository root, as ``python -m emmi_async``."""
    out = tmp_path / "results.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "emmi_async",
            "estimate",
            "examples/portfolio.csv",
            "-o",
            str(out),
            "--reference-server",
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # the deliberate bad rows
    assert "examples/portfolio.csv:371: revenue: expected a number, got string 'n/a'" in done.stderr
    assert "1,994" in done.stderr
    assert "Entities/s" in done.stderr
    rows = read_csv(out)
    assert len(rows) == len(read_csv(EXAMPLE)) == 4965
    assert sum(1 for row in rows if row["status"] == "ok") == 4965 - 15


def test_example_portfolio_is_what_the_script_makes(tmp_path: Path) -> None:
    from scripts.make_portfolio import write

    write(tmp_path / "p.csv")
    assert (tmp_path / "p.csv").read_bytes() == EXAMPLE.read_bytes()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_serve_on_loopback(
    tmp_path: Path,
    small_csv: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "emmi_async", "serve", "--port", "0", "--seed", "4"],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        head = "".join(lines)
        url = head.split("EMMI reference server on ", 1)[1].split()[0]
        key = head.split("single-tenant key", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        assert key.startswith("sk_test_single_")
        assert main(["health", "--base-url", url]) == 0
        monkeypatch.setenv("EMMI_BASE_URL", url)
        monkeypatch.setenv("EMMI_API_KEY", key)
        assert main(["estimate", str(small_csv), "-o", str(tmp_path / "r.csv"), "-q"]) == 0
        assert len({row["identifier"] for row in read_csv(tmp_path / "r.csv")}) == 60
        capsys.readouterr()
        assert main(["usage", "--json"]) == 0
        usage = json.loads(capsys.readouterr().out)
        assert usage["entities"] == 60
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_customers(server: ReferenceServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["customers", "create", "desk-7", "--name", "Desk 7", "--reference-server"]) == 0
    created = capsys.readouterr().out.strip()
    assert len(created) == 36  # a UUID
    assert main(["customers", "create", "desk-7", "--reference-server"]) == 1
    assert f"exists already with id {created}" in capsys.readouterr().err
    assert main(["customers", "list", "--reference-server", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {c["external_id"] for c in listed} == {"default", "desk-7"}
    assert main(["customers", "list", "--reference-server"]) == 0
    assert "desk-7  Desk 7" in capsys.readouterr().out


def test_customers_need_an_account_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EMMI_API_KEY", "sk_test_single_4n8jKmPqRs9uVw_8f1c")
    assert main(["customers", "list"]) == 2
    assert "account keys" in capsys.readouterr().err


def test_usage_and_health(
    server: ReferenceServer, small_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["health", "--reference-server"]) == 0
    assert capsys.readouterr().out.strip() == "ok"
    today = dt.date.today().isoformat()
    assert (
        main(
            ["estimate", str(small_csv), "-o", str(tmp_path / "r.csv"), "-q", "--reference-server"]
        )
        == 0
    )
    assert main(["usage", "--start", today, "--end", today, "--reference-server"]) == 0
    out = capsys.readouterr().out
    assert "1 requests, 60 entities" in out
    assert "emissions-estimates" in out
    assert (
        main(["usage", "--start", "2024-02-01", "--end", "2024-01-01", "--reference-server"]) == 2
    )
    assert main(["usage", "--start", "Jan 1", "--reference-server"]) == 2


def test_help_texts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "estimate" in capsys.readouterr().out
    assert main(["estimate", "--help"]) == 0
    text = capsys.readouterr().out
    for phrase in (
        "one row per entity-year",
        "Exit codes",
        "RESULTS.journal.jsonl",
        "--reference-server",
        "underlying_scope3",
    ):
        assert phrase in text
    assert main([]) == 2
