"""House rules that a refactor could quietly undo: no import circles, no private reach-ins."""

from __future__ import annotations

import ast
from pathlib import Path

import emmi_async

PACKAGE = Path(emmi_async.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_cli_reporters_do_not_import_each_other() -> None:
    assert "emmi_async.cli._progress" not in _imports(PACKAGE / "cli" / "_rich.py")
    assert "emmi_async.cli._summary" in _imports(PACKAGE / "cli" / "_rich.py")


def test_only_the_portal_touches_its_state() -> None:
    tree = ast.parse((PACKAGE / "_sync_support.py").read_text(encoding="utf-8"))
    offenders = [
        f"line {node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "_state"
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    ]
    assert offenders == []


def test_no_private_sentinel_in_public_signatures() -> None:
    for path in [PACKAGE / "_base_client.py", PACKAGE / "sync.py"]:
        assert "_Unset" not in path.read_text(encoding="utf-8"), path
