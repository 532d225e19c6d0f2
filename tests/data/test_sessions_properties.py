"""Property-based tests (Hypothesis) of session engineering on random small event logs.

Every event carries an ``event_id`` (its row in the input), so each property can check
that nothing is lost, duplicated, altered or reordered, only dropped by a stated rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from movielens_sbr.data.sessions import (
    EmptyDataError,
    cleanse,
    order_events,
    sessionize,
    split_boundaries,
    split_by_session_end,
    split_by_time,
)

T0 = 978_300_000
GAP_MINUTES = 30
# Small and fast: a few dozen examples of up to 80 events each; no deadline, which would
# fail the run whenever the machine stalls for a moment.
FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

# (user, item, seconds after T0): few users and items so that ties, repeats, rare items and
# several sessions per user all happen; times up to ~3 gaps apart.
event_row = st.tuples(
    st.integers(1, 5),
    st.integers(1, 8),
    st.integers(0, 4 * GAP_MINUTES * 60).map(lambda s: s - s % 7),  # same-second ties
)
event_rows = st.lists(event_row, min_size=1, max_size=80)
# Splits need events spread over time (integers drawn freely pile up at 0): row n happens
# about n * 150 s after T0, give or take up to three 700 s steps, so sessions interleave.
split_rows = st.lists(
    st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(0, 3)),
    min_size=30,
    max_size=80,
).map(lambda rows: [(user, item, n * 150 + k * 700) for n, (user, item, k) in enumerate(rows)])


def ratings_frame(rows: list[tuple[int, int, int]]) -> pd.DataFrame:
    users, items, seconds = (np.array(column) for column in zip(*rows, strict=True))
    return pd.DataFrame(
        {
            "user": users.astype(np.int32),
            "item": items.astype(np.int32),
            "rating": np.full(len(rows), 4, dtype=np.int8),
            "timestamp": (seconds + T0).astype(np.int64).astype("datetime64[s]"),
            "event_id": np.arange(len(rows)),
        }
    )


def seconds_of(frame: pd.DataFrame) -> np.ndarray:
    return frame["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64)


def sessioned(rows, tie_order: str = "random") -> pd.DataFrame:
    return sessionize(order_events(ratings_frame(rows), tie_order, seed=1), "gap", GAP_MINUTES)


def assert_rows_unchanged(subset: pd.DataFrame, source: pd.DataFrame) -> None:
    """Every row of ``subset`` is the row of ``source`` with the same event_id, unchanged."""
    assert subset["event_id"].is_unique
    original = source.set_index("event_id").loc[subset["event_id"]].reset_index()
    pd.testing.assert_frame_equal(
        subset[original.columns].reset_index(drop=True), original, check_dtype=True
    )


def assert_order_kept(subset: pd.DataFrame, source: pd.DataFrame) -> None:
    """``subset`` lists its events in the same relative order as ``source``."""
    position = pd.Series(np.arange(len(source)), index=source["event_id"].to_numpy())
    assert np.all(np.diff(position.loc[subset["event_id"]].to_numpy()) > 0)


@FAST
@given(rows=event_rows, tie_order=st.sampled_from(["random", "file", "item"]))
def test_order_events_is_a_sort_by_user_and_time(rows, tie_order):
    ratings = ratings_frame(rows)
    ordered = order_events(ratings, tie_order, seed=3)

    assert sorted(ordered["event_id"]) == list(range(len(rows)))  # nothing lost or duplicated
    assert_rows_unchanged(ordered, ratings)
    keys = np.c_[ordered["user"].to_numpy(), seconds_of(ordered)]
    user_step, time_step = np.diff(keys[:, 0]), np.diff(keys[:, 1])
    assert np.all((user_step > 0) | ((user_step == 0) & (time_step >= 0)))  # sorted
    if tie_order == "file":  # ties keep the file order
        tied = pd.DataFrame(keys).duplicated(keep=False).to_numpy()
        for _, group in ordered[tied].groupby(["user", "timestamp"]):
            assert group["event_id"].is_monotonic_increasing
    pd.testing.assert_frame_equal(ordered, order_events(ratings, tie_order, seed=3))


@FAST
@given(rows=event_rows)
def test_sessionize_splits_only_on_user_change_or_gap(rows):
    ordered = order_events(ratings_frame(rows), "random", seed=1)
    events = sessionize(ordered, "gap", GAP_MINUTES)

    pd.testing.assert_frame_equal(events.drop(columns="session_id"), ordered)  # order kept
    ids = events["session_id"].to_numpy()
    assert ids[0] == 0 and set(np.diff(ids)) <= {0, 1}  # dense and contiguous
    same_session = ids[1:] == ids[:-1]
    same_user = events["user"].to_numpy()[1:] == events["user"].to_numpy()[:-1]
    within_gap = np.diff(seconds_of(events)) <= GAP_MINUTES * 60
    np.testing.assert_array_equal(same_session, same_user & within_gap)


@FAST
@given(
    rows=event_rows,
    min_length=st.integers(2, 3),
    min_support=st.integers(1, 3),
    collapse=st.booleans(),
)
def test_cleanse_keeps_a_subsequence_that_meets_every_constraint(
    rows, min_length, min_support, collapse
):
    events = sessioned(rows)
    try:
        cleansed, rounds = cleanse(events, min_length, min_support, collapse)
    except EmptyDataError as error:
        assert f"min_item_support={min_support}" in str(error)
        return

    assert_rows_unchanged(cleansed, events)  # no event altered or duplicated
    assert_order_kept(cleansed, events)
    assert cleansed.groupby("session_id").size().min() >= min_length
    assert cleansed["item"].value_counts().min() >= min_support
    if collapse:
        same_session = (
            cleansed["session_id"].to_numpy()[1:] == cleansed["session_id"].to_numpy()[:-1]
        )
        same_item = cleansed["item"].to_numpy()[1:] == cleansed["item"].to_numpy()[:-1]
        assert not np.any(same_session & same_item)
    assert rounds[-1]["events"] == len(cleansed)

    again, again_rounds = cleanse(cleansed, min_length, min_support, collapse)  # idempotent
    pd.testing.assert_frame_equal(again, cleansed)
    assert len(again_rounds) == 1


def cleansed_or_skip(rows) -> pd.DataFrame:
    try:
        return cleanse(sessioned(rows), 2, 1)[0]
    except EmptyDataError:
        return pd.DataFrame()


@FAST
@given(
    rows=split_rows,
    valid_fraction=st.sampled_from([0.0, 0.2, 0.3]),
    test_fraction=st.sampled_from([0.1, 0.25, 0.4]),
)
def test_split_by_time_has_no_leakage_and_accounts_for_every_event(
    rows, valid_fraction, test_fraction
):
    events = cleansed_or_skip(rows)
    if events.empty:
        return
    try:
        train, valid, test, stats = split_by_time(events, valid_fraction, test_fraction, 2)
    except EmptyDataError as error:
        assert "split left" in str(error)
        return
    bounds = split_boundaries(events, valid_fraction, test_fraction)

    kept = pd.concat([train, valid, test], ignore_index=True)
    assert_rows_unchanged(kept, events)  # nothing duplicated across or within splits
    for frame in (train, valid, test):
        assert_order_kept(frame, events)
        if len(frame):
            assert frame.groupby("session_id").size().min() >= 2
    # No leakage: train ends before valid starts, valid before test; items known in train.
    assert seconds_of(train).max() < bounds.valid_start
    if len(valid):
        assert seconds_of(valid).min() >= bounds.valid_start
        assert seconds_of(valid).max() < bounds.test_start
    assert seconds_of(test).min() >= bounds.test_start
    ids = [set(frame["session_id"]) for frame in (train, valid, test)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert set(valid["item"]) | set(test["item"]) <= set(train["item"])

    # Every event is kept or dropped by a stated rule: clipped at a boundary, unknown item
    # or short session in valid/test, or a train session left shorter than 2 by clipping.
    seconds = seconds_of(events)
    start = events.groupby("session_id")["timestamp"].transform("min")
    in_train = (seconds_of(start.to_frame()) < bounds.valid_start) & (seconds < bounds.valid_start)
    train_sizes = events[in_train].groupby("session_id").size()
    train_short = int(train_sizes[train_sizes < 2].sum())
    assert len(kept) + train_short + stats["events_clipped_at_boundaries"] + stats[
        "valid_events_dropped_unknown_or_short"
    ] + stats["test_events_dropped_unknown_or_short"] == len(events)


@FAST
@given(rows=split_rows, test_fraction=st.sampled_from([0.1, 0.3]))
def test_split_by_session_end_assigns_whole_sessions_once(rows, test_fraction):
    events = cleansed_or_skip(rows)
    if events.empty:
        return
    try:
        train, valid, test, stats = split_by_session_end(events, 0.2, test_fraction, 2)
    except EmptyDataError:
        return

    kept = pd.concat([train, valid, test], ignore_index=True)
    assert_rows_unchanged(kept, events)
    ids = [set(frame["session_id"]) for frame in (train, valid, test)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert set(valid["item"]) | set(test["item"]) <= set(train["item"])
    # Train sessions are whole: nothing clipped, and each ends no later than every test one.
    assert stats["events_clipped_at_boundaries"] == 0
    for session, group in train.groupby("session_id"):
        assert len(group) == (events["session_id"] == session).sum()
    end = events.groupby("session_id")["timestamp"].max()
    assert end.loc[list(ids[0])].max() <= end.loc[list(ids[2])].min()


@pytest.mark.parametrize("seed", [0, 1])
def test_properties_hold_on_the_same_log_twice(seed):
    """Same seed, same input: bit-identical sessions and splits (determinism)."""
    rng = np.random.default_rng(seed)
    rows = [
        (int(u), int(i), int(t))
        for u, i, t in zip(
            rng.integers(1, 6, 200),
            rng.integers(1, 9, 200),
            rng.integers(0, 20_000, 200),
            strict=True,
        )
    ]
    first = split_by_time(cleanse(sessioned(rows), 2, 1)[0], 0.2, 0.2, 2)
    second = split_by_time(cleanse(sessioned(rows), 2, 1)[0], 0.2, 0.2, 2)
    for a, b in zip(first[:3], second[:3], strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert first[3] == second[3]
