"""Resuming: after a deadline (in-process) and after Ctrl-C (a real subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emmi_async.cli import main
from emmi_async.testing import ReferenceServer
from scripts.make_portfolio import write as write_portfolio
from tests.batch._support import journal_entities
from tests.cli.conftest import REPO, read_csv, requests_served


def estimate(*argv: str | Path) -> int:
    return main(["estimate", *map(str, argv), "--reference-server"])


def _journaled(journal: Path) -> int:
    """Entities recorded in a journal's whole lines."""
    return journal_entities(journal)[0]


def test_resume_after_deadline_gives_the_uninterrupted_output(
    small_csv: Path,
    tmp_path: Path,
    server: ReferenceServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reference = tmp_path / "reference.csv"
    assert estimate(small_csv, "-o", reference, "-q", "--no-journal") == 0
    sent_before = requests_served(server)

    out = tmp_path / "out.csv"
    journal = Path(str(out) + ".journal.jsonl")
    slow = ("--chunk-size", "5", "--concurrency", "1", "--reference-latency-ms", "60")
    assert estimate(small_csv, "-o", out, "-q", *slow, "--deadline", "0.4") == 1
    first = read_csv(out)
    statuses = {row["status"] for row in first}
    assert statuses == {"ok", "error"}
    assert "deadline" in next(r["error"] for r in first if r["status"] == "error")
    ok_entities = len({r["identifier"] for r in first if r["status"] == "ok"})
    assert journal.exists()
    assert _journaled(journal) == ok_entities
    assert "run the same command again to retry only those" in capsys.readouterr().err.lower()

    sent_first = requests_served(server) - sent_before
    assert estimate(small_csv, "-o", out, "--json", "--chunk-size", "5") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["stats"]["resumed"] == ok_entities
    assert summary["status"]["ok"] == 60
    resumed_requests = requests_served(server) - sent_before - sent_first
    assert resumed_requests == summary["stats"]["requests"] == -(-(60 - ok_entities) // 5)
    assert out.read_bytes() == reference.read_bytes()
    assert not journal.exists()  # nothing left to retry


def test_changed_input_is_refused_until_fresh(
    small_csv: Path,
    tmp_path: Path,
    server: ReferenceServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out.csv"
    journal = tmp_path / "run.journal"
    slow = ("--chunk-size", "5", "--concurrency", "1", "--reference-latency-ms", "60")
    assert (
        estimate(small_csv, "-o", out, "-q", *slow, "--deadline", "0.3", "--journal", journal) == 1
    )
    assert _journaled(journal) > 0
    text = small_csv.read_text().splitlines()
    fields = text[1].split(",")
    fields[9] = "123.0"  # the first entity's revenue
    text[1] = ",".join(fields)
    small_csv.write_text("\n".join(text) + "\n")
    capsys.readouterr()
    assert estimate(small_csv, "-o", out, "-q", "--journal", journal) == 2
    err = capsys.readouterr().err
    assert "the input changed since that run" in err
    assert "--fresh" in err
    assert estimate(small_csv, "-o", out, "-q", "--journal", journal, "--fresh") == 0


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_cleanly_and_the_rerun_resumes(
    tmp_path: Path, server: ReferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    portfolio = tmp_path / "p.csv"
    write_portfolio(portfolio, entities=120, seed=5)
    reference = tmp_path / "reference.csv"
    assert estimate(portfolio, "-o", reference, "-q", "--no-journal") == 0

    out = tmp_path / "out.csv"
    journal = Path(str(out) + ".journal.jsonl")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMMI_")}
    command = [
        sys.executable,
        "-m",
        "emmi_async",
        "estimate",
        str(portfolio),
        "-o",
        str(out),
        "--reference-server",
        "--chunk-size",
        "4",
        "--concurrency",
        "1",
        "--reference-latency-ms",
        "50",
    ]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not (journal.exists() and _journaled(journal) >= 8):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "Interrupted" in err
    assert "To resume, run the same command again:" in err
    assert "emmi estimate" in err
    assert not out.exists()
    assert not Path(str(out) + ".part").exists()
    done = _journaled(journal)
    assert 8 <= done < 120

    assert estimate(portfolio, "-o", out, "--json", "--chunk-size", "4") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["stats"]["resumed"] == done
    assert out.read_bytes() == reference.read_bytes()
