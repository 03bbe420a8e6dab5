"""The batch journal: a JSON Lines file of finished entities, so a run can resume.

The first line names the operation. Then one line per settled part of a chunk (a whole
chunk, unless the server made the runner split it): the input indexes, identifiers and
fingerprints (digests of what was sent) of its entities, and either the response body as
the server sent it (``body``: successes) or the permanent API error they share (``err``).
A body is written as it came, not encoded again: the journal costs the run one digest per
entity and one line per chunk.

Each chunk's lines go out in one ``write`` and are flushed, so after ``kill -9`` the file
holds whole chunks plus at most one torn line, which :meth:`Journal.open` cuts off.
Transient failures (timeouts, 5xx, deadline) are not recorded: a resumed run retries them.
Journals of format 1 (one line per entity) are still read.
"""

from __future__ import annotations

import hashlib
import os
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
_SHA256 = hashlib.sha256()


def _sha256_prefix(data: bytes) -> str:
    digest = _SHA256.copy()  # a copy costs less than a new hash object (OpenSSL's lookup)
    digest.update(data)
    return digest.hexdigest()[:16]


def _blake2b_8(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


_FINGERPRINTS: dict[int, Callable[[bytes], str]] = {1: _blake2b_8, 2: _sha256_prefix}
"""How each format digests what was sent for an entity (16 hex digits). Format 2 uses
SHA-256, which this machine's CPUs compute in hardware: 1.6 against 3.3 µs per 1 KB
entity for BLAKE2b (benchmarks/README.md, "The journal")."""


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
        self.done: dict[int, Recorded] = {}
        self._file: IO[bytes] | None = None

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
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):
            with self.path.open("r+b") as file:  # a torn write from a killed run
                file.truncate(keep)
        lines = data[:keep].splitlines()
        if not lines:
            return
        header = orjson.loads(lines[0])
        form = header.get("emmi_journal")
        if form not in _FINGERPRINTS or header.get("operation") != self.operation:
            raise JournalMismatchError(
                f"{self.path} is a journal of {header.get('operation')!r}, "
                f"not of {self.operation!r}: use another journal file"
            )
        self.fingerprint = _FINGERPRINTS[form]
        for line in lines[1:]:
            self._read_line(line)

    def _read_line(self, line: bytes) -> None:
        """Take in one line; a line that cannot be read (a body the server sent that is not
        strict JSON) is passed over, and its entities are sent again."""
        try:
            item = orjson.loads(line)
            indexes = item["i"]
            if isinstance(indexes, int):  # format 1: one entity
                self.done[indexes] = Recorded(
                    identifier=item.get("id"),
                    fingerprint=item["fp"],
                    result=item.get("ok"),
                    error=item.get("err"),
                )
                return
            identifiers, fingerprints = item["id"], item["fp"]
            if "body" in item:
                results = self.results_in(item["body"])
                if not len(results) == len(indexes) == len(identifiers) == len(fingerprints):
                    return
                for index, identifier, fingerprint, result in zip(
                    indexes, identifiers, fingerprints, results, strict=True
                ):
                    self.done[index] = Recorded(identifier, fingerprint, result=result)
            else:
                error = item["err"]
                for index, identifier, fingerprint in zip(
                    indexes, identifiers, fingerprints, strict=True
                ):
                    self.done[index] = Recorded(identifier, fingerprint, error=error)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return

    def holds(self, index: int) -> bool:
        """Whether an earlier run recorded entity ``index``."""
        return index in self.done

    def recorded(self, index: int, fingerprint: str) -> Recorded | None:
        """What an earlier run recorded for ``index``, after checking it is the same entity."""
        entry = self.done.get(index)
        if entry is not None and entry.fingerprint != fingerprint:
            raise JournalMismatchError(
                f"entity {index} ({entry.identifier!r}) differs from what {self.path} "
                "recorded: the input changed since that run; use a new journal file"
            )
        return entry

    def records_any(self, start: int, stop: int) -> bool:
        """Whether an earlier run recorded any of the entities ``start`` to ``stop - 1``."""
        done = self.done
        if not done:
            return False
        return any(index in done for index in range(start, stop))

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
        if self._file is not None:
            self._file.close()
            self._file = None


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
    head = orjson.dumps({"i": indexes, "id": identifiers, "fp": fingerprints})
    return [head[:-1] + b',"body":', body, b"}\n"]


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
    item = {"i": indexes, "id": identifiers, "fp": fingerprints, "err": refusal}
    return [orjson.dumps(item) + b"\n"]
