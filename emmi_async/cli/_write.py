"""Results files out: result frames (polars) into CSV, JSON Lines or Parquet.

Contract:

- The format comes from the output file's extension (:func:`check_output`).
- Frames are written as they come, so memory stays bounded (Parquet: row groups of at
  least :data:`ROW_GROUP` rows, held until then).
- Parquet keeps the result frames' types (``year`` int64, amounts double, ``estimated``
  a list of strings); JSON Lines writes one object per row (``estimated`` an array,
  ``null`` for missing values); CSV writes text, ``estimated`` as ``;``-joined names and
  empty cells for missing values.
- Everything goes to ``RESULTS.part`` next to the target; only :meth:`FrameWriter.commit`
  moves it into place, so a results file is always complete. :meth:`FrameWriter.discard`
  (after an interruption or a crash) removes the partial file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from emmi_async.cli._errors import CliError

__all__ = ["ROW_GROUP", "FrameWriter", "check_output"]

ROW_GROUP = 65_536
"""Rows per Parquet row group (what a Parquet writer holds at most)."""

_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def check_output(path: str | os.PathLike[str]) -> str:
    """The output format of ``path`` (``csv``, ``jsonl`` or ``parquet``); ``CliError``
    (exit 2) for another extension or a missing directory."""
    target = Path(path)
    fmt = _FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise CliError(
            f"{os.fspath(path)}: unknown output format {target.suffix or '(no extension)'!r}; "
            "use .csv, .jsonl or .parquet"
        )
    if target.is_dir():
        raise CliError(f"{os.fspath(path)}: is a directory; name a results file")
    if not target.parent.is_dir():
        raise CliError(f"{os.fspath(path)}: the directory {target.parent} does not exist")
    return fmt


class FrameWriter:
    """Result frames into ``path`` (through ``path.part``), in the format of its extension."""

    def __init__(self, path: str | os.PathLike[str], empty: pl.DataFrame) -> None:
        self.format = check_output(path)
        self.path = Path(path)
        self.rows = 0
        self._part = self.path.with_name(self.path.name + ".part")
        self._empty = empty
        self._file: IO[bytes] | None = self._part.open("wb")
        self._parquet: Any = None
        self._held: list[pa.Table] = []
        self._held_rows = 0
        self._header = True

    def write(self, frame: pl.DataFrame) -> None:
        """Append the rows of ``frame`` (the columns of the empty frame given)."""
        assert self._file is not None
        self.rows += frame.height
        if self.format == "parquet":
            self._held.append(frame.to_arrow())
            self._held_rows += frame.height
            if self._held_rows >= ROW_GROUP:
                self._flush()
        elif self.format == "jsonl":
            if frame.height:
                frame.write_ndjson(self._file)
        else:
            self._csv(frame)

    def _csv(self, frame: pl.DataFrame) -> None:
        assert self._file is not None
        lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
        if lists:
            frame = frame.with_columns(pl.col(name).list.join(";") for name in lists)
        if frame.height or self._header:
            frame.write_csv(self._file, include_header=self._header, line_terminator="\n")
            self._header = False

    def _flush(self) -> None:
        if not self._held:
            return
        table = pa.concat_tables(self._held) if len(self._held) > 1 else self._held[0]
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._file, table.schema)
        self._parquet.write_table(table)
        self._held, self._held_rows = [], 0

    def commit(self) -> None:
        """Finish the file and move it to :attr:`path`."""
        if self._file is None:
            return
        if self.format == "parquet":
            if self._parquet is None and not self._held:
                self._held.append(self._empty.to_arrow())
            self._flush()
            self._parquet.close()
        elif self.format == "csv" and self._header:
            self._csv(self._empty)
        self._file.close()
        self._file = None
        os.replace(self._part, self.path)

    def discard(self) -> None:
        """Close and delete the partial file (idempotent, also after :meth:`commit`)."""
        if self._file is None:
            return
        if self._parquet is not None:
            self._parquet.close()
        self._file.close()
        self._file = None
        self._part.unlink(missing_ok=True)
