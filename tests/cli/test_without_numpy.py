"""``emmi estimate`` needs no numpy: the ``cli`` extra does not bring it (pandas, in the
test dependencies, does; so the command runs here with numpy's import refused)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import REPO

# numpy refused at import (None in sys.modules), then the command's own entry point.
LAUNCH = (
    "import sys; sys.modules['numpy'] = None; "
    "from emmi_async.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_a_panel_with_a_bad_row_runs_without_numpy(tmp_path: Path) -> None:
    portfolio = tmp_path / "panel.csv"
    # Sorted by year (so the rows are regrouped and their lines kept), one bad revenue.
    portfolio.write_text(
        "identifier,asset_type,year,currency,revenue\n"
        "EQ-1,equity,2022,EUR,2000000\n"
        "EQ-2,equity,2022,EUR,n/a\n"
        "EQ-1,equity,2023,EUR,2100000\n"
        "EQ-2,equity,2023,EUR,1000000\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMMI_")}
    output = tmp_path / "out.csv"
    argv = ["estimate", str(portfolio), "-o", str(output), "--reference-server", "--quiet"]
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, *argv],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert f"{portfolio}:3: revenue: expected a number" in done.stderr
    lines = output.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + 4
    assert sum(",ok," in line for line in lines) == 2
