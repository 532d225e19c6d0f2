"""SessionArrays and the index arithmetic beside it, on hand examples and random sessions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from movielens_sbr.data.session_arrays import (
    SessionArrays,
    longer_than,
    position_in_segment,
    segment_of_each,
    top_k,
)


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
    arrays = SessionArrays.from_sequences(HAND)
    subset = arrays.subset(np.array([2, 0, 3]))

    assert as_lists(subset) == [[30, 31, 32, 33], [10, 11, 12], [40]]
    assert subset.offsets.tolist() == [0, 4, 7, 8]
    assert as_lists(arrays.subset(np.array([1, 1]))) == [[20, 21], [20, 21]]
    assert as_lists(arrays) == HAND  # original untouched


def test_from_sequences_keeps_empty_sessions():
    arrays = SessionArrays.from_sequences([[5, 6], [], np.array([7])])
    assert arrays.items.tolist() == [5, 6, 7]
    assert arrays.items.dtype == np.int32
    assert arrays.offsets.tolist() == [0, 2, 2, 3]
    assert arrays.offsets.dtype == np.int64
    empty = SessionArrays.from_sequences([])
    assert empty.n_sessions == 0
    assert empty.offsets.tolist() == [0]


def test_session_and_position_of_each_event():
    arrays = SessionArrays.from_sequences(HAND)
    assert arrays.session_of_event().tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]
    assert arrays.position_of_event().tolist() == [0, 1, 2, 0, 1, 0, 1, 2, 3, 0]
    assert segment_of_each(np.array([0, 2, 0, 1])).tolist() == [1, 1, 3]
    assert position_in_segment(np.array([0, 2, 0, 1])).tolist() == [0, 1, 0]


def test_longest_first_is_stable_and_drops_short_sessions():
    arrays = SessionArrays.from_sequences([[1], [2, 3], [4, 5, 6], [7, 8], []])
    assert arrays.longest_first().tolist() == [2, 1, 3, 0, 4]
    assert arrays.longest_first(min_length=2).tolist() == [2, 1, 3]


def test_padded_pads_with_minus_one():
    matrix = SessionArrays.from_sequences(HAND).padded(np.array([2, 0, 3]))
    assert matrix.dtype == np.int32
    assert matrix.tolist() == [[30, 31, 32, 33], [10, 11, 12, -1], [40, -1, -1, -1]]


def test_longer_than_counts_the_running_sessions_at_each_step():
    assert longer_than(np.array([4, 4, 2, 1])).tolist() == [4, 3, 2, 2, 0]
    assert longer_than(np.array([], dtype=np.int64)).tolist() == [0]


def test_top_k_equals_a_stable_full_sort_with_ties_and_exclusions():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, (50, 30)).astype(np.float32)  # many ties
    scores[rng.random(scores.shape) < 0.3] = -np.inf
    scores[0] = -np.inf  # a row with nothing left
    for k in (1, 5, 29, 30, 40):
        order, values = top_k(scores, k)
        expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(order, expected)
        np.testing.assert_array_equal(values, np.take_along_axis(scores, expected, axis=1))


# ---------------------------------------------------------------------------------------------
# Properties on random sessions (empty ones included)

# No deadline: these properties test results, and a per-example deadline would fail the run
# whenever the machine stalls for a moment.
FAST = settings(max_examples=60, deadline=None, derandomize=True)
session_lists = st.lists(st.lists(st.integers(0, 9), max_size=7), max_size=12)


@FAST
@given(session_lists)
def test_event_indices_locate_every_item(sessions):
    arrays = SessionArrays.from_sequences(sessions)
    session, position = arrays.session_of_event(), arrays.position_of_event()
    assert as_lists(arrays) == sessions
    assert [sessions[s][p] for s, p in zip(session, position, strict=True)] == (
        arrays.items.tolist()
    )


@FAST
@given(session_lists, st.randoms(use_true_random=False))
def test_padded_rows_are_the_sessions_then_minus_one(sessions, random):
    arrays = SessionArrays.from_sequences(sessions)
    order = np.array(random.sample(range(len(sessions)), len(sessions)), dtype=np.int64)
    if not len(order):
        return
    matrix = arrays.padded(order)
    assert matrix.shape == (len(order), max(len(sessions[s]) for s in order))
    for row, s in zip(matrix.tolist(), order, strict=True):
        assert row == sessions[s] + [-1] * (matrix.shape[1] - len(sessions[s]))
    assert as_lists(arrays.subset(order)) == [sessions[s] for s in order]


@FAST
@given(session_lists, st.integers(0, 3))
def test_longest_first_and_the_running_prefix(sessions, min_length):
    arrays = SessionArrays.from_sequences(sessions)
    order = arrays.longest_first(min_length)
    lengths = arrays.lengths[order]
    assert sorted(order.tolist()) == [s for s, x in enumerate(sessions) if len(x) >= min_length]
    assert (np.diff(lengths) <= 0).all()
    running = longer_than(lengths)
    assert running.tolist() == [int((lengths > t).sum()) for t in range(len(running))]
    assert running[-1] == 0


@FAST
@given(
    st.lists(st.lists(st.sampled_from([0.0, 1.0, 2.5, -np.inf]), min_size=6, max_size=6)),
    st.integers(1, 8),
)
def test_top_k_property(rows, k):
    scores = np.array(rows, dtype=np.float32).reshape(len(rows), 6)
    order, values = top_k(scores, k)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(order, expected)
    np.testing.assert_array_equal(values, np.take_along_axis(scores, expected, axis=1))
