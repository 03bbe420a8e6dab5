"""Entities never straddle partitions: checked (one pass over identifiers) or arranged."""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["Partitioning", "StraddlingEntityError", "arrange", "check"]

Partitioning = Literal["check", "arrange", "trust"]

_SHOWN = 5


class StraddlingEntityError(ValueError):
    """Rows of one identifier stand in more than one partition.

    Attributes:
        identifiers: some of the identifiers found in more than one partition.
    """

    def __init__(self, identifiers: list[str]) -> None:
        self.identifiers = identifiers
        shown = ", ".join(repr(identifier) for identifier in identifiers)
        which = f"entity {shown} has" if len(identifiers) == 1 else f"entities {shown} have"
        super().__init__(
            f"{which} rows in more than one partition: each partition is run "
            "on its own, so its years would be sent as separate entities. Partition by "
            "identifier (batch(..., partitioning='arrange') shuffles by it)"
        )


def _unique(identifiers: Any) -> Any:
    import pandas as pd

    return pd.Series(identifiers.dropna().unique(), dtype=identifiers.dtype, name="identifier")


def check(frame: Any) -> None:
    """Raise :class:`StraddlingEntityError` naming identifiers found in two partitions.

    Computes at once, reading the ``identifier`` column once (a column projection for
    Parquet input): each partition's distinct identifiers, counted across partitions.
    A single partition is trivially fine and costs nothing.
    """
    if frame.npartitions <= 1:
        return
    column = frame["identifier"]
    distinct = column.map_partitions(_unique, meta=column._meta)
    counts = distinct.value_counts(split_out=1)
    shared = counts[counts > 1].head(_SHOWN, npartitions=-1, compute=True)
    if len(shared):
        raise StraddlingEntityError([str(identifier) for identifier in shared.index])


def arrange(frame: Any) -> Any:
    """``frame`` shuffled so that all rows of an identifier share one partition (lazy)."""
    return frame.shuffle("identifier")
