"""Portfolio files in: CSV, JSON Lines or Parquet (or CSV / JSON Lines on stdin) as a
stream of polars frames for :meth:`BatchRunner.stream_frames`, read in bounded batches.

Contract of :func:`open_portfolio` (everything here happens before anything is sent):

- CSV is decoded as ``--encoding`` (default UTF-8, a BOM is dropped), line by line: a
  byte sequence that is not valid in the encoding is an input error (:class:`CliError`,
  exit 2) naming the file, the line and the encoding. The delimiter is ``--delimiter``,
  else ``,``, ``;`` or tab, whichever the header line holds most of.
- Header names are matched to :data:`COLUMNS` case-insensitively (spaces around them
  ignored); ``identifier`` and ``year`` are required; unknown columns are dropped with a
  warning. Empty cells are absent values.
- Nothing is lost silently: a record with more or fewer cells than the header, or a
  quote that is never closed, stops the command (exit 2) naming the line.
- JSON Lines hold either one row per line (the CSV's columns as keys) or one entity per
  line in the API's shape (``entity_info``, ``data``, ``projections``...), which becomes
  its rows. A line that is not a JSON object stops the command (exit 2) naming the line.
- Rows of one identifier are one entity wherever they stand. CSV and JSON Lines are
  staged into a temporary Parquet file (text columns plus their file line); a pre-pass
  over the identifier column checks that each identifier's rows are contiguous, and if
  they are not, the rows are regrouped by polars into a temporary Parquet file in order
  of each identifier's first row (rows keep their order within an entity). Entities, and
  so the results, come in order of first appearance.
- Memory: frames of :data:`FRAME_ROWS` rows; the pre-pass keeps 8 bytes per entity (a
  hash of each run of rows), staged files 8 bytes per row for their line numbers. What
  Arrow's memory pool kept of the pre-pass's reads goes back to the system before the
  run starts (80 MiB for 3,000,000 rows, measured: else the command's peak).
"""

from __future__ import annotations

import codecs
import csv
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from emmi_async.cli._errors import CliError
from emmi_async.cli._portfolio import COLUMNS, EMISSION_COLUMNS, FINANCIAL_COLUMNS, INFO_COLUMNS

__all__ = ["BATCH_ROWS", "FORMATS", "Portfolio", "open_portfolio"]

BATCH_ROWS = 65_536
"""Rows per staged batch (and, times four, per batch of the identifier pre-pass)."""
FRAME_ROWS = 10_000
"""Rows per frame handed to the run."""
SMALL_ROWS = 200_000
"""Inputs up to this many rows are regrouped in memory; larger ones in buckets."""
BUCKET_ENTITIES = 25_000
"""Entities per bucket of a regrouping on disk (the rows held at once)."""
FORMATS = ("csv", "jsonl", "parquet")
LINE = "__line"
"""The staged files' column of each row's line in the input file."""
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_SUFFIXES[".pq"] = "parquet"
_DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}
_MAX_PROBLEMS = 20

Note = Callable[[str], None]


class Portfolio:
    """An input, checked and grouped: its frames (a new pass each call) and the line of
    each row in the input file."""

    def __init__(
        self,
        display: str,
        path: Path | None,
        data: Path,
        names: dict[str, str],
        rows: int,
        entities: int,
        workdir: Path | None,
    ) -> None:
        self.display = display
        """How messages name the input (the path as given, or ``<stdin>``)."""
        self.path = path
        """The input file (``None`` for stdin)."""
        self.rows = rows
        self.entities = entities
        self._data = data
        self._names = names  # stored column -> canonical column
        self._workdir = workdir
        self._lines: pl.Series | None = None

    def frames(self) -> Iterator[pl.DataFrame]:
        """The rows in batches, columns named as :data:`COLUMNS`, entities contiguous."""
        file = pq.ParquetFile(self._data)
        for batch in file.iter_batches(batch_size=FRAME_ROWS, columns=list(self._names)):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame.rename(self._names)

    def line_of(self, row: int) -> int:
        """The input line (Parquet: 1-based row number) of the ``row``-th row streamed."""
        if self._workdir is None:
            return row + 1
        if self._lines is None:
            # A polars series, not numpy (not a dependency of any extra).
            self._lines = pl.read_parquet(self._data, columns=[LINE]).to_series()
        if 0 <= row < len(self._lines):
            return int(self._lines[row])
        return row + 1

    def close(self) -> None:
        """Remove the temporary files (idempotent)."""
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)


def input_format(spec: str, given: str | None) -> str:
    """The format of ``spec`` (``-``: stdin): ``--format``, else from the extension."""
    if given is not None:
        return given
    if spec == "-":
        return "csv"
    suffix = Path(spec).suffix.lower()
    found = _SUFFIXES.get(suffix)
    if found is None:
        raise CliError(
            f"{spec}: unknown input format {suffix or '(no extension)'!r}; use .csv, "
            ".jsonl (.ndjson) or .parquet, or say which with --format"
        )
    return found


def open_portfolio(
    spec: str,
    *,
    fmt: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    warn: Note,
) -> Portfolio:
    """Check, stage and group the input ``spec`` (a path, or ``-`` for stdin)."""
    kind = input_format(spec, fmt)
    if spec == "-" and kind == "parquet":
        raise CliError("standard input (-) takes CSV or JSON Lines: --format csv or jsonl")
    encoding = _encoding(encoding)
    display = "<stdin>" if spec == "-" else spec
    path = None if spec == "-" else Path(spec)
    if path is not None:
        if path.is_dir():
            raise CliError(f"{display}: is a directory, not a portfolio file")
        if not path.is_file():
            raise CliError(f"{display}: no such file")
    if kind == "parquet":
        assert path is not None
        return _parquet(path, display, warn)
    workdir = Path(tempfile.mkdtemp(prefix="emmi-"))
    try:
        staged = workdir / "staged.parquet"
        binary: IO[bytes] = sys.stdin.buffer if path is None else path.open("rb")
        try:
            if kind == "csv":
                _stage_csv(binary, display, encoding, delimiter, staged, warn)
            else:
                _stage_jsonl(binary, display, encoding, staged, warn)
        finally:
            if path is not None:
                binary.close()
        names = {name: name for name in pq.read_schema(staged).names if name != LINE}
        return _grouped(display, path, staged, names, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _encoding(name: str | None) -> str:
    if name is None:
        return "utf-8-sig"
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise CliError(f"--encoding: unknown encoding {name!r}") from None
    if info.name == "utf-8":
        return "utf-8-sig"  # a BOM is dropped whatever the spelling
    if "16" in info.name or "32" in info.name:
        raise CliError(f"--encoding {name}: UTF-16/32 files are not supported; save as UTF-8")
    return info.name


def _shown(encoding: str) -> str:
    return "UTF-8" if encoding == "utf-8-sig" else encoding


def _canonical(display: str, header: Iterable[str], warn: Note) -> list[str | None]:
    """Each header cell's column (``None``: unknown, dropped with a warning)."""
    known = {name.lower(): name for name in COLUMNS}
    names: list[str | None] = []
    unknown: list[str] = []
    for cell in header:
        name = known.get(cell.strip().lower())
        names.append(name)
        if name is None:
            unknown.append(cell)
    if unknown:
        warn(
            f"{display}: ignoring unknown column(s) {', '.join(map(repr, unknown))}; "
            f"the columns are: {', '.join(COLUMNS)}"
        )
    found = [name for name in names if name is not None]
    missing = [name for name in ("identifier", "year") if name not in found]
    if missing:
        raise CliError(f"{display}: missing required column(s) {', '.join(missing)}")
    duplicated = sorted({name for name in found if found.count(name) > 1})
    if duplicated:
        raise CliError(f"{display}: duplicated column(s) {', '.join(duplicated)}")
    return names


# -- CSV ----------------------------------------------------------------------------------


def _decoded(binary: IO[bytes], display: str, encoding: str) -> Iterator[str]:
    """The file's lines as text; :class:`CliError` naming the line of a bad byte."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    number = 0
    for raw in binary:
        number += 1
        try:
            yield decoder.decode(raw)
        except UnicodeDecodeError as exc:
            byte = raw[exc.start : exc.start + 1].hex()
            hint = (
                "; pass --encoding (e.g. --encoding cp1252 for an Excel export)"
                if encoding == "utf-8-sig"
                else ""
            )
            raise CliError(
                f"{display}:{number}: not valid {_shown(encoding)} (byte 0x{byte} at "
                f"column {exc.start + 1}){hint}; nothing was sent"
            ) from None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise CliError(
            f"{display}:{number}: not valid {_shown(encoding)} (the file ends inside a "
            "character); nothing was sent"
        ) from None


def _delimiter(given: str | None, header: str) -> str:
    if given is not None:
        value = _DELIMITERS.get(given.lower(), given)
        if len(value) != 1:
            raise CliError(f"--delimiter takes one character (or 'tab'), got {given!r}")
        return value
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts.values())
    return "," if best == 0 or counts[","] == best else max(counts, key=lambda s: counts[s])


class _Stager:
    """Writes text rows (and their line) into a Parquet file, a batch at a time."""

    def __init__(self, target: Path, columns: list[str]) -> None:
        self.columns = columns
        fields = [pa.field(name, pa.string()) for name in columns]
        self.schema = pa.schema([*fields, pa.field(LINE, pa.int64())])
        self.writer = pq.ParquetWriter(str(target), self.schema)
        self.rows: list[list[str | None]] = []
        self.lines: list[int] = []

    def add(self, line: int, cells: list[str | None]) -> None:
        self.rows.append(cells)
        self.lines.append(line)
        if len(self.rows) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        width = len(self.columns)
        columns = list(zip(*self.rows, strict=True)) if self.rows else [()] * width
        arrays = [pa.array(column, pa.string()) for column in columns]
        arrays.append(pa.array(self.lines, pa.int64()))
        self.writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        self.rows, self.lines = [], []

    def close(self) -> None:
        if self.rows or not self.writer.is_open:
            self.flush()
        self.writer.close()


def _stage_csv(
    binary: IO[bytes],
    display: str,
    encoding: str,
    delimiter: str | None,
    target: Path,
    warn: Note,
) -> None:
    lines = _decoded(binary, display, encoding)
    first = next(lines, None)
    skipped = 1  # lines read before the csv reader's: the header and blank lines above it
    while first is not None and not first.strip():
        first = next(lines, None)
        skipped += 1
    if first is None:
        raise CliError(f"{display}: the file is empty (a header row is required)")
    separator = _delimiter(delimiter, first)
    header = next(csv.reader([first], delimiter=separator))
    names = _canonical(display, header, warn)
    keep = [position for position, name in enumerate(names) if name is not None]
    stager = _Stager(target, [names[position] or "" for position in keep])
    width = len(names)
    problems: list[str] = []
    reader = csv.reader(lines, delimiter=separator, strict=True)
    end = skipped
    try:
        while True:
            start = end + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise CliError(
                    f"{display}:{start}: malformed CSV ({exc}): a quote that is never "
                    "closed? Nothing was sent"
                ) from None
            end = reader.line_num + skipped
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) != width:
                spans = (
                    f" (the record runs to line {end}: an unclosed quote?)" if end > start else ""
                )
                problems.append(
                    f"{display}:{start}: {len(cells)} cells, but the header names {width} "
                    f"columns{spans}"
                )
                if len(problems) > _MAX_PROBLEMS:
                    break
                continue
            stager.add(start, [cells[position].strip() or None for position in keep])
    finally:
        stager.close()
    if problems:
        for problem in problems[:_MAX_PROBLEMS]:
            warn(problem)
        more = " (and more)" if len(problems) > _MAX_PROBLEMS else ""
        raise CliError(
            f"{display}: {len(problems[:_MAX_PROBLEMS])}{more} malformed row(s), the first at "
            f"{problems[0].split(': ', 1)[0]}; nothing was sent (fix the rows, or check "
            "--delimiter and the quotes)"
        )


# -- JSON Lines -----------------------------------------------------------------------------

_PROJECTED_FIELDS = ("projections", "projected_emissions")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    text = str(value).strip()
    return text or None


def _entity_rows(value: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The rows of an entity in the API's shape (one row per data or projected item)."""
    info = value.get("entity_info")
    info = info if isinstance(info, dict) else {}
    base = {name: info.get(name) for name in ("identifier", *INFO_COLUMNS)}
    produced = False
    data = value.get("data")
    for item in data if isinstance(data, list) else []:
        item = item if isinstance(item, dict) else {}
        financials = item.get("financials")
        financials = financials if isinstance(financials, dict) else {}
        emissions = item.get("emissions")
        emissions = emissions if isinstance(emissions, dict) else {}
        row = {**base, "year": item.get("year"), "currency": financials.get("currency")}
        row.update({name: financials.get(name) for name in FINANCIAL_COLUMNS})
        row.update({name: emissions.get(name) for name in EMISSION_COLUMNS})
        produced = True
        yield row
    for field in _PROJECTED_FIELDS:
        items = value.get(field)
        for item in items if isinstance(items, list) else []:
            item = item if isinstance(item, dict) else {}
            emissions = item.get("emissions")
            emissions = emissions if isinstance(emissions, dict) else {}
            row = {"identifier": base["identifier"], "year": item.get("year"), "projected": True}
            row.update({name: emissions.get(name) for name in EMISSION_COLUMNS})
            produced = True
            yield row
    if not produced:
        yield dict(base)  # no year: it fails as invalid, and keeps its output row


def _stage_jsonl(binary: IO[bytes], display: str, encoding: str, target: Path, warn: Note) -> None:
    stager = _Stager(target, list(COLUMNS))
    known = {name.lower(): name for name in COLUMNS}
    ignored: set[str] = set()
    try:
        for number, line in enumerate(_decoded(binary, display, encoding), start=1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise CliError(
                    f"{display}:{number}: not valid JSON ({exc}); nothing was sent"
                ) from None
            if not isinstance(value, dict):
                raise CliError(
                    f"{display}:{number}: expected a JSON object, got "
                    f"{type(value).__name__}; nothing was sent"
                )
            if "entity_info" in value:
                rows = list(_entity_rows(value))
                ignored.update(
                    key for key in value if key not in ("entity_info", "data", *_PROJECTED_FIELDS)
                )
            else:
                row: dict[str, Any] = {}
                for key, cell in value.items():
                    name = known.get(str(key).strip().lower())
                    if name is None:
                        ignored.add(str(key))
                    else:
                        row[name] = cell
                rows = [row]
            for row in rows:
                stager.add(number, [_text(row.get(name)) for name in COLUMNS])
    finally:
        stager.close()
    if ignored:
        warn(
            f"{display}: ignoring field(s) {', '.join(sorted(map(repr, ignored)))} (entity "
            "options come from the flags: --scenario, --method, --projection-year, --target)"
        )


# -- Parquet and grouping -------------------------------------------------------------------


def _parquet(path: Path, display: str, warn: Note) -> Portfolio:
    try:
        schema = pq.ParquetFile(path).schema_arrow
    except Exception as exc:  # pyarrow raises its own error types for a bad file
        raise CliError(f"{display}: not a readable Parquet file ({exc})") from None
    names = _canonical(display, schema.names, warn)
    stored = {given: name for given, name in zip(schema.names, names, strict=True) if name}
    return _grouped(display, path, path, stored, None)


def _grouped(
    display: str,
    path: Path | None,
    data: Path,
    names: dict[str, str],
    workdir: Path | None,
) -> Portfolio:
    """``data`` as a :class:`Portfolio`, regrouped first when an identifier's rows are
    not contiguous."""
    column = next(given for given, name in names.items() if name == "identifier")
    runs = rows = nulls = 0
    previous: int | None = None
    starts: list[pl.Series] = []  # the identifier hash of each run of rows
    file = pq.ParquetFile(data)
    for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=[column]):
        identifiers = pl.Series(batch.column(0)).cast(pl.String)
        hashed = identifiers.hash()
        missing = identifiers.is_null()
        changed = (hashed != hashed.shift(1)).fill_null(True) | missing | missing.shift(1)
        changed = changed.fill_null(True)
        if previous is not None and len(hashed) and not missing[0] and hashed[0] == previous:
            changed[0] = False
        rows += len(hashed)
        nulls += int(missing.sum())
        starts.append(hashed.filter(changed & ~missing))
        previous = None if not len(hashed) or missing[-1] else int(hashed[-1])
    every = pl.concat(starts) if starts else pl.Series([], dtype=pl.UInt64)
    starts.clear()
    runs = len(every) + nulls
    entities = every.n_unique() + nulls
    del every
    pa.default_memory_pool().release_unused()
    if runs == entities:
        return Portfolio(display, path, data, names, rows, entities, workdir)
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="emmi-"))
    try:
        target = workdir / "grouped.parquet"
        if rows <= SMALL_ROWS:
            _regroup(data, names, column, target)
        else:
            _regroup_in_buckets(data, names, column, workdir, target)
        stored = {name: name for name in names.values()}
        pa.default_memory_pool().release_unused()
        return Portfolio(display, path, target, stored, rows, entities, workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _regroup(data: Path, names: dict[str, str], column: str, target: Path) -> None:
    """Rows sorted by their identifier's first row (then their own position), through
    polars' streaming engine, into ``target`` with the input line of each row."""
    frame = pl.scan_parquet(data)
    if LINE not in pq.read_schema(data).names:
        frame = frame.with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.Int64))
    position = "__emmi_position"
    first = "__emmi_first"
    frame = (
        frame.select(*[pl.col(given).alias(name) for given, name in names.items()], LINE)
        .with_row_index(position)
        .with_columns(
            pl.when(pl.col("identifier").is_null())
            .then(pl.col(position))
            .otherwise(pl.col(position).min().over("identifier"))
            .alias(first)
        )
        .sort(first, position)
        .drop(position, first)
    )
    frame.sink_parquet(target, engine="streaming")


def _regroup_in_buckets(
    data: Path, names: dict[str, str], column: str, workdir: Path, target: Path
) -> None:
    """:func:`_regroup` in bounded memory: each row's entity rank (order of first
    appearance) from the identifier column alone (a few bytes per row), the rows spread
    into Parquet buckets of :data:`BUCKET_ENTITIES` entities, then each bucket sorted
    and appended to ``target``."""
    first = "__emmi_first"
    position = "__emmi_position"
    keys: list[pl.Series] = []
    file = pq.ParquetFile(data)
    for batch in file.iter_batches(batch_size=BATCH_ROWS * 4, columns=[column]):
        identifiers = pl.Series(batch.column(0)).cast(pl.String)
        keys.append(identifiers.hash().set(identifiers.is_null(), None))
    key = pl.concat(keys) if keys else pl.Series([], dtype=pl.UInt64)
    keys.clear()
    order = (
        pl.DataFrame({"key": key})
        .with_row_index(position)
        .select(
            pl.when(pl.col("key").is_null())
            .then(pl.col(position))
            .otherwise(pl.col(position).min().over("key"))
            .cast(pl.Int64)
            .alias(first)
        )
    )
    del key
    firsts = order[first]
    bucket_of = order.select(
        ((pl.col(first).rank("dense").cast(pl.Int64) - 1) // BUCKET_ENTITIES).alias("b")
    )["b"]
    del order
    writers: dict[int, Any] = {}
    offset = 0
    staged = LINE in pq.read_schema(data).names
    columns = [*names, LINE] if staged else list(names)
    try:
        for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            height = frame.height
            frame = frame.rename(names)
            if not staged:
                frame = frame.with_columns(
                    pl.int_range(offset + 1, offset + 1 + height, dtype=pl.Int64).alias(LINE)
                )
            frame = frame.with_columns(
                firsts.slice(offset, height).alias(first),
                pl.int_range(offset, offset + height, dtype=pl.Int64).alias(position),
                bucket_of.slice(offset, height).alias("__emmi_bucket"),
            )
            offset += height
            for (bucket,), part in frame.partition_by("__emmi_bucket", as_dict=True).items():
                table = part.drop("__emmi_bucket").to_arrow()
                writer = writers.get(int(bucket))
                if writer is None:
                    path = workdir / f"bucket-{int(bucket)}.parquet"
                    writer = writers[int(bucket)] = pq.ParquetWriter(str(path), table.schema)
                writer.write_table(table)
    finally:
        for writer in writers.values():
            writer.close()
    del firsts, bucket_of
    out: Any = None
    try:
        for bucket in sorted(writers):
            path = workdir / f"bucket-{bucket}.parquet"
            table = pl.read_parquet(path).sort(first, position).drop(first, position).to_arrow()
            path.unlink()
            if out is None:
                out = pq.ParquetWriter(str(target), table.schema)
            out.write_table(table, row_group_size=BATCH_ROWS)
    finally:
        if out is not None:
            out.close()
