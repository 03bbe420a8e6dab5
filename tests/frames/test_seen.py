"""SeenHashes answers exactly what a set of every earlier hash would, across merges."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emmi_async.frames import _seen
from emmi_async.frames._seen import SeenHashes

hashes = st.lists(st.integers(min_value=0, max_value=2**64 - 1) | st.integers(0, 40), max_size=30)


@settings(max_examples=200, deadline=None)
@given(frames=st.lists(hashes, max_size=12), merge_at=st.sampled_from([1, 3, 7, 65_536]))
def test_repeated_is_membership_in_every_earlier_frame(
    frames: list[list[int]], merge_at: int
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_seen, "MERGE_AT", merge_at)
        seen = SeenHashes()
        earlier: set[int] = set()
        for frame in frames:
            series = pl.Series(frame, dtype=pl.UInt64)
            assert seen.repeated(series).to_list() == [value in earlier for value in frame]
            seen.add(series)
            earlier.update(frame)
        assert len(seen) == sum(len(frame) for frame in frames)


def test_a_large_stream_stays_sorted_after_merges() -> None:
    seen = SeenHashes()
    for start in range(0, 200_000, 40_000):  # merges at 65,536 and again later
        seen.add(pl.Series(range(start, start + 40_000), dtype=pl.UInt64).reverse())
    probe = pl.Series([0, 199_999, 200_000, 2**63], dtype=pl.UInt64)
    assert seen.repeated(probe).to_list() == [True, True, False, False]
