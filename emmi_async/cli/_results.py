"""Result writers: CSV, JSON Lines and Parquet, chosen by the output file's extension.

A writer writes rows as they come (Parquet: in row groups of :data:`ROW_GROUP` rows), so
memory stays bounded. Everything goes to ``RESULTS.part`` next to the target; only
:meth:`ResultWriter.commit` moves it into place, so a results file is always complete.
:meth:`ResultWriter.discard` (after an interruption or a crash) removes the partial file.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from emmi_async.cli._errors import CliError
from emmi_async.cli._operations import ColumnType, Row

__all__ = ["ROW_GROUP", "ResultWriter", "check_output", "open_writer"]

ROW_GROUP = 10_000
"""Rows per Parquet row group (the rows a Parquet writer holds at most)."""

_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


class ResultWriter(Protocol):
    """Where output rows go."""

    path: Path

    def write(self, row: Row) -> None:
        """Append one row (missing columns are empty)."""

    def commit(self) -> None:
        """Finish the file and move it to :attr:`path`."""

    def discard(self) -> None:
        """Close and delete the partial file (idempotent, also after :meth:`commit`)."""


def check_output(path: str | os.PathLike[str]) -> str:
    """The output format of ``path`` (``csv``, ``jsonl`` or ``parquet``); ``CliError``
    (exit 2) for another extension, a missing directory or Parquet without pyarrow."""
    target = Path(path)
    fmt = _FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise CliError(
            f"{os.fspath(path)}: unknown output format {target.suffix or '(no extension)'!r}; "
            "use .csv, .jsonl or .parquet"
        )
    if not target.parent.is_dir():
        raise CliError(f"{os.fspath(path)}: the directory {target.parent} does not exist")
    if fmt == "parquet":
        _pyarrow()
    return fmt


def open_writer(
    path: str | os.PathLike[str], columns: Sequence[tuple[str, ColumnType]]
) -> ResultWriter:
    """A writer for ``path`` with ``columns`` (name, type), by the path's extension."""
    fmt = check_output(path)
    target = Path(path)
    if fmt == "csv":
        return CsvWriter(target, columns)
    if fmt == "jsonl":
        return JsonlWriter(target, columns)
    return ParquetWriter(target, columns)


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


class _FileWriter:
    """The ``.part`` file handling shared by the text writers."""

    def __init__(self, path: Path, mode: str) -> None:
        self.path = path
        self._part = _part(path)
        self._file: IO[Any] | None = (
            self._part.open("w", newline="", encoding="utf-8")
            if mode == "text"
            else self._part.open("wb")
        )

    def commit(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            os.replace(self._part, self.path)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._part.unlink(missing_ok=True)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


class CsvWriter(_FileWriter):
    """A header row, then one line per row; empty cells for ``None``."""

    def __init__(self, path: Path, columns: Sequence[tuple[str, ColumnType]]) -> None:
        super().__init__(path, "text")
        self._names = [name for name, _ in columns]
        assert self._file is not None
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(self._names)

    def write(self, row: Row) -> None:
        self._writer.writerow([_cell(row.get(name)) for name in self._names])


class JsonlWriter(_FileWriter):
    """One JSON object per row, keys in column order, ``null`` for missing values."""

    def __init__(self, path: Path, columns: Sequence[tuple[str, ColumnType]]) -> None:
        super().__init__(path, "binary")
        self._names = [name for name, _ in columns]

    def write(self, row: Row) -> None:
        assert self._file is not None
        self._file.write(orjson.dumps({name: row.get(name) for name in self._names}) + b"\n")


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise CliError("Parquet needs pyarrow: pip install 'emmi-async[parquet]'") from None
    return pyarrow


class ParquetWriter:
    """Typed columns (string, int64, float64), written in row groups of :data:`ROW_GROUP`."""

    def __init__(self, path: Path, columns: Sequence[tuple[str, ColumnType]]) -> None:
        pa = _pyarrow()
        types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64()}
        self.path = path
        self._part = _part(path)
        self._schema = pa.schema([(name, types[kind]) for name, kind in columns])
        self._names = [name for name, _ in columns]
        self._buffer: dict[str, list[Any]] = {name: [] for name in self._names}
        self._size = 0
        self._writer: Any = pa.parquet.ParquetWriter(str(self._part), self._schema)

    def write(self, row: Row) -> None:
        for name in self._names:
            self._buffer[name].append(row.get(name))
        self._size += 1
        if self._size >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._size:
            pa = _pyarrow()
            self._writer.write_table(pa.Table.from_pydict(self._buffer, schema=self._schema))
            self._buffer = {name: [] for name in self._names}
            self._size = 0

    def commit(self) -> None:
        if self._writer is not None:
            self._flush()
            self._writer.close()
            self._writer = None
            os.replace(self._part, self.path)

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._part.unlink(missing_ok=True)
