"""SessionArrays: flat items plus offsets, built from a frame, subsets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movielens_sbr.data.session_arrays import SessionArrays


def arrays_of(sessions: list[list[int]]) -> SessionArrays:
    lengths = [len(session) for session in sessions]
    items = np.array([item for session in sessions for item in session], dtype=np.int32)
    return SessionArrays(items, np.r_[0, np.cumsum(lengths)].astype(np.int64))


def as_lists(arrays: SessionArrays) -> list[list[int]]:
    return [
        arrays.items[arrays.offsets[s] : arrays.offsets[s + 1]].tolist()
        for s in range(arrays.n_sessions)
    ]


# Sessions of lengths 3, 2, 4, 1; item ids tell session and position apart.
HAND = [[10, 11, 12], [20, 21], [30, 31, 32, 33], [40]]


def test_from_frame_builds_items_and_offsets():
    frame = pd.DataFrame(
        {
            "session_id": np.array([5, 5, 7, 9, 9, 9], dtype=np.int64),
            "item_idx": np.array([3, 1, 4, 1, 5, 9], dtype=np.int32),
            "item": np.array([30, 10, 40, 10, 50, 90], dtype=np.int32),
        }
    )
    arrays = SessionArrays.from_frame(frame)

    assert arrays.items.tolist() == [3, 1, 4, 1, 5, 9]
    assert arrays.items.dtype == np.int32
    assert arrays.offsets.tolist() == [0, 2, 3, 6]
    assert arrays.offsets.dtype == np.int64
    assert arrays.n_sessions == 3
    assert arrays.lengths.tolist() == [2, 1, 3]
    assert SessionArrays.from_frame(frame, item_column="item").items.tolist() == [
        30,
        10,
        40,
        10,
        50,
        90,
    ]


def test_from_frame_of_empty_frame_has_no_sessions():
    frame = pd.DataFrame(
        {"session_id": np.array([], dtype=np.int64), "item_idx": np.array([], dtype=np.int32)}
    )
    arrays = SessionArrays.from_frame(frame)
    assert arrays.n_sessions == 0
    assert arrays.offsets.tolist() == [0]
    assert len(arrays.items) == 0


def test_subset_reorders_whole_sessions():
    arrays = arrays_of(HAND)
    subset = arrays.subset(np.array([2, 0, 3]))

    assert as_lists(subset) == [[30, 31, 32, 33], [10, 11, 12], [40]]
    assert subset.offsets.tolist() == [0, 4, 7, 8]
    assert as_lists(arrays.subset(np.array([1, 1]))) == [[20, 21], [20, 21]]
    assert as_lists(arrays) == HAND  # original untouched
