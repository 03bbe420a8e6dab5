"""The batch journal: a JSON Lines file of finished entities, so a run can resume.

The first line names the operation; then one line per finished entity: its index,
identifier, a fingerprint of what was sent, and the result or the permanent API error.
Each chunk's lines go out in one ``write`` and are flushed, so after ``kill -9`` the file
holds whole chunks plus at most one torn line, which :meth:`Journal.open` cuts off.
Transient failures (timeouts, 5xx, deadline) are not recorded: a resumed run retries them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import attrs
import httpx
import orjson

from emmi_async._exceptions import APIStatusError, JournalMismatchError, status_error_class

__all__ = ["Journal", "JournalMismatchError", "Recorded"]

_FORMAT = 1


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
    """An open journal file: what earlier runs finished, and appending what this run does."""

    def __init__(self, path: str | os.PathLike[str], operation: str) -> None:
        self.path = Path(path)
        self.operation = operation
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
        if header.get("emmi_journal") != _FORMAT or header.get("operation") != self.operation:
            raise JournalMismatchError(
                f"{self.path} is a journal of {header.get('operation')!r}, "
                f"not of {self.operation!r}: use another journal file"
            )
        for line in lines[1:]:
            item = orjson.loads(line)
            self.done[item["i"]] = Recorded(
                identifier=item.get("id"),
                fingerprint=item["fp"],
                result=item.get("ok"),
                error=item.get("err"),
            )

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

    def write(self, lines: Iterable[bytes]) -> None:
        """Append finished entities (one ``write``, flushed)."""
        assert self._file is not None, "journal is not open"
        payload = b"".join(lines)
        if payload:
            self._file.write(payload)
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def journal_line(
    index: int,
    identifier: str | None,
    fingerprint: str,
    result: Any,
    error: APIStatusError | None,
) -> bytes:
    """One journal line for a success (``result``, as JSON) or a permanent API ``error``."""
    item: dict[str, Any] = {"i": index, "id": identifier, "fp": fingerprint}
    if error is None:
        item["ok"] = result
    else:
        item["err"] = {
            "status": error.status_code,
            "message": str(error),
            "request_id": error.request_id,
            "body": error.body,
        }
    return orjson.dumps(item) + b"\n"
