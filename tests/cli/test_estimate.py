"""``emmi estimate`` through ``main(argv)``: outputs, formats, bad rows, --strict, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from emmi_async.cli import main
from emmi_async.testing import ReferenceServer
from tests.cli.conftest import EXAMPLE, HEADER, read_csv, requests_served


def estimate(*argv: str | Path) -> int:
    return main(["estimate", *map(str, argv), "--reference-server"])


# -- results ------------------------------------------------------------------------------


def test_known_entities_get_the_reference_formulas_values(
    known_csv: Path, tmp_path: Path, server: ReferenceServer
) -> None:
    out = tmp_path / "out.csv"
    assert estimate(known_csv, "-o", out, "--quiet") == 0
    rows = read_csv(out)
    assert [(r["identifier"], r["year"], r["status"]) for r in rows] == [
        ("EQ-1", "2022", "ok"),
        ("EQ-2", "2021", "ok"),
        ("EQ-2", "2022", "ok"),
        ("PR-3", "2023", "ok"),
        ("DB-4", "2022", "ok"),
    ]
    eq1, eq2a, eq2b, pr3, db4 = rows
    # energy (600, 60, 2400) t per million of revenue, nothing reported: sector table
    assert (eq1["scope1"], eq1["scope2"], eq1["scope3"]) == ("1200.0", "120.0", "4800.0")
    assert eq1["estimated"] == "scope1;scope2;scope3"
    assert eq1["data_quality_score"] == "4"
    # scope1 reported in 2021 is kept, and its intensity (500 per million) fills 2022
    assert (eq2a["scope1"], eq2a["scope2"], eq2a["scope3"]) == ("500.0", "25.0", "150.0")
    assert eq2a["estimated"] == "scope2;scope3"
    assert (eq2b["scope1"], eq2b["scope2"], eq2b["scope3"]) == ("1000.0", "50.0", "300.0")
    # property: total assets as the base, real estate (50, 80, -), no scope 3
    assert (pr3["scope1"], pr3["scope2"], pr3["scope3"]) == ("200.0", "320.0", "")
    assert pr3["data_quality_score"] == "5"
    # debt: underlying scopes, financials (5, 5, 50)
    assert (db4["underlying_scope1"], db4["underlying_scope2"], db4["underlying_scope3"]) == (
        "15.0",
        "15.0",
        "150.0",
    )
    assert db4["scope1"] == ""
    assert all(r["error"] == "" for r in rows)
    assert not Path(str(out) + ".journal.jsonl").exists()  # finished: journal removed
    assert not Path(str(out) + ".part").exists()


def test_example_portfolio_row_for_row(tmp_path: Path, server: ReferenceServer) -> None:
    out = tmp_path / "results.csv"
    assert estimate(EXAMPLE, "-o", out, "--quiet") == 1
    inputs = read_csv(EXAMPLE)
    outputs = read_csv(out)
    assert [(r["identifier"], r["year"]) for r in outputs] == [
        (r["identifier"], r["year"]) for r in inputs
    ]
    failed = {r["identifier"]: r["status"] for r in outputs if r["status"] != "ok"}
    assert failed == {
        "EQ-00151": "invalid",  # revenue n/a
        "EQ-00421": "invalid",  # year 2150
        "DB-00778": "invalid",  # negative revenue
        "PR-01101": "invalid",  # scope3 on a property
        "DB-01501": "invalid",  # scope1 on debt
        "PR-01851": "rejected",  # no revenue nor total assets: the service refuses it
    }
    # reported emissions come back as reported
    for given, got in zip(inputs, outputs, strict=True):
        if got["status"] == "ok" and given["scope1"]:
            assert float(got["scope1"]) == float(given["scope1"])


def test_bad_rows_are_reported_with_file_line_and_field(
    tmp_path: Path, server: ReferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    portfolio = tmp_path / "portfolio.csv"
    shutil.copy(EXAMPLE, portfolio)
    assert (
        main(["estimate", str(portfolio), "-o", str(tmp_path / "r.csv"), "--reference-server"]) == 1
    )
    err = capsys.readouterr().err
    for message in (
        "portfolio.csv:371: revenue: expected a number, got string 'n/a'",
        "portfolio.csv:1041: year: must be between 1990 and 2100, got 2150",
        "portfolio.csv:1928: revenue: must not be negative",
        "portfolio.csv:2737: scope3: not accepted for property entities",
        "portfolio.csv:3727: scope1: not accepted for debt entities",
        "portfolio.csv: PR-01851: 422 entity 1850 refused: data[2].financials: revenue or "
        "total_assets is required",
    ):
        assert message in err
    rows = read_csv(tmp_path / "r.csv")
    bad = [r for r in rows if r["identifier"] == "EQ-00151"]
    assert bad
    assert all(r["error"] == "line 371: revenue: expected a number, got string 'n/a'" for r in bad)


def test_row_level_problems(
    tmp_path: Path, server: ReferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "identifier,name,year,revenue,asset_type,sector\n"
        "A,Alpha,2022,100,equity,Energy\n"
        "A,,2023,100,,\n"  # entity fields on one row are enough
        ",,2022,100,equity,\n"  # no identifier
        "B,Beta,20x2,100,equity,\n"  # year not a number
        "C,Gamma,2022,1e400,equity,\n"  # not finite
        "E,Eps,2022,5,equity,Energy\n",
        encoding="utf-8",
    )
    assert main(["estimate", str(path), "-o", str(tmp_path / "o.csv"), "--reference-server"]) == 1
    err = capsys.readouterr().err
    assert "p.csv:4: identifier: required" in err
    assert "p.csv:5: year: expected an integer, got string '20x2'" in err
    assert "p.csv:6: revenue: must be a finite number, got inf" in err
    rows = read_csv(tmp_path / "o.csv")
    assert [(r["identifier"], r["status"]) for r in rows] == [
        ("A", "ok"),
        ("A", "ok"),
        ("", "invalid"),
        ("B", "invalid"),
        ("C", "invalid"),
        ("E", "ok"),
    ]
    assert rows[3]["error"] == "line 5: year: expected an integer, got string '20x2'"


# -- --strict --------------------------------------------------------------------------------


def test_strict_sends_nothing_when_a_row_is_bad(
    tmp_path: Path, server: ReferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.csv"
    assert estimate(EXAMPLE, "-o", out, "--strict") == 2
    err = capsys.readouterr().err
    assert "portfolio.csv:371: revenue: expected a number, got string 'n/a'" in err
    assert "portfolio.csv:2737: scope3: not accepted for property entities" in err
    assert "--strict: 5 problem(s) in 5 of 2000 entities; nothing was sent" in err
    assert requests_served(server) == 0
    assert not out.exists()
    assert not Path(str(out) + ".journal.jsonl").exists()


def test_strict_runs_a_clean_file(small_csv: Path, tmp_path: Path, server: ReferenceServer) -> None:
    assert estimate(small_csv, "-o", tmp_path / "r.csv", "--strict", "--quiet") == 0
    assert requests_served(server) == 1  # 60 entities: one chunk


# -- formats ------------------------------------------------------------------------------


def _jsonl_from_csv(rows: list[dict[str, str]]) -> list[dict[str, object]]:
    entities: list[dict[str, object]] = []
    for row in rows:
        if not entities or entities[-1]["entity_info"]["identifier"] != row["identifier"]:  # type: ignore[index]
            info = {
                k: row[k]
                for k in (
                    "identifier",
                    "name",
                    "asset_type",
                    "country",
                    "industry_classification_system",
                    "industry",
                    "sector",
                )
            }
            entities.append({"entity_info": info, "data": []})
        item: dict[str, object] = {"year": int(row["year"])}
        fin = {k: float(row[k]) for k in ("revenue", "total_assets") if row[k]}
        item["financials"] = {"currency": row["currency"], **fin}
        emissions = {k: float(row[k]) for k in ("scope1", "scope2", "scope3") if row[k]}
        if emissions:
            item["emissions"] = emissions
        entities[-1]["data"].append(item)  # type: ignore[attr-defined]
    return entities


def test_jsonl_in_and_out_match_csv(
    known_csv: Path, tmp_path: Path, server: ReferenceServer
) -> None:
    assert estimate(known_csv, "-o", tmp_path / "a.csv", "-q") == 0
    source = tmp_path / "known.jsonl"
    lines = [orjson.dumps(e).decode() for e in _jsonl_from_csv(read_csv(known_csv))]
    source.write_text("\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n")
    assert estimate(source, "-o", tmp_path / "b.jsonl", "-q") == 0
    got = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    expected = read_csv(tmp_path / "a.csv")
    assert [(g["identifier"], g["year"], g["scope1"]) for g in got] == [
        (e["identifier"], int(e["year"]), float(e["scope1"]) if e["scope1"] else None)
        for e in expected
    ]
    assert got[0]["data_quality_score"] == 4
    assert got[0]["error"] is None


def test_jsonl_bad_lines(
    tmp_path: Path, server: ReferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.jsonl"
    good = {
        "entity_info": {"identifier": "G", "asset_type": "equity"},
        "data": [{"year": 2022, "financials": {"revenue": 5.0}}],
    }
    neg = {
        "entity_info": {"identifier": "N", "asset_type": "equity"},
        "data": [{"year": 2022, "financials": {"revenue": -5.0}}],
    }
    lines = [orjson.dumps(good).decode(), orjson.dumps(neg).decode()]
    source.write_text("\n".join(lines) + "\n")
    assert estimate(source, "-o", tmp_path / "o.csv") == 1
    assert "bad.jsonl:2: revenue: must not be negative, got -5.0" in capsys.readouterr().err
    statuses = [r["status"] for r in read_csv(tmp_path / "o.csv")]
    assert statuses == ["ok", "invalid"]
    # a line that is not a JSON object stops the command before anything is sent
    source.write_text(lines[0] + "\n{not json\n")
    assert estimate(source, "-o", tmp_path / "p.csv") == 2
    assert "bad.jsonl:2: not valid JSON" in capsys.readouterr().err
    source.write_text(lines[0] + "\n[1]\n")
    assert estimate(source, "-o", tmp_path / "p.csv") == 2
    assert "bad.jsonl:2: expected a JSON object, got list" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def test_parquet_in_and_out_match_csv(
    known_csv: Path, tmp_path: Path, server: ReferenceServer
) -> None:
    assert estimate(known_csv, "-o", tmp_path / "a.csv", "-q") == 0
    rows = read_csv(known_csv)
    columns: dict[str, list[object]] = {name: [] for name in HEADER.split(",")}
    for row in rows:
        for name in columns:
            value: object = row[name] or None
            if name == "year":
                value = int(row[name])
            elif name in ("revenue", "total_assets", "scope1") and value is not None:
                value = float(row[name])
            columns[name].append(value)
    source = tmp_path / "known.parquet"
    pq.write_table(pa.table(columns), source)
    assert estimate(source, "-o", tmp_path / "b.parquet", "-q") == 0
    got = pq.read_table(tmp_path / "b.parquet").to_pylist()
    expected = read_csv(tmp_path / "a.csv")
    assert len(got) == len(expected) == 5
    for g, e in zip(got, expected, strict=True):
        assert (g["identifier"], g["year"], g["status"]) == (e["identifier"], int(e["year"]), "ok")
        assert g["scope2"] == (float(e["scope2"]) if e["scope2"] else None)
    schema = pq.read_schema(tmp_path / "b.parquet")
    assert str(schema.field("year").type) == "int64"
    assert str(schema.field("scope1").type) == "double"


def test_parquet_row_numbers_in_messages(
    tmp_path: Path, server: ReferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "p.parquet"
    pq.write_table(
        pa.table(
            {
                "identifier": ["A", "B"],
                "year": [2022, 2022],
                "asset_type": ["equity", "equity"],
                "revenue": ["10", "abc"],
            }
        ),
        source,
    )
    assert estimate(source, "-o", tmp_path / "o.jsonl") == 1
    assert "p.parquet:2: revenue: expected a number, got string 'abc'" in capsys.readouterr().err


# -- other operations ------------------------------------------------------------------------


def test_climate_risk_rows_per_scenario(tmp_path: Path, server: ReferenceServer) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "identifier,asset_type,sector,year,revenue,total_assets,scope1,scope2\n"
        "A,equity,Energy,2022,1000000,2000000,100,50\n"
        "A,equity,Energy,2023,1000000,2000000,80,40\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.csv"
    assert (
        estimate(
            path,
            "-o",
            out,
            "-q",
            "--operation",
            "climate-risk",
            "--scenario",
            "ipcc_net_zero",
            "--scenario",
            "ipcc_four_degree",
        )
        == 0
    )
    rows = read_csv(out)
    assert [(r["year"], r["scenario"]) for r in rows] == [
        ("2022", "ipcc_net_zero"),
        ("2022", "ipcc_four_degree"),
        ("2023", "ipcc_net_zero"),
        ("2023", "ipcc_four_degree"),
    ]
    # pcl = (s1 + s2) * carbon price (250, 25); loss = value * rate (0.001, 0.004)
    assert float(rows[0]["potential_carbon_liability"]) == 150 * 250.0
    assert float(rows[1]["potential_carbon_liability"]) == 150 * 25.0
    assert float(rows[0]["average_annual_loss"]) == 2000.0
    assert float(rows[3]["pcl_to_value"]) == round(120 * 25.0 / 2e6, 6)


def test_temperature_alignment_projections_take_projected_rows(
    tmp_path: Path, server: ReferenceServer
) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "identifier,asset_type,sector,year,revenue,scope1,scope2,projected\n"
        "A,equity,Energy,2023,1000000,600,60,\n"
        "A,,,2030,,300,30,true\n"
        "A,,,2040,,60,6,yes\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.csv"
    assert estimate(path, "-o", out, "-q", "--operation", "temperature-alignment-projections") == 0
    rows = read_csv(out)
    # sector-average emitter = 2.0 degrees; half of it = 1.2 + 0.8 * 0.5
    assert [(r["year"], r["temperature_alignment"]) for r in rows] == [
        ("2030", "1.6"),
        ("2040", "1.28"),
    ]
    assert estimate(path, "-o", out, "-q") == 1  # estimates take no projected rows
    assert "projected: emissions-estimates takes no projected years" in read_csv(out)[0]["error"]


def test_emissions_projections_monte_carlo(tmp_path: Path, server: ReferenceServer) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "identifier,asset_type,year,revenue,scope1\n"
        "A,equity,2020,100,100\nA,,2021,100,110\nA,,2022,100,121\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.csv"
    assert estimate(path, "-o", out, "-q", "--operation", "emissions-projections") == 2
    assert (
        estimate(
            path,
            "-o",
            out,
            "-q",
            "--operation",
            "emissions-projections",
            "--projection-year",
            "2023,2024",
        )
        == 0
    )
    rows = read_csv(out)
    assert [(r["year"], r["scope1"]) for r in rows] == [("2023", "133.1"), ("2024", "146.41")]


# -- exit codes and usage errors -------------------------------------------------------------


def test_missing_key_explains_both_ways(
    known_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["estimate", str(known_csv), "-o", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err
    assert "no API key" in err
    assert "EMMI_API_KEY" in err
    assert "--api-key" in err
    assert "--reference-server" in err


def test_key_is_never_printed(
    known_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = "emmi_sk_" + "S3cr3t" * 10 + "abcd"
    monkeypatch.setenv("EMMI_API_KEY", key)
    assert main(["estimate", str(known_csv), "-o", str(tmp_path / "r.csv")]) == 2
    captured = capsys.readouterr()
    assert "needs a customer" in captured.err
    assert "S3cr3t" not in captured.err + captured.out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scenario", "ipcc_net_zero"], "--scenario applies to climate-risk"),
        (["--operation", "climate-risk-projections"], "needs at least one --scenario"),
        (["--reference-latency-ms", "5", "--api-key", "x"], "drop --api-key"),
    ],
)
def test_usage_errors(
    known_csv: Path,
    tmp_path: Path,
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert estimate(known_csv, "-o", tmp_path / "r.csv", *extra) == 2
    assert message in capsys.readouterr().err


def test_input_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad_header = tmp_path / "h.csv"
    bad_header.write_text("identifier,year,scope_1\nA,2022,1\n")
    assert estimate(bad_header, "-o", tmp_path / "r.csv") == 1  # a warning, not an error
    assert "warning: " in (err := capsys.readouterr().err)
    assert "ignoring unknown column(s) 'scope_1'" in err
    assert estimate(tmp_path / "missing.csv", "-o", tmp_path / "r.csv") == 2
    assert "no such file" in capsys.readouterr().err
    assert estimate(bad_header, "-o", tmp_path / "r.xlsx") == 2
    assert "unknown output format '.xlsx'" in capsys.readouterr().err
    assert main(["estimate", str(bad_header)]) == 2  # argparse: -o is required
    assert main(["estimate", str(bad_header), "-o", "x.csv", "--chunk-size", "500"]) == 2


def test_json_summary(
    small_csv: Path, tmp_path: Path, server: ReferenceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert estimate(small_csv, "-o", tmp_path / "r.csv", "--json") == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["entities"] == 60
    assert summary["status"] == {"ok": 60, "invalid": 0, "rejected": 0, "error": 0}
    assert summary["exit_code"] == 0
    assert summary["stats"]["requests"] == 1
    assert captured.err == ""


def test_plain_progress_without_rich(
    small_csv: Path,
    tmp_path: Path,
    server: ReferenceServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "emmi_async.cli._rich", None)  # import fails
    assert estimate(small_csv, "-o", tmp_path / "r.csv") == 0
    err = capsys.readouterr().err
    assert "emissions-estimates: " in err
    assert "60 entities" in err
    assert "60/60 (100%)" in err
    assert "Summary" in err
    assert "ok" in err


def test_the_cli_columns_are_the_table_paths() -> None:
    from emmi_async.cli._portfolio import COLUMNS
    from emmi_async.frames import INPUT_COLUMNS

    assert COLUMNS == INPUT_COLUMNS


def test_parquet_panel_is_regrouped(tmp_path: Path, server: ReferenceServer) -> None:
    """A Parquet file whose entities interleave (sorted by year) gives each identifier's
    rows to one entity, and messages name the rows of the file as given."""
    rows = read_csv(EXAMPLE)
    by_year = sorted(rows, key=lambda row: row["year"])
    columns = {name: [row[name] or None for row in by_year] for name in rows[0]}
    source = tmp_path / "panel.parquet"
    pq.write_table(pa.table(columns), source)
    assert estimate(EXAMPLE, "-o", tmp_path / "a.csv", "-q") == 1
    assert estimate(source, "-o", tmp_path / "b.csv", "-q") == 1
    expected = read_csv(tmp_path / "a.csv")
    got = read_csv(tmp_path / "b.csv")
    assert len({r["identifier"] for r in got}) == 2000
    key = ("identifier", "year", "scope1", "scope2", "scope3", "status")
    assert sorted(tuple(r[k] for k in key) for r in got) == sorted(
        tuple(r[k] for k in key) for r in expected
    )
    number = 1 + next(i for i, r in enumerate(by_year) if r["revenue"] == "n/a")
    bad = next(r for r in got if r["identifier"] == "EQ-00151")
    assert bad["error"] == f"line {number}: revenue: expected a number, got string 'n/a'"
