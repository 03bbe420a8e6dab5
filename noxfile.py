"""Sessions: tests, lint, typecheck (the default set, run by CI), generate, bench."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
"""Development tools come from its PEP 735 dependency groups, not from extras."""


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite on asyncio and trio (every async test is parametrised over both)."""
    session.install("-e", ".[all]", *_group("test"))
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over everything we ship or run."""
    session.install(*_group("lint"))  # ruff, pinned: the generated facade is formatted by it
    paths = ["emmi_async", "tests", "benchmarks", "scripts", "noxfile.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package; pyright --verifytypes (type completeness, needs Node.js)."""
    session.install("-e", ".[all]", *_group("typecheck"), *_group("pyright"))
    session.run("mypy", "--strict", "emmi_async")
    session.run("pyright", "--verifytypes", "emmi_async", "--ignoreexternal")


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate the blocking facade emmi_async/sync.py from the async classes."""
    session.install("-e", ".", *_group("lint"))
    session.run("python", "-m", "scripts.generate_sync")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks in quick mode (full runs: see benchmarks/README.md)."""
    # httpx-aiohttp: a candidate that benchmarks/transports.py compares against.
    session.install("-e", ".[all]", *_group("test"), "httpx-aiohttp")
    for script in session.posargs or ["benchmarks/models.py"]:
        session.run("python", script, "--quick")
