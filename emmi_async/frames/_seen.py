"""The identifiers a stream of frames has sent, as 64-bit hashes: is a frame's identifier
one that an earlier frame had?

Checking a frame against every earlier hash with ``is_in`` builds a hash table of all of
them each time: 105 ms per 3,300-entity frame once a million entities are seen (15 µs per
entity over a million-entity stream, and a transient table of tens of MB). Here the hashes
live in one sorted series, searched with ``search_sorted`` (2.4 ms per frame at a million),
plus a short list of recent frames' hashes checked with ``is_in``; the recent ones are
merged into the sorted series whenever they reach :data:`MERGE_AT` (an O(n) merge of
sorted runs, about fifteen times over a million entities). Memory: 8 bytes per entity.
"""

from __future__ import annotations

import polars as pl

__all__ = ["MERGE_AT", "SeenHashes"]

MERGE_AT = 65_536
"""Recent hashes kept aside (and checked by a hash table) before a merge."""


class SeenHashes:
    """Hashes of every identifier added so far."""

    def __init__(self) -> None:
        self._sorted = pl.Series("hash", [], dtype=pl.UInt64)
        self._recent: list[pl.Series] = []
        self._recent_count = 0

    def __len__(self) -> int:
        return self._sorted.len() + self._recent_count

    def repeated(self, hashes: pl.Series) -> pl.Series:
        """For each of ``hashes`` (``UInt64``), whether it was added before (Boolean)."""
        found = pl.Series("repeated", [False] * hashes.len(), dtype=pl.Boolean)
        size = self._sorted.len()
        if size:
            at = self._sorted.search_sorted(hashes, side="left")
            hit = self._sorted.gather(at.clip(upper_bound=size - 1)) == hashes
            found = found | ((at < size) & hit)
        if self._recent:
            recent = pl.concat(self._recent) if len(self._recent) > 1 else self._recent[0]
            found = found | hashes.is_in(recent.implode())
        return found.fill_null(False).alias("repeated")

    def add(self, hashes: pl.Series) -> None:
        """Remember ``hashes`` (``UInt64``)."""
        if not hashes.len():
            return
        self._recent.append(hashes.cast(pl.UInt64))
        self._recent_count += hashes.len()
        if self._recent_count >= MERGE_AT:
            self._merge()

    def _merge(self) -> None:
        recent = pl.concat(self._recent).sort().to_frame("hash")
        merged = self._sorted.to_frame("hash").merge_sorted(recent, key="hash")
        self._sorted = merged.to_series().rechunk()
        self._recent, self._recent_count = [], 0
