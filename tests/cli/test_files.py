"""``emmi estimate`` on files as finance exports make them, each run as a subprocess on a
file the test writes: encodings, delimiters, malformed CSV, a panel sorted by year, stdin.

Each case compares the command's output with the same portfolio written plainly (UTF-8,
commas, grouped rows), so no result is hard-coded here.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.cli.conftest import EXAMPLE, REPO, read_csv

ROWS = [
    ["identifier", "name", "asset_type", "country", "sector", "year", "currency", "revenue"],
    ["EQ-1", "Müller AG", "equity", "Germany", "Energy", "2022", "EUR", "2000000"],
    ["EQ-2", "Société Générale", "equity", "France", "Financials", "2021", "EUR", "1000000"],
    ["EQ-2", "Société Générale", "equity", "France", "Financials", "2022", "EUR", "2000000"],
    ["EQ-3", "Ærø Øl", "equity", "Denmark", "Consumer Staples", "2023", "DKK", "500000"],
]


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def emmi(
    *argv: str | Path, stdin: bytes | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMMI_")}
    done = subprocess.run(
        [sys.executable, "-m", "emmi_async", "estimate", *map(str, argv), "--reference-server"],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """The output of the plain UTF-8 file (what every variant must give)."""
    folder = tmp_path_factory.mktemp("plain")
    source = folder / "plain.csv"
    source.write_text(_csv(ROWS), encoding="utf-8")
    done = emmi(source, "-o", folder / "plain-out.csv", "-q")
    assert done.returncode == 0, done.stderr
    rows = read_csv(folder / "plain-out.csv")
    assert [r["identifier"] for r in rows] == ["EQ-1", "EQ-2", "EQ-2", "EQ-3"]
    assert {r["status"] for r in rows} == {"ok"}
    return rows


def _nothing_written(out: Path) -> None:
    assert not out.exists()
    assert not Path(str(out) + ".part").exists()
    assert not Path(str(out) + ".journal.jsonl").exists()  # the run never started


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_excel_encodings(tmp_path: Path, plain: list[dict[str, str]], encoding: str) -> None:
    source = tmp_path / "export.csv"
    source.write_bytes(_csv(ROWS).encode(encoding))
    out = tmp_path / "out.csv"
    done = emmi(source, "-o", out)  # read as UTF-8: refused, naming the line
    assert done.returncode == 2, done.stderr
    assert f"{source}:2: not valid UTF-8 (byte 0xfc at column 7)" in done.stderr
    assert "--encoding" in done.stderr
    assert "Traceback" not in done.stderr
    _nothing_written(out)
    done = emmi(source, "-o", out, "-q", "--encoding", encoding)
    assert done.returncode == 0, done.stderr
    assert read_csv(out) == plain


def test_invalid_in_the_given_encoding(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    data = _csv(ROWS).encode("cp1252").replace(b"Energy", b"En\x81rgy")  # 0x81: undefined
    source.write_bytes(data)
    out = tmp_path / "out.csv"
    done = emmi(source, "-o", out, "--encoding", "cp1252")
    assert done.returncode == 2, done.stderr
    assert f"{source}:2: not valid cp1252 (byte 0x81" in done.stderr
    _nothing_written(out)


def test_utf8_bom(tmp_path: Path, plain: list[dict[str, str]]) -> None:
    source = tmp_path / "bom.csv"
    source.write_bytes(b"\xef\xbb\xbf" + _csv(ROWS).encode("utf-8"))
    out = tmp_path / "out.csv"
    done = emmi(source, "-o", out, "-q")
    assert done.returncode == 0, done.stderr
    assert read_csv(out) == plain


@pytest.mark.parametrize(("delimiter", "flag"), [(";", None), ("\t", None), ("\t", "tab")])
def test_delimiters_and_header_case(
    tmp_path: Path, plain: list[dict[str, str]], delimiter: str, flag: str | None
) -> None:
    rows = [[name.upper() if i % 2 else name.title() for i, name in enumerate(ROWS[0])]]
    source = tmp_path / "export.csv"
    source.write_text(_csv(rows + ROWS[1:], delimiter), encoding="utf-8")
    out = tmp_path / "out.csv"
    extra = ["--delimiter", flag] if flag else []
    done = emmi(source, "-o", out, *extra)
    assert done.returncode == 0, done.stderr
    assert "unknown column" not in done.stderr
    assert read_csv(out) == plain


def test_unclosed_quote_stops_naming_the_line(tmp_path: Path) -> None:
    text = _csv(ROWS).replace("EQ-2,Société Générale,equity,France,Financials,2021", 'EQ-2,"Soc')
    source = tmp_path / "quote.csv"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.csv"
    done = emmi(source, "-o", out)
    assert done.returncode == 2, done.stderr
    assert f"{source}:3: malformed CSV" in done.stderr
    assert "quote" in done.stderr
    _nothing_written(out)


def test_unclosed_quote_before_another_quote(tmp_path: Path) -> None:
    """The quote runs on into later rows until a later quote: the swallowed rows are not
    lost silently."""
    rows = [list(row) for row in ROWS]
    rows[4][1] = "Ærø, Øl"  # written quoted
    text = _csv(rows).replace("EQ-2,Société Générale,equity,France,Financials,2021", 'EQ-2,"Soc')
    source = tmp_path / "quote.csv"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.csv"
    done = emmi(source, "-o", out)
    assert done.returncode == 2, done.stderr
    assert f"{source}:3: " in done.stderr
    _nothing_written(out)


def test_ragged_rows_stop_naming_the_lines(tmp_path: Path) -> None:
    text = _csv(ROWS).splitlines()
    text[2] += ",extra"  # line 3: a cell too many
    text[4] = text[4].rsplit(",", 2)[0]  # line 5: two cells short
    source = tmp_path / "ragged.csv"
    source.write_text("\n".join(text) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    done = emmi(source, "-o", out)
    assert done.returncode == 2, done.stderr
    assert f"{source}:3: 9 cells, but the header names 8 columns" in done.stderr
    assert f"{source}:5: 6 cells, but the header names 8 columns" in done.stderr
    assert "2 malformed row(s), the first at" in done.stderr
    _nothing_written(out)


def test_panel_sorted_by_year_gives_the_same_results(tmp_path: Path) -> None:
    rows = read_csv(EXAMPLE)
    by_year = sorted(rows, key=lambda row: row["year"])  # stable: entities interleave
    assert [r["identifier"] for r in by_year] != [r["identifier"] for r in rows]
    source = tmp_path / "panel.csv"
    with source.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(by_year)
    grouped = emmi(EXAMPLE, "-o", tmp_path / "grouped.csv", "--json")
    panel = emmi(source, "-o", tmp_path / "panel-out.csv", "--json")
    assert grouped.returncode == panel.returncode == 1, panel.stderr
    assert json.loads(panel.stdout)["status"] == json.loads(grouped.stdout)["status"]
    assert json.loads(panel.stdout)["entities"] == 2000
    expected = read_csv(tmp_path / "grouped.csv")
    got = read_csv(tmp_path / "panel-out.csv")

    def key(row: dict[str, str]) -> tuple[str, str]:
        return row["identifier"], row["year"]

    def same(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        """Without what names a place in the file, the stream or the server's log."""
        place = re.compile(r"line \d+: |entity \d+ |\(request id [^)]*\)")
        return sorted(({**row, "error": place.sub("", row["error"])} for row in rows), key=key)

    assert same(got) == same(expected)
    assert len(got) == len(expected) == len(rows)
    # every entity's rows together, in order of first appearance in the panel
    order = list(dict.fromkeys(r["identifier"] for r in by_year))
    assert list(dict.fromkeys(r["identifier"] for r in got)) == order
    bad = next(r for r in got if r["identifier"] == "EQ-00151")  # the 'n/a' revenue
    line = 1 + next(
        i for i, r in enumerate(by_year, start=1) if r["revenue"] == "n/a"
    )  # its line in the sorted file
    assert bad["error"] == f"line {line}: revenue: expected a number, got string 'n/a'"


def test_stdin_csv_and_jsonl(tmp_path: Path, plain: list[dict[str, str]]) -> None:
    out = tmp_path / "out.csv"
    done = emmi("-", "-o", out, "-q", stdin=_csv(ROWS).encode("utf-8"))
    assert done.returncode == 0, done.stderr
    assert read_csv(out) == plain
    header = ROWS[0]
    lines = [json.dumps(dict(zip(header, row, strict=True))) for row in ROWS[1:]]
    out2 = tmp_path / "out.parquet"
    done = emmi("-", "-o", out2, "-q", "--format", "jsonl", stdin="\n".join(lines).encode())
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out2)
    estimated = table.schema.field("estimated").type
    assert pa.types.is_list(estimated) or pa.types.is_large_list(estimated)
    assert str(table.schema.field("year").type) == "int64"
    got = table.to_pylist()
    assert [(g["identifier"], g["year"], g["scope1"]) for g in got] == [
        (p["identifier"], int(p["year"]), float(p["scope1"])) for p in plain
    ]
    assert [";".join(g["estimated"]) for g in got] == [p["estimated"] for p in plain]
    done = emmi("-", "-o", tmp_path / "x.csv", "--format", "parquet", stdin=b"")
    assert done.returncode == 2
    assert "standard input (-) takes CSV or JSON Lines" in done.stderr


def test_a_directory_is_not_a_portfolio(tmp_path: Path) -> None:
    done = emmi(tmp_path, "-o", tmp_path / "out.csv", "--format", "csv")
    assert done.returncode == 2
    assert f"{tmp_path}: is a directory" in done.stderr
