"""Run control of ``emmi estimate``, each case as a real subprocess on a file it writes:
refused credentials, SIGTERM and resume, progress off a terminal, --quiet, --json,
conflicting flags, a directory as input."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emmi_async import PermissionDeniedError
from emmi_async.cli import main
from emmi_async.testing import ReferenceServer
from scripts.make_portfolio import write as write_portfolio
from tests.batch._support import journal_entities
from tests.cli.conftest import REPO, read_csv

PROGRESS = re.compile(r"^  ([\d,]+)/([\d,]+) \(\d+%\).* entities/s, ([\d,]+) failed, retries \d+")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMMI_")}
    env.update(extra)
    return env


def _command(*argv: str | Path) -> list[str]:
    return [sys.executable, "-m", "emmi_async", "estimate", *map(str, argv)]


def _run(*argv: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(*argv),
        cwd=REPO,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _journaled(journal: Path) -> int:
    """Entities recorded in a journal's whole lines."""
    return journal_entities(journal)[0]


# -- refused credentials -------------------------------------------------------------------


class _Counting:
    """The server's ASGI app, counting the HTTP requests it is sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


@pytest.fixture
def loopback() -> Iterator[tuple[ReferenceServer, _Counting]]:
    server = ReferenceServer(port=0)
    counting = _Counting(server.app)
    server.app = counting  # type: ignore[assignment]
    with server:
        yield server, counting


@pytest.fixture
def portfolio(tmp_path: Path) -> Path:
    path = tmp_path / "p.csv"
    write_portfolio(path, entities=100, seed=3)
    return path


def _assert_stopped_at_once(
    done: subprocess.CompletedProcess[str], out: Path, counting: _Counting, secret: str
) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("emmi: error:") == 1
    assert "again" not in done.stderr  # no "run the same command again" advice
    assert "Summary" not in done.stderr
    assert secret not in done.stderr + done.stdout
    assert not out.exists()
    assert not Path(str(out) + ".part").exists()
    assert not Path(str(out) + ".journal.jsonl").exists()  # nothing was recorded in it
    # 100 one-entity requests, two at a time: stopping at once means a handful are sent
    assert counting.requests <= 6


def test_an_unknown_key_stops_the_run_at_once(
    loopback: tuple[ReferenceServer, _Counting], portfolio: Path, tmp_path: Path
) -> None:
    server, counting = loopback
    unknown = "sk_test_single_Zz9Yy8Xx7Ww6Vv_0f0f"  # well-formed, not one of the server's
    out = tmp_path / "r.csv"
    done = _run(
        portfolio,
        "-o",
        out,
        "--chunk-size",
        "1",
        "--concurrency",
        "2",
        EMMI_API_KEY=unknown,
        EMMI_BASE_URL=server.base_url,
    )
    _assert_stopped_at_once(done, out, counting, unknown)
    assert "emmi: error: the API refused the key: unknown API key (HTTP 401" in done.stderr
    assert "Check the API key (EMMI_API_KEY)" in done.stderr


def test_a_forbidden_customer_stops_the_run_at_once(
    loopback: tuple[ReferenceServer, _Counting], portfolio: Path, tmp_path: Path
) -> None:
    server, counting = loopback
    stranger = str(uuid.UUID(int=7))  # a customer of no account
    out = tmp_path / "r.jsonl"
    done = _run(
        portfolio,
        "-o",
        out,
        "--chunk-size",
        "1",
        "--concurrency",
        "2",
        "--customer-id",
        stranger,
        EMMI_API_KEY=server.keys.account,
        EMMI_BASE_URL=server.base_url,
    )
    _assert_stopped_at_once(done, out, counting, server.keys.account)
    assert "the API refused access: no such customer under this account (HTTP 403" in done.stderr
    assert f"Check the customer id {stranger} (--customer-id)" in done.stderr


def _forbidden() -> PermissionDeniedError:
    response = httpx.Response(
        403,
        json={"error": {"message": "end user not allowed"}},
        request=httpx.Request("POST", "http://x"),
    )
    return PermissionDeniedError("403 end user not allowed", response=response)


def test_a_forbidden_end_user_names_the_end_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference server accepts any end user, so this one is checked in-process."""
    from emmi_async.cli._connect import credential_message

    key = "sk_test_multi_Aa1Bb2Cc3Dd4Ee_1a2b"
    monkeypatch.setenv("EMMI_API_KEY", key)
    args = argparse.Namespace(
        api_key=None, customer_id=None, end_user_id="desk_9", reference_server=False
    )
    message = credential_message(_forbidden(), args)
    assert "end user not allowed (HTTP 403)" in message
    assert "Check the end-user id 'desk_9' (--end-user-id)" in message
    assert key not in message


def test_a_key_echoed_by_the_service_is_masked() -> None:
    from emmi_async import AuthenticationError
    from emmi_async.cli._connect import credential_message

    key = "sk_test_single_Ech0edKey12345_9f9f"
    response = httpx.Response(
        401,
        json={"error": {"message": f"unknown API key {key}"}},
        request=httpx.Request("POST", "http://x"),
    )
    error = AuthenticationError(f"401 unknown API key {key}", response=response)
    args = argparse.Namespace(
        api_key=key, customer_id=None, end_user_id=None, reference_server=False
    )
    message = credential_message(error, args)
    assert key not in message
    assert "unknown API key *** (HTTP 401)" in message
    assert "Check the API key (--api-key)" in message


# -- SIGTERM, progress lines ---------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_stops_cleanly_with_progress_lines_and_the_rerun_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """stderr is a pipe: plain progress lines (every 2 s), not a bar; SIGTERM after the
    first one lands mid-run (35 requests of at least 90 ms: over 3 s)."""
    source = tmp_path / "p.csv"
    write_portfolio(source, entities=140, seed=5)
    reference = tmp_path / "reference.csv"
    assert main(["estimate", str(source), "-o", str(reference), "-q", "--reference-server"]) == 0
    capsys.readouterr()

    out = tmp_path / "out.csv"
    journal = Path(str(out) + ".journal.jsonl")
    slow = ("--chunk-size", "4", "--concurrency", "1", "--reference-latency-ms", "90")
    process = subprocess.Popen(
        _command(source, "-o", out, "--reference-server", *slow),
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        head = [process.stderr.readline()]
        while not PROGRESS.match(head[-1]):
            assert head[-1], (head, process.communicate())  # the process ended
            head.append(process.stderr.readline())
        process.send_signal(signal.SIGTERM)
        stdout, rest = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    err = "".join(head) + rest
    match = PROGRESS.match(head[-1])
    assert match is not None
    assert 0 < int(match.group(1).replace(",", "")) < 140
    assert match.group(2) == "140"
    assert match.group(3) == "0"
    assert "\x1b[" not in err  # no terminal control codes in a log
    assert process.returncode == 130, err
    assert "Interrupted (SIGTERM)" in err
    assert "not written (interrupted)" in err  # the summary
    assert "To resume, run the same command again:" in err
    assert stdout == ""
    assert not out.exists()
    assert not Path(str(out) + ".part").exists()
    done = _journaled(journal)
    assert 0 < done < 140

    again = _run(source, "-o", out, "--reference-server", "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["stats"]["resumed"] == done
    assert summary["status"]["ok"] == 140
    assert out.read_bytes() == reference.read_bytes()
    assert not journal.exists()


# -- --quiet and --json keep the problems ----------------------------------------------------


@pytest.fixture
def bad_row(tmp_path: Path) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(
        "identifier,asset_type,year,revenue\nA,equity,2022,100\nB,equity,2022,abc\n"
        "C,equity,2022,5\n",
        encoding="utf-8",
    )
    return path


def test_quiet_prints_the_bad_rows_and_nothing_else(bad_row: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    done = _run(bad_row, "-o", out, "--reference-server", "--quiet")
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()  # the bad row, and nothing else
    assert line.startswith(f"{bad_row}:3: revenue: ")
    assert "'abc'" in line
    assert [(r["identifier"], r["status"]) for r in read_csv(out)] == [
        ("A", "ok"),
        ("B", "invalid"),
        ("C", "ok"),
    ]


def test_json_lists_the_problems(bad_row: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    done = _run(bad_row, "-o", out, "--reference-server", "--json")
    assert done.returncode == 1
    summary = json.loads(done.stdout)
    assert summary["exit_code"] == 1
    assert summary["status"]["invalid"] == 1
    [entry] = summary["problems"]
    assert (entry["identifier"], entry["status"]) == ("B", "invalid")
    [problem] = entry["problems"]
    assert (problem["line"], problem["field"]) == (3, "revenue")
    assert "'abc'" in problem["message"]
    assert entry["error"] == f"line 3: revenue: {problem['message']}"
    assert read_csv(out)[1]["error"] == entry["error"]
    assert summary["problems_not_listed"] == 0
    assert done.stderr.splitlines() == [f"{bad_row}:3: revenue: {problem['message']}"]


# -- usage errors ---------------------------------------------------------------------------


def test_journal_and_no_journal_together_is_a_usage_error(bad_row: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    done = _run(bad_row, "-o", out, "--reference-server", "--journal", "j", "--no-journal")
    assert done.returncode == 2
    assert "argument --no-journal: not allowed with argument --journal" in done.stderr
    assert not out.exists()


def test_a_directory_is_reported_as_one(tmp_path: Path) -> None:
    folder = tmp_path / "exports.csv"
    folder.mkdir()
    done = _run(folder, "-o", tmp_path / "r.csv", "--reference-server")
    assert done.returncode == 2
    assert f"emmi: error: {folder}: is a directory, not a portfolio file" in done.stderr
    assert "no such file" not in done.stderr
    assert not (tmp_path / "r.csv").exists()


# -- which display -------------------------------------------------------------------------


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.text = ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_the_bar_is_for_terminals_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from emmi_async.cli._progress import PlainReporter, make_reporter
    from emmi_async.cli._rich import RichReporter

    monkeypatch.setattr(sys, "stderr", _Stream(tty=True))
    assert isinstance(make_reporter("auto"), RichReporter)
    monkeypatch.setattr(sys, "stderr", _Stream(tty=False))
    assert isinstance(make_reporter("auto"), PlainReporter)


def test_plain_lines_count_the_failures(
    bad_row: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["estimate", str(bad_row), "-o", str(tmp_path / "r.csv"), "--reference-server"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert any(
        (m := PROGRESS.match(line)) and m.groups() == ("3", "3", "1") for line in err.splitlines()
    ), err
