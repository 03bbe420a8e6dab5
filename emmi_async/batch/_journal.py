"""The batch journal: a JSON Lines file of finished entities, so a run can resume.

The first line names the operation. Then one line per settled part of a chunk (a whole
chunk, unless the server made the runner split it): the input indexes, identifiers and
fingerprints (digests of what was sent) of its entities, and either the response body as
the server sent it (``body``: successes) or the permanent API error they share (``err``).
A body is written as it came, not encoded again: the journal costs the run one digest per
entity and one line per chunk.

Each chunk's lines are written, then flushed together, so after ``kill -9`` the file
holds whole lines plus at most one torn last line, which :meth:`Journal.open` cuts off.
Transient failures (timeouts, 5xx, deadline) are not recorded: a resumed run retries them.
Journals of format 1 (one line per entity) are still read.
"""

from __future__ import annotations

import bisect
import hashlib
import os
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import attrs
import httpx
import orjson

from emmi_async._exceptions import APIStatusError, JournalMismatchError, status_error_class

__all__ = [
    "Journal",
    "JournalMismatchError",
    "Recorded",
    "refusal_line",
    "results_line",
]

_FORMAT = 2
_BODY_KEY = b',"body":'
_HEAD_KEYS = {"i", "id", "fp"}
_PARSED_LINES = 8
_SHA256 = hashlib.sha256()


def _sha256_prefix(data: bytes) -> str:
    digest = _SHA256.copy()  # a copy costs less than a new hash object (OpenSSL's lookup)
    digest.update(data)
    return digest.hexdigest()[:16]


def _blake2b_8(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


_FINGERPRINTS: dict[int, Callable[[bytes], str]] = {1: _blake2b_8, 2: _sha256_prefix}
"""How each format digests what was sent for an entity (16 hex digits). Format 2 uses
SHA-256, which CPUs with SHA extensions compute in hardware: 2.0 against 3.2 µs per 1 KB
entity for BLAKE2b here (benchmarks/README.md, "The journal")."""


@attrs.frozen(slots=True)
class Recorded:
    """One finished entity as the journal holds it."""

    identifier: str | None
    fingerprint: str
    result: Any = None
    """The result as JSON, when it succeeded."""
    error: Any = None
    """``{"status", "message", "request_id", "body"}`` when the API refused it."""

    def rebuild_error(self, url: str) -> APIStatusError:
        """The API error of the original run: same class, status, message and request id."""
        error = self.error
        status = int(error["status"])
        response = httpx.Response(status, request=httpx.Request("POST", url))
        cls = status_error_class(status)
        return cls(
            str(error.get("message", "")),
            response=response,
            body=error.get("body"),
            request_id=error.get("request_id"),
        )


class Journal:
    """An open journal file: what earlier runs finished, and appending what this run does.

    Args:
        path: The journal file (created with its directory when missing).
        operation: The operation's name; a journal of another operation is refused.
        results_in: The results, in order, in a response body as parsed JSON (the
            operation's :meth:`~emmi_async.batch._operation.Operation.results_in`); it
            raises ``ValueError`` or ``TypeError`` for a body that holds none.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        operation: str,
        results_in: Callable[[Any], Sequence[Any]],
    ) -> None:
        self.path = Path(path)
        self.operation = operation
        self.results_in = results_in
        self.fingerprint: Callable[[bytes], str] = _FINGERPRINTS[_FORMAT]
        """The digest of what is sent for an entity, as this journal's format takes it."""
        self._file: IO[bytes] | None = None
        # Successes of format 2, by entity, sorted by index once loaded (equal indexes in
        # file order, the last one counting): the line (a body in the file) and the
        # position in it, and the fingerprint. Their results are read from the file when
        # an entity is resumed, so a journal of a million entities costs about 32 bytes
        # of memory per entity, not its parsed results (measured: benchmarks/README.md,
        # "The journal").
        self._indexes = array("q")
        self._lines = array("q")
        self._positions = array("q")
        self._fingerprints = array("Q")
        self._bodies: list[tuple[int, int, int]] = []  # (offset, length, entities) per line
        self._parsed: OrderedDict[int, Sequence[Any] | None] = OrderedDict()
        self._reader: IO[bytes] | None = None
        self._kept: dict[int, Recorded] = {}
        """Refusals and format-1 entities, held whole (they are few, or small)."""

    def open(self) -> None:
        """Read what is there (cutting off a torn last line), then open for appending."""
        if self.path.exists():
            self._load()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("ab")
        if self._file.tell() == 0:
            header = {"emmi_journal": _FORMAT, "operation": self.operation}
            self._file.write(orjson.dumps(header) + b"\n")
            self._file.flush()

    def _load(self) -> None:
        torn_at: int | None = None
        with self.path.open("rb") as file:
            first = file.readline()
            if not first.endswith(b"\n"):
                torn_at = 0
            else:
                self._check_header(first)
                offset = len(first)
                for line in file:
                    if not line.endswith(b"\n"):
                        torn_at = offset
                        break
                    self._read_line(line, offset)
                    offset += len(line)
        if torn_at is not None:
            with self.path.open("r+b") as file:  # a torn write from a killed run
                file.truncate(torn_at)
        order = sorted(range(len(self._indexes)), key=self._indexes.__getitem__)  # stable
        self._indexes = array("q", (self._indexes[k] for k in order))
        self._lines = array("q", (self._lines[k] for k in order))
        self._positions = array("q", (self._positions[k] for k in order))
        self._fingerprints = array("Q", (self._fingerprints[k] for k in order))

    def _check_header(self, line: bytes) -> None:
        header = orjson.loads(line)
        form = header.get("emmi_journal") if isinstance(header, dict) else None
        operation = header.get("operation") if isinstance(header, dict) else None
        if form not in _FINGERPRINTS or operation != self.operation:
            raise JournalMismatchError(
                f"{self.path} is a journal of {operation!r}, "
                f"not of {self.operation!r}: use another journal file"
            )
        self.fingerprint = _FINGERPRINTS[form]

    def _read_line(self, line: bytes, offset: int) -> None:
        """Take in one line that starts at ``offset`` in the file. A success of format 2 is
        read up to its body only (``{"i":[...],"id":[...],"fp":[...],"body":`` comes
        first, and no JSON string holds an unescaped quote); a line that cannot be read
        is passed over, and its entities are sent again."""
        head_end = line.find(_BODY_KEY)
        try:
            if head_end > 0 and self._read_head(line, head_end, offset):
                return
            self._keep(orjson.loads(line))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return

    def _read_head(self, line: bytes, head_end: int, offset: int) -> bool:
        """Take in a success of format 2 from its head alone; ``False`` when the line is
        not one (a refusal's error may hold a ``"body"`` key too)."""
        try:
            head = orjson.loads(line[:head_end] + b"}")
        except orjson.JSONDecodeError:
            return False
        if not isinstance(head, dict) or head.keys() != _HEAD_KEYS:
            return False
        indexes, fingerprints = head["i"], head["fp"]
        if not isinstance(indexes, list) or len(indexes) != len(fingerprints):
            raise ValueError("not a journal line")
        start = head_end + len(_BODY_KEY)
        length = len(line.rstrip(b"\r\n")) - 1 - start  # up to the closing brace
        self._add_body(offset + start, length, indexes, fingerprints)
        return True

    def _add_body(
        self, offset: int, length: int, indexes: list[Any], fingerprints: list[Any]
    ) -> None:
        digests = [int(fingerprint, 16) for fingerprint in fingerprints]  # hex, 64 bits
        if not all(type(index) is int for index in indexes):
            raise TypeError("not a journal line")
        line_number = len(self._bodies)
        self._bodies.append((offset, length, len(indexes)))
        self._indexes.extend(indexes)
        self._lines.extend([line_number] * len(indexes))
        self._positions.extend(range(len(indexes)))
        self._fingerprints.extend(digests)

    def _keep(self, item: dict[str, Any]) -> None:
        """A format-1 line (one entity) or a refusal (its entities share the error)."""
        indexes = item["i"]
        if isinstance(indexes, int):
            self._kept[indexes] = Recorded(
                identifier=item.get("id"),
                fingerprint=item["fp"],
                result=item.get("ok"),
                error=item.get("err"),
            )
            return
        identifiers, fingerprints, error = item["id"], item["fp"], item["err"]
        for index, identifier, fingerprint in zip(indexes, identifiers, fingerprints, strict=True):
            self._kept[index] = Recorded(identifier, fingerprint, error=error)

    def _find(self, index: int) -> int:
        """Where entity ``index`` is among the format-2 successes (the last one recorded),
        or -1."""
        position = bisect.bisect_right(self._indexes, index) - 1
        return position if position >= 0 and self._indexes[position] == index else -1

    def holds(self, index: int) -> bool:
        """Whether an earlier run recorded entity ``index``."""
        return index in self._kept or self._find(index) >= 0

    def recorded(
        self, index: int, fingerprint: str, identifier: str | None = None
    ) -> Recorded | None:
        """What an earlier run recorded for ``index``, after checking it is the same entity
        (``fingerprint``: :attr:`fingerprint` of what this run would send for it;
        ``identifier`` names it in the error). ``None`` when nothing usable was recorded
        (a body that cannot be read back: the entity is sent again)."""
        found = self._find(index)
        if found >= 0:
            if self._fingerprints[found] != int(fingerprint, 16):
                raise self._mismatch(index, identifier)
            results = self._results_of(self._lines[found])
            if results is None:
                return None
            return Recorded(identifier, fingerprint, result=results[self._positions[found]])
        entry = self._kept.get(index)
        if entry is not None and entry.fingerprint != fingerprint:
            raise self._mismatch(index, identifier if identifier is not None else entry.identifier)
        return entry

    def _mismatch(self, index: int, identifier: str | None) -> JournalMismatchError:
        return JournalMismatchError(
            f"entity {index} ({identifier!r}) differs from what {self.path} "
            "recorded: the input changed since that run; use a new journal file"
        )

    def _results_of(self, line_number: int) -> Sequence[Any] | None:
        """The results of one success line, read from the file (the last few lines read
        are kept: a resumed run asks for a line's entities one after the other)."""
        parsed = self._parsed
        if line_number in parsed:
            parsed.move_to_end(line_number)
            return parsed[line_number]
        offset, length, count = self._bodies[line_number]
        if self._reader is None:
            self._reader = self.path.open("rb")
        self._reader.seek(offset)
        results: Sequence[Any] | None
        try:
            results = self.results_in(orjson.loads(self._reader.read(length)))
        except (orjson.JSONDecodeError, TypeError, ValueError):
            results = None
        if results is not None and len(results) != count:
            results = None
        parsed[line_number] = results
        if len(parsed) > _PARSED_LINES:
            parsed.popitem(last=False)
        return results

    def records_any(self, start: int, stop: int) -> bool:
        """Whether an earlier run recorded any of the entities ``start`` to ``stop - 1``."""
        first = bisect.bisect_left(self._indexes, start)
        if first < len(self._indexes) and self._indexes[first] < stop:
            return True
        kept = self._kept
        return bool(kept) and any(index in kept for index in range(start, stop))

    def write(self, pieces: Iterable[bytes]) -> None:
        """Append the pieces of lines of :func:`results_line` and :func:`refusal_line`,
        then flush: whole lines reach the file together. A body is written from where it
        is, not copied into the line."""
        assert self._file is not None, "journal is not open"
        write = self._file.write
        wrote = False
        for piece in pieces:
            write(piece)
            wrote = True
        if wrote:
            self._file.flush()

    def close(self) -> None:
        for file in (self._file, self._reader):
            if file is not None:
                file.close()
        self._file = self._reader = None
        self._parsed.clear()


def results_line(
    indexes: Sequence[int],
    identifiers: Sequence[str | None],
    fingerprints: Sequence[str],
    body: bytes,
) -> list[bytes]:
    """The pieces of the line of entities that succeeded together: ``body`` is the
    response body that answered them, written as it is when it is one line (a body with
    line breaks is made compact first; one that is not strict JSON is not recorded: a
    resumed run sends those entities again)."""
    if b"\n" in body or b"\r" in body:
        try:
            body = orjson.dumps(orjson.loads(body))
        except orjson.JSONDecodeError:
            return []
    return [_head(indexes, identifiers, fingerprints) + _BODY_KEY, body, b"}\n"]


def refusal_line(
    indexes: Sequence[int],
    identifiers: Sequence[str | None],
    fingerprints: Sequence[str],
    error: APIStatusError,
) -> list[bytes]:
    """The line of entities the API refused together, permanently, with ``error``."""
    refusal = {
        "status": error.status_code,
        "message": str(error),
        "request_id": error.request_id,
        "body": error.body,
    }
    return [_head(indexes, identifiers, fingerprints) + b',"err":', orjson.dumps(refusal), b"}\n"]


def _head(
    indexes: Sequence[int], identifiers: Sequence[str | None], fingerprints: Sequence[str]
) -> bytes:
    """The start of a line, open for its last key: ``{"i":[...],"id":[...],"fp":[...]``
    (what :meth:`Journal.open` reads of a success without its body)."""
    return orjson.dumps({"i": indexes, "id": identifiers, "fp": fingerprints})[:-1]
