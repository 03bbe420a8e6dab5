"""The table path: portfolio tables through the batch runner's run, and result tables out.

A :class:`TableSource` feeds a :class:`~emmi_async.batch._run.Run` whole prepared frames
(grouped, checked and encoded by :mod:`._encode`); a :class:`TableOperation` sends and
decodes chunks as columns (:mod:`._decode`); :class:`ResultBook` turns the run's settled
parts into result rows. No per-entity Python object is made for an entity that passes the
column checks, except its JSON bytes in the chunk being sent.
"""

from __future__ import annotations

import bisect
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

import orjson
import polars as pl

from emmi_async._base_client import BaseClient
from emmi_async._exceptions import EmmiError, EntityValidationError
from emmi_async._response import APIResponse
from emmi_async._retry import is_permanent
from emmi_async.batch._operation import analysis_results, post_chunk
from emmi_async.batch._outcome import BatchDeadlineError
from emmi_async.batch._run import Journaled, Run, Settled
from emmi_async.frames._decode import extra_json, flatten_plan, parse_results
from emmi_async.frames._encode import (
    STREAM_ROW,
    EndpointRules,
    PreparedFrame,
    entity_from_rows,
    prepare_frame,
)
from emmi_async.frames._layout import Output
from emmi_async.frames._seen import SeenHashes
from emmi_async.models import AnalysisSpec

__all__ = ["ResultBook", "TableOperation", "TablePayload", "TableSource", "status_of"]

_ROW_PATH = ("data", "projections", "projected_emissions")


def status_of(error: Exception) -> str:
    """The ``status`` column for an entity that failed with ``error``: ``invalid`` (bad
    input, never sent), ``rejected`` (the API refused it; a rerun would too) or ``error``
    (transient, deadline, an aborted run)."""
    if isinstance(error, (ValueError, TypeError)) and (
        isinstance(error, EntityValidationError) or not isinstance(error, EmmiError)
    ):
        return "invalid"
    if is_permanent(error):
        return "rejected"
    return "error"


class TablePayload:
    """A chunk's parsed results (see :func:`parse_results`) and, when the ``extra``
    column needs it, the body itself."""

    __slots__ = ("body", "parsed")

    def __init__(self, parsed: pl.Series, body: bytes | None) -> None:
        self.parsed = parsed
        self.body = body


class TableOperation:
    """An analysis endpoint for the table path: chunks of JSON bytes out, columns in."""

    def __init__(self, spec: AnalysisSpec[Any, Any], output: Output, *, keep_bodies: bool) -> None:
        self.spec = spec
        self.name = spec.name
        self.max_chunk = spec.max_entities
        self.output = output
        self.keep_bodies = keep_bodies

    def prepare(self, item: Any, index: int) -> Any:
        """An entity dict checked by the object path's rules: its JSON bytes."""
        return self.spec.prepare_json(item, index)

    def identifier(self, item: Any) -> str | None:
        info = item.get("entity_info") if isinstance(item, Mapping) else None
        value = info.get("identifier") if isinstance(info, Mapping) else None
        return value if isinstance(value, str) else None

    def sent_bytes(self, prepared: Any) -> bytes:
        assert isinstance(prepared, bytes)
        return prepared

    def encode(self, prepared: Sequence[Any]) -> bytes | None:
        # One join of three parts: b"[" + ... + b"]" copies the ~100 KB body twice more
        # (a small saving: within the noise of a run).
        return b"".join((b"[", b",".join(prepared), b"]"))

    async def fetch(
        self, client: BaseClient, items: Sequence[Any], body: bytes | None
    ) -> APIResponse:
        return await post_chunk(client, self.name, body, len(items))

    def decode(self, response: APIResponse, count: int) -> TablePayload:
        body = response.data
        assert isinstance(body, bytes)
        what = f"{self.name} (request id {response.request_id})"
        parsed = parse_results(body, count, self.output, what)
        return TablePayload(parsed, body if self.keep_bodies else None)

    def results_in(self, body: Any) -> list[Any]:
        return analysis_results(body)

    def result_from_json(self, data: Any) -> Any:
        return data


async def _iterate(frames: Iterator[pl.DataFrame]) -> AsyncIterator[pl.DataFrame]:
    for frame in frames:
        yield frame


class _Frame:
    """The rows and years of each entity of one input frame (list columns, by position),
    kept until every entity of the frame is settled."""

    __slots__ = ("base", "open", "rows")

    def __init__(self, base: int, rows: pl.DataFrame) -> None:
        self.base = base
        self.open = rows.height
        self.rows = rows


class TableSource:
    """A run's input as portfolio frames (polars), each checked and encoded by columns.

    Entity indexes run on across frames. An identifier met in an earlier frame is not
    sent again: that entity fails (``invalid``) with a message saying so.
    """

    def __init__(
        self,
        frames: Iterator[pl.DataFrame] | AsyncIterator[pl.DataFrame],
        operation: TableOperation,
        rules: EndpointRules,
        options: Mapping[str, Any],
        attribution: str | None,
        book: ResultBook,
    ) -> None:
        self._frames = frames
        self._operation = operation
        self._rules = rules
        self._options = dict(options)
        self._attribution = attribution
        self._book = book
        self._seen = SeenHashes()
        """64-bit hashes of the identifiers of earlier frames (a stream's repeat check):
        8 bytes per entity, a million entities in 8 MB."""

    def units(self) -> Iterator[Any] | AsyncIterator[Any]:
        return self._joined()

    async def _joined(self) -> AsyncIterator[pl.DataFrame]:
        """The input frames, numbered by row across the stream. When a frame ends with
        the rows of an identifier that it has nowhere else, those rows are held back and
        put before the next frame: an entity whose rows run across a frame boundary (a
        Parquet batch, say) stays one entity, and entities keep the order of their first
        rows."""
        carry: pl.DataFrame | None = None
        offset = 0
        frames = self._frames
        async for given in frames if isinstance(frames, AsyncIterator) else _iterate(frames):
            frame = given.with_columns(
                pl.int_range(offset, offset + given.height, dtype=pl.Int64).alias(STREAM_ROW)
            )
            offset += given.height
            if carry is not None:
                frame = pl.concat([carry, frame], how="diagonal_relaxed")
            if frame.height == 0 or "identifier" not in frame.columns:
                carry = None
                yield frame
                continue
            last = frame["identifier"][-1]
            if last is None:
                carry = None
                yield frame
                continue
            held = (frame["identifier"] == last).fill_null(False)
            count = int(held.sum())
            if not held.tail(count).all():  # it stands earlier in the frame too
                carry = None
                yield frame
                continue
            carry = frame.tail(count)
            if count < frame.height:
                yield frame.head(frame.height - count)
        if carry is not None and carry.height:
            yield carry

    def admit(self, run: Run, frame: pl.DataFrame) -> None:
        prepared = prepare_frame(
            frame, self._rules, options=self._options, attribution=self._attribution
        )
        entities = prepared.entities
        count = entities.height
        self._book.add_frame(run.next_index, entities.select("rows", "years"))
        identifiers = entities["identifier"].to_list()
        bodies = entities["body"].to_list()
        groups = entities["group"].to_list()
        hashes = entities["identifier"].hash()
        repeated = self._seen.repeated(hashes).to_list() if len(self._seen) else [False] * count
        self._seen.add(hashes)
        flagged = bool(entities["flagged"].any())
        if not flagged and not any(repeated) and self._one_group(run, groups):
            run.add_many(identifiers, bodies, groups[0] if groups else None)
            return
        flagged_rows = _rows_of_flagged(prepared) if flagged else {}
        for position in range(count):
            index = run.take_index()
            identifier = identifiers[position]
            body = bodies[position]
            group = groups[position]
            if repeated[position] and identifier is not None:
                message = (
                    f"identifier {identifier!r} came in an earlier frame too: rows of one "
                    "entity must be in one frame (this part was not sent)"
                )
                self._book.message(index, message)
                run.settle_early(index, identifier, ValueError(message))
                continue
            if body is None:
                body = self._look_closer(run, index, identifier, flagged_rows[position])
                if body is None:
                    continue
            try:
                run.client_for(group)
            except ValueError as exc:
                self._book.message(index, f"{self._attribution}: {exc}")
                run.settle_early(index, identifier, exc)
                continue
            run.add(index, identifier, body, group)

    def _one_group(self, run: Run, groups: Sequence[str | None]) -> bool:
        """Whether every entity is in the same group, one the run can send for."""
        if not groups:
            return True
        first = groups[0]
        if groups.count(first) != len(groups):
            return False
        try:
            run.client_for(first)
        except ValueError:
            return False
        return True

    def _look_closer(
        self, run: Run, index: int, identifier: str | None, rows: list[dict[str, Any]]
    ) -> bytes | None:
        """A flagged entity through the object path's rules: its JSON, or ``None`` after
        settling it as invalid with the messages (naming rows)."""
        numbers = [row.pop("__row") for row in rows]
        problems: list[str] = []
        if identifier is None:
            problems.append(f"row {numbers[0]}: identifier: required")
        if self._rules.projected_field is None:
            problems.extend(
                f"row {number}: projected: {self._rules.name} takes no projected years"
                for number, row in zip(numbers, rows, strict=True)
                if _projected(row)
            )
        attribution = self._attribution
        if attribution is not None:
            ids = {str(row.get(attribution)) for row in rows if row.get(attribution) is not None}
            if len(ids) > 1:
                problems.append(
                    f"row {numbers[0]}: {attribution}: the rows of one entity name "
                    f"{len(ids)} different ids"
                )
        entity = entity_from_rows(rows, identifier, self._rules, self._options)
        error: Exception | None = None
        body: bytes | None = None
        try:
            body = self._operation.prepare(entity, index)
        except EntityValidationError as exc:
            error = exc
            problems.extend(
                _name_row(problem.field, problem.message, numbers, rows, self._rules)
                for problem in exc.problems
            )
        except (ValueError, TypeError) as exc:
            error = exc
            problems.append(f"row {numbers[0]}: {exc}")
        if not problems:
            return body
        message = "; ".join(problems)
        self._book.message(index, message)
        run.settle_early(index, identifier, error or ValueError(message))
        return None

    def late(self, run: Run, frame: pl.DataFrame, error: BatchDeadlineError) -> None:
        prepared = prepare_frame(
            frame, self._rules, options=self._options, attribution=self._attribution
        )
        entities = prepared.entities
        self._book.add_frame(run.next_index, entities.select("rows", "years"))
        for identifier in entities["identifier"].to_list():
            run.settle_early(run.take_index(), identifier, error)


def _projected(row: Mapping[str, Any]) -> bool:
    value = row.get("projected")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "t")
    return bool(value)


def _rows_of_flagged(prepared: PreparedFrame) -> dict[int, list[dict[str, Any]]]:
    """The rows of each flagged entity (by position) as plain values, with ``__row``: the
    value as the column checks read it, or as given where it did not read."""
    flagged = prepared.entities.with_row_index("entity").filter(pl.col("flagged"))
    raw = prepared.raw
    typed = prepared.typed
    shared = [name for name in raw.columns if name in typed.columns and name != "row"]
    rows: dict[int, list[dict[str, Any]]] = {}
    for entity, numbers in zip(flagged["entity"], flagged["rows"], strict=True):
        for number in numbers:
            given = raw.row(number, named=True)
            read = typed.row(number, named=True)
            row = dict(given)
            for name in shared:
                if read[name] is not None:
                    row[name] = read[name]
            row["__row"] = row.pop(STREAM_ROW, number)
            rows.setdefault(entity, []).append(row)
    return rows


def _name_row(
    path: str,
    message: str,
    numbers: Sequence[int],
    rows: Sequence[Mapping[str, Any]],
    rules: EndpointRules,
) -> str:
    """A problem at JSON ``path`` of an entity as ``row N: path: message``."""
    number = numbers[0]
    for name in _ROW_PATH:
        prefix = f"{name}["
        if path.startswith(prefix):
            end = path.find("]")
            position = int(path[len(prefix) : end]) if end > 0 else 0
            wanted = name != "data"
            matches = [n for n, row in zip(numbers, rows, strict=True) if _projected(row) == wanted]
            if position < len(matches):
                number = matches[position]
            break
    return f"row {number}: {path}: {message}"


class ResultBook:
    """Turns settled parts into result rows, and keeps what that needs: the rows of every
    frame with entities still open, messages for entities failed by the table path itself,
    and parsed results waiting to be flattened in bulk."""

    def __init__(self, operation: TableOperation, *, extra: bool, flush: int) -> None:
        self._operation = operation
        self._extra = extra
        self._flush = flush
        """How many entities' parsed results wait to be flattened together (polars' cost
        per call is then paid once for many chunks)."""
        self._frames: list[_Frame] = []
        self._bases: list[int] = []
        self._messages: dict[int, str] = {}
        self._columns = operation.output.all_columns
        if extra:
            self._columns["extra"] = pl.String()
        self._parsed: list[pl.Series] = []
        self._indexes: list[list[int]] = []
        self._identifiers: list[list[str | None]] = []
        self._texts: list[str | None] = []
        self._waiting = 0
        self._ready: list[pl.DataFrame] = []

    def add_frame(self, base: int, rows: pl.DataFrame) -> None:
        """Keep the ``rows`` and ``years`` of the entities ``base``, ``base + 1``..."""
        self._frames.append(_Frame(base, rows))
        self._bases.append(base)

    def message(self, index: int, text: str) -> None:
        """Keep the message of an entity the table path failed itself (a bad row...)."""
        self._messages[index] = text

    def message_of(self, index: int) -> str | None:
        """The message kept for entity ``index`` by :meth:`message`, if any."""
        return self._messages.get(index)

    def add(self, parts: Sequence[Settled]) -> None:
        """Take settled parts; their rows come out of :meth:`take`."""
        for part in parts:
            if part.error is None:
                self._add_ok(part)
            else:
                self._ready.append(self._failed_rows(part))
            self._close(part.indexes)

    def take(self, *, final: bool = False) -> pl.DataFrame | None:
        """The rows ready now (``final``: everything), or ``None``: ``entity`` (input
        index) and ``seq`` (order within it) first, then the result columns."""
        if self._waiting and (final or self._waiting >= self._flush):
            self._ready.append(self._flatten())
        if not self._ready:
            return None
        ready, self._ready = self._ready, []
        return ready[0] if len(ready) == 1 else pl.concat(ready, how="vertical")

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema={"entity": pl.Int64(), "seq": pl.Int64(), **self._columns})

    def _add_ok(self, part: Settled) -> None:
        payload = part.payload
        if isinstance(payload, Journaled):
            body = orjson.dumps({"results": list(payload)})
            what = f"{self._operation.name} (journal)"
            parsed = parse_results(body, len(part.indexes), self._operation.output, what)
            payload = TablePayload(parsed, body)
        assert isinstance(payload, TablePayload)
        self._parsed.append(payload.parsed)
        self._indexes.append(part.indexes)
        self._identifiers.append(part.identifiers)
        self._waiting += len(part.indexes)
        if self._extra:
            self._texts.extend(
                extra_json(payload.body, self._operation.output) if payload.body else []
            )

    def _flatten(self) -> pl.DataFrame:
        """The waiting results as rows, in one polars query where ``extra`` is not asked
        for (inside a run, each query pays for waking polars' thread pool)."""
        plan = flatten_plan(
            self._parsed, self._indexes, self._identifiers, self._operation.output
        ).with_columns(pl.lit("ok").alias("status"), pl.lit(None, dtype=pl.String).alias("error"))
        if self._extra:
            frame = plan.collect()
            texts = self._texts if len(self._texts) == frame.height else [None] * frame.height
            plan = frame.with_columns(pl.Series("extra", texts, dtype=pl.String)).lazy()
        self._parsed, self._indexes, self._identifiers, self._texts = [], [], [], []
        self._waiting = 0
        return self._typed(plan).collect()

    def _failed_rows(self, part: Settled) -> pl.DataFrame:
        error = part.error
        assert error is not None
        status = status_of(error)
        default = " ".join(str(error).split()) or type(error).__name__
        rows: list[list[int]] = []
        years: list[list[int | None]] = []
        for index in part.indexes:
            frame = self._frame_of(index)
            position = index - frame.base
            rows.append(frame.rows["rows"][position].to_list())
            years.append(frame.rows["years"][position].to_list())
        entities = pl.DataFrame(
            {
                "entity": pl.Series(part.indexes, dtype=pl.Int64),
                "identifier": pl.Series(part.identifiers, dtype=pl.String),
                "error": [self._messages.pop(index, default) for index in part.indexes],
                "seq": pl.Series(rows, dtype=pl.List(pl.Int64)),
                "year": pl.Series(years, dtype=pl.List(pl.Int64)),
            }
        )
        exploded = (
            entities.lazy().explode("seq", "year").with_columns(pl.lit(status).alias("status"))
        )
        return self._typed(exploded).collect()

    def _typed(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        present = set(frame.collect_schema().names())
        return frame.select(
            pl.col("entity").cast(pl.Int64),
            pl.col("seq").cast(pl.Int64),
            *[
                (pl.col(name) if name in present else pl.lit(None)).cast(dtype).alias(name)
                for name, dtype in self._columns.items()
            ],
        )

    def _frame_of(self, index: int) -> _Frame:
        return self._frames[bisect.bisect_right(self._bases, index) - 1]

    def _close(self, indexes: Sequence[int]) -> None:
        """Count settled entities; forget a frame's rows once all of its are settled."""
        frames, bases = self._frames, self._bases
        frame: _Frame | None = None
        low = high = 0
        for index in indexes:
            if not low <= index < high:  # a part's indexes mostly share one frame
                position = bisect.bisect_right(bases, index) - 1
                frame = frames[position]
                low = frame.base
                high = bases[position + 1] if position + 1 < len(bases) else sys.maxsize
            assert frame is not None
            frame.open -= 1
        while self._frames and self._frames[0].open <= 0:
            self._frames.pop(0)
            self._bases.pop(0)
