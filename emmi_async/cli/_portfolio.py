"""Portfolio readers: CSV, JSON Lines and Parquet files as a lazy stream of entities.

Every reader yields one :class:`SourceEntity` per entity, in file order, reading the file
as it goes (memory stays bounded whatever its size). An entity whose rows cannot be read
still comes out, with its :attr:`SourceEntity.problems` (file, line and field of each), so
that the caller can fail it alone and carry on.

CSV and Parquet share one column layout (:data:`COLUMNS`), one row per entity-year; the
rows of one entity are *consecutive* rows with the same ``identifier`` (a later run of
rows with an identifier seen before is another entity: sort the file by identifier if its
rows are interleaved). Entity columns (``name`` ... ``sector``) are read from the entity's
first row; later rows may leave them empty or repeat them. Empty cells are absent values.
JSON Lines hold one entity per line in the API's JSON shape.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from emmi_async.cli._errors import CliError

__all__ = [
    "COLUMNS",
    "EMISSION_COLUMNS",
    "FINANCIAL_COLUMNS",
    "INFO_COLUMNS",
    "Portfolio",
    "RowProblem",
    "SourceEntity",
    "open_portfolio",
]

INFO_COLUMNS = (
    "name",
    "asset_type",
    "country",
    "industry_classification_system",
    "industry",
    "sector",
)
"""``entity_info`` fields besides ``identifier``, taken from an entity's first row."""
FINANCIAL_COLUMNS = ("revenue", "total_assets", "ebitda", "total_debt")
EMISSION_COLUMNS = (
    "scope1",
    "scope2",
    "scope3",
    "underlying_scope1",
    "underlying_scope2",
    "underlying_scope3",
)
COLUMNS = (
    "identifier",
    *INFO_COLUMNS,
    "year",
    "currency",
    *FINANCIAL_COLUMNS,
    *EMISSION_COLUMNS,
    "projected",
)
"""Every column a CSV or Parquet portfolio may have; only ``identifier`` and ``year`` are
required. ``projected`` (true/false, default false) marks a supplied future year for the
projection endpoints (``climate-risk-projections``, ``temperature-alignment-projections``):
such a row carries ``year`` and emissions only."""
_REQUIRED = ("identifier", "year")
_ROW = "(row)"
"""The pseudo-column of problems with a whole row (too many cells)."""
_TRUE = frozenset({"1", "true", "yes", "y", "t"})
_FALSE = frozenset({"", "0", "false", "no", "n", "f"})


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Something wrong at ``source:line`` in column (or JSON path) ``field``."""

    source: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.field}: {self.message}"

    def short(self) -> str:
        """Without the file name: ``line 12: revenue: not a number 'abc'``."""
        where = "" if self.line is None else f"line {self.line}: "
        return f"{where}{self.field}: {self.message}"


@dataclass(slots=True)
class SourceEntity:
    """One entity as read from the file, with where each part of it came from.

    ``entity`` is in the API's JSON shape (``entity_info`` and ``data``; JSON Lines may
    carry more). ``projected`` holds the rows marked ``projected`` (``{year, emissions}``)
    for the operation to place. ``data_lines[i]`` and ``projected_lines[i]`` are the lines
    of ``data[i]`` and ``projected[i]``; ``years`` the year of every input row in order
    (``None`` where unreadable), so a failed entity still gets one output row per year.
    """

    identifier: str | None
    entity: dict[str, Any]
    first_line: int
    data_lines: list[int] = field(default_factory=list)
    projected: list[dict[str, Any]] = field(default_factory=list)
    projected_lines: list[int] = field(default_factory=list)
    years: list[int | None] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    paths_are_columns: bool = True
    """Whether problem fields are CSV/Parquet columns (else JSON paths, for JSON Lines)."""


class Portfolio(Protocol):
    """An input file: its entities, lazily, and a cheap count of them."""

    path: Path
    display: str
    """How messages name the file (the path as the user gave it)."""
    tabular: bool
    """CSV or Parquet (entities built from rows) rather than JSON Lines."""

    def entities(self) -> Iterator[SourceEntity]:
        """Every entity in file order (a new pass over the file each call)."""
        ...

    def count(self) -> int:
        """How many entities :meth:`entities` yields (reads the file once, cheaply)."""
        ...


def open_portfolio(path: str | os.PathLike[str]) -> Portfolio:
    """The reader for ``path`` by its extension (``.csv``, ``.jsonl``/``.ndjson``,
    ``.parquet``/``.pq``), after checking the file and its header.

    Raises :class:`CliError` (exit 2) for a missing file, an unknown extension, an unknown
    or missing column, or Parquet without pyarrow.
    """
    file = Path(path)
    display = os.fspath(path)
    if not file.is_file():
        raise CliError(f"{display}: no such file")
    suffix = file.suffix.lower()
    if suffix == ".csv":
        return CsvPortfolio(file, display)
    if suffix in (".jsonl", ".ndjson"):
        return JsonlPortfolio(file, display)
    if suffix in (".parquet", ".pq"):
        return ParquetPortfolio(file, display)
    raise CliError(
        f"{display}: unknown input format {suffix or '(no extension)'!r}; "
        "use .csv, .jsonl (.ndjson) or .parquet"
    )


def _check_header(display: str, header: Iterable[str]) -> list[str]:
    names = [name.strip() for name in header]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise CliError(
            f"{display}: unknown column(s) {', '.join(map(repr, unknown))}; "
            f"the columns are: {', '.join(COLUMNS)}"
        )
    missing = [name for name in _REQUIRED if name not in names]
    if missing:
        raise CliError(f"{display}: missing required column(s) {', '.join(missing)}")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise CliError(f"{display}: duplicated column(s) {', '.join(duplicated)}")
    return names


# -- rows to entities ----------------------------------------------------------------------


class _RowReader:
    """Turns rows (``{column: text or number}``) into entities, grouping consecutive rows."""

    def __init__(self, display: str) -> None:
        self.display = display

    def group(self, rows: Iterable[tuple[int, Mapping[str, Any]]]) -> Iterator[SourceEntity]:
        current: SourceEntity | None = None
        for line, row in rows:
            identifier = _text(row.get("identifier"))
            if current is not None and identifier is not None and identifier == current.identifier:
                self._add_row(current, line, row)
                continue
            if current is not None:
                yield current
            current = self._start(line, identifier, row)
        if current is not None:
            yield current

    def _problem(self, entity: SourceEntity, line: int, column: str, message: str) -> None:
        entity.problems.append(RowProblem(self.display, line, column, message))

    def _start(self, line: int, identifier: str | None, row: Mapping[str, Any]) -> SourceEntity:
        info: dict[str, Any] = {"identifier": identifier}
        for column in INFO_COLUMNS:
            value = _text(row.get(column))
            if value is not None:
                info[column] = value
        entity = SourceEntity(identifier, {"entity_info": info, "data": []}, line)
        if identifier is None:
            self._problem(entity, line, "identifier", "required (it names the row's entity)")
        self._add_row(entity, line, row, first=True)
        return entity

    def _add_row(
        self, entity: SourceEntity, line: int, row: Mapping[str, Any], first: bool = False
    ) -> None:
        if not first:
            info = entity.entity["entity_info"]
            for column in INFO_COLUMNS:
                value = _text(row.get(column))
                if value is not None and value != info.get(column):
                    shown = info.get(column)
                    self._problem(
                        entity,
                        line,
                        column,
                        f"{value!r} differs from the entity's first row "
                        f"(line {entity.first_line}: {shown!r})",
                    )
        problems: list[tuple[str, str]] = []
        whole_row = row.get(_ROW)
        if whole_row is not None:
            problems.append((_ROW, str(whole_row)))
        year = _year(row.get("year"), problems)
        projected = _flag(row.get("projected"), problems)
        emissions = _amounts(row, EMISSION_COLUMNS, problems)
        entity.years.append(year)
        if projected:
            for column in ("currency", *FINANCIAL_COLUMNS):
                if _text(row.get(column)) is not None:
                    problems.append((column, "a projected row carries year and emissions only"))
            entity.projected.append({"year": year, "emissions": emissions})
            entity.projected_lines.append(line)
        else:
            item: dict[str, Any] = {"year": year}
            financials: dict[str, Any] = {}
            currency = _text(row.get("currency"))
            if currency is not None:
                financials["currency"] = currency
            financials.update(_amounts(row, FINANCIAL_COLUMNS, problems))
            if financials:
                item["financials"] = financials
            if emissions:
                item["emissions"] = emissions
            entity.entity["data"].append(item)
            entity.data_lines.append(line)
        for column, message in problems:
            self._problem(entity, line, column, message)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _show(value: Any) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _year(value: Any, problems: list[tuple[str, str]]) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.append(("year", "required"))
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number: float
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        number = math.nan
    if math.isfinite(number) and number.is_integer():
        return int(number)
    problems.append(("year", f"not a whole year {_show(value)}"))
    return None


def _flag(value: Any, problems: list[tuple[str, str]]) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text not in _FALSE:
        problems.append(("projected", f"not true or false {_show(value)}"))
    return False


def _amounts(
    row: Mapping[str, Any], columns: tuple[str, ...], problems: list[tuple[str, str]]
) -> dict[str, float]:
    found: dict[str, float] = {}
    for column in columns:
        value = row.get(column)
        if value is None:
            continue
        if isinstance(value, str):
            text = value.strip()
            if not text:
                continue
            try:
                number = float(text)
            except ValueError:
                problems.append((column, f"not a number {_show(value)}"))
                continue
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            problems.append((column, f"not a number {_show(value)}"))
            continue
        if not math.isfinite(number):
            problems.append((column, f"not a finite number {_show(value)}"))
            continue
        found[column] = number
    return found


# -- CSV -----------------------------------------------------------------------------------


def _open_text(path: Path) -> IO[str]:
    return path.open(newline="", encoding="utf-8-sig")


class CsvPortfolio:
    """A CSV file with a header row naming :data:`COLUMNS` (any order, any subset that
    includes ``identifier`` and ``year``). Lines are physical file lines (the header is 1)."""

    tabular = True

    def __init__(self, path: Path, display: str) -> None:
        self.path = path
        self.display = display
        with _open_text(path) as file:
            header = next(csv.reader(file), None)
        if header is None:
            raise CliError(f"{display}: the file is empty (a header row is required)")
        self.columns = _check_header(display, header)

    def _rows(self, file: IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
        reader = csv.reader(file)
        next(reader, None)
        columns = self.columns
        width = len(columns)
        for cells in reader:
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # blank line
            row = dict(zip(columns, cells, strict=False))
            if len(cells) > width:
                row[_ROW] = f"{len(cells)} cells, but the header names {width} columns"
            yield reader.line_num, row

    def entities(self) -> Iterator[SourceEntity]:
        with _open_text(self.path) as file:
            rows = self._rows(file)
            yield from _RowReader(self.display).group(rows)

    def count(self) -> int:
        count = 0
        previous: str | None = None
        position = self.columns.index("identifier")
        with _open_text(self.path) as file:
            reader = csv.reader(file)
            next(reader, None)
            for cells in reader:
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                identifier = cells[position].strip() if position < len(cells) else ""
                if not identifier or identifier != previous:
                    count += 1
                previous = identifier or None
        return count


# -- JSON Lines ----------------------------------------------------------------------------


class JsonlPortfolio:
    """One entity per line in the API's JSON shape; blank lines are skipped."""

    tabular = False

    def __init__(self, path: Path, display: str) -> None:
        self.path = path
        self.display = display

    def entities(self) -> Iterator[SourceEntity]:
        with self.path.open("rb") as file:
            for number, raw in enumerate(file, start=1):
                if not raw.strip():
                    continue
                yield self._entity(number, raw)

    def _entity(self, line: int, raw: bytes) -> SourceEntity:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return self._bad(line, "(line)", f"not valid JSON ({exc})")
        if not isinstance(value, dict):
            return self._bad(line, "(line)", f"expected a JSON object, got {type(value).__name__}")
        info = value.get("entity_info")
        identifier = info.get("identifier") if isinstance(info, dict) else None
        ident = identifier if isinstance(identifier, str) else None
        data = value.get("data")
        items = data if isinstance(data, list) else []
        years = [_json_year(item) for item in items]
        return SourceEntity(
            ident,
            value,
            line,
            data_lines=[line] * len(items),
            years=years or [None],
            paths_are_columns=False,
        )

    def _bad(self, line: int, where: str, message: str) -> SourceEntity:
        entity = SourceEntity(None, {}, line, years=[None], paths_are_columns=False)
        entity.problems.append(RowProblem(self.display, line, where, message))
        return entity

    def count(self) -> int:
        with self.path.open("rb") as file:
            return sum(1 for raw in file if raw.strip())


def _json_year(item: Any) -> int | None:
    year = item.get("year") if isinstance(item, dict) else None
    return year if isinstance(year, int) and not isinstance(year, bool) else None


# -- Parquet -------------------------------------------------------------------------------


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CliError("Parquet needs pyarrow: pip install 'emmi-async[parquet]'") from None
    return pq


class ParquetPortfolio:
    """A Parquet file with the CSV's columns (text or numeric types); ``line`` in messages
    is the 1-based row number. Read in record batches."""

    tabular = True
    batch_size = 4096

    def __init__(self, path: Path, display: str) -> None:
        self.path = path
        self.display = display
        pq = _pyarrow_parquet()
        try:
            schema = pq.ParquetFile(path).schema_arrow
        except Exception as exc:  # pyarrow raises its own error types for a bad file
            raise CliError(f"{display}: not a readable Parquet file ({exc})") from None
        self.columns = _check_header(display, schema.names)

    def _rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        pq = _pyarrow_parquet()
        number = 0
        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=self.batch_size):
            for row in batch.to_pylist():
                number += 1
                yield number, row

    def entities(self) -> Iterator[SourceEntity]:
        return _RowReader(self.display).group(self._rows())

    def count(self) -> int:
        pq = _pyarrow_parquet()
        count = 0
        previous: str | None = None
        file = pq.ParquetFile(self.path)
        for batch in file.iter_batches(batch_size=65536, columns=["identifier"]):
            for value in batch.column(0).to_pylist():
                identifier = _text(value)
                if identifier is None or identifier != previous:
                    count += 1
                previous = identifier
        return count
