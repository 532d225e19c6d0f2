"""Session engineering: tie orders, sessionising, cleansing, time split, item index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movielens_sbr.data.sessions import (
    EmptyDataError,
    SplitBoundaries,
    attach_item_idx,
    build_item_index,
    cleanse,
    describe_split,
    order_events,
    sessionize,
    split_boundaries,
    split_by_session_end,
    split_by_time,
)

T0 = 978_300_000  # 2000-12-31, a MovieLens-era Unix time


def ratings_frame(rows: list[tuple[int, int, int]], rating: int = 4) -> pd.DataFrame:
    """A ratings frame in the parsed dtypes from (user, item, unix seconds) rows."""
    users, items, seconds = (list(column) for column in zip(*rows, strict=True))
    return pd.DataFrame(
        {
            "user": np.array(users, dtype=np.int32),
            "item": np.array(items, dtype=np.int32),
            "rating": np.full(len(rows), rating, dtype=np.int8),
            "timestamp": np.array(seconds, dtype=np.int64).astype("datetime64[s]"),
        }
    )


def events_frame(sessions: list[list[tuple[int, int]]], users: list[int] | None = None):
    """Sessioned events from one list of (item, unix seconds) per session."""
    frames = []
    for session_id, session in enumerate(sessions):
        user = session_id + 1 if users is None else users[session_id]
        frame = ratings_frame([(user, item, second) for item, second in session])
        frame.insert(0, "session_id", np.int64(session_id))
        frames.append(frame)
    events = pd.concat(frames, ignore_index=True)
    events["session_id"] = events["session_id"].astype(np.int64)
    return events


def item_lists(events: pd.DataFrame) -> dict[int, list[int]]:
    return {
        int(session): group["item"].tolist()
        for session, group in events.groupby("session_id", sort=True)
    }


def seconds_of(frame: pd.DataFrame) -> np.ndarray:
    return frame["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64)


# ---------------------------------------------------------------------------------------------
# order_events


def tied_ratings() -> pd.DataFrame:
    """Two users, rows out of time order, a same-second group of four items for user 1."""
    return ratings_frame(
        [
            (2, 50, T0 + 5),
            (1, 30, T0 + 10),  # same-second group of user 1, file order 30, 10, 40, 20
            (1, 10, T0 + 10),
            (1, 99, T0),  # earlier than the group although later in the file
            (1, 40, T0 + 10),
            (2, 60, T0),
            (1, 20, T0 + 10),
            (1, 5, T0 + 20),
        ]
    )


def test_order_events_file_keeps_file_order_within_a_same_second_group():
    ratings = tied_ratings()
    before = ratings.copy()
    ordered = order_events(ratings, "file", seed=0)

    assert ordered["user"].tolist() == [1, 1, 1, 1, 1, 1, 2, 2]
    assert ordered["item"].tolist() == [99, 30, 10, 40, 20, 5, 60, 50]
    assert (seconds_of(ordered) - T0).tolist() == [0, 10, 10, 10, 10, 20, 0, 5]
    assert ordered.index.tolist() == list(range(8))
    assert list(ordered.columns) == list(ratings.columns)
    pd.testing.assert_frame_equal(ratings, before)  # input untouched


def test_order_events_item_sorts_same_second_group_by_item():
    ordered = order_events(tied_ratings(), "item", seed=0)
    assert ordered["item"].tolist() == [99, 10, 20, 30, 40, 5, 60, 50]


def test_order_events_random_is_seeded_and_only_permutes_ties():
    ratings = ratings_frame(
        [(1, item, T0 + 10) for item in range(1, 9)]  # eight ratings in one second
        + [(1, 100, T0), (1, 200, T0 + 20), (2, 300, T0 + 10), (2, 400, T0)]
    )
    first = order_events(ratings, "random", seed=7)
    again = order_events(ratings, "random", seed=7)
    pd.testing.assert_frame_equal(first, again)

    group_orders = set()
    for seed in range(10):
        ordered = order_events(ratings, "random", seed=seed)
        # Different timestamps keep their order: user, then time, never shuffled.
        assert ordered["user"].tolist() == [1] * 10 + [2, 2]
        items = ordered["item"].tolist()
        assert items[0] == 100
        assert items[9] == 200
        assert items[10:] == [400, 300]
        assert sorted(items[1:9]) == list(range(1, 9))
        assert np.all(np.diff(seconds_of(ordered)[:10]) >= 0)
        group_orders.add(tuple(items[1:9]))
    assert len(group_orders) > 1  # different seeds give different tie orders


def test_order_events_rejects_unknown_tie_order():
    with pytest.raises(ValueError, match="tie_order"):
        order_events(tied_ratings(), "alphabetical", seed=0)


# ---------------------------------------------------------------------------------------------
# sessionize


def test_sessionize_gap_boundary_is_inclusive_and_user_change_starts_a_session():
    gap = 30 * 60
    events = ratings_frame(
        [
            (1, 1, T0),
            (1, 2, T0 + gap),  # exactly the gap: same session
            (1, 3, T0 + 2 * gap + 1),  # one second more: new session
            (1, 4, T0 + 2 * gap + 1),  # same second: same session
            (2, 5, T0 + 2 * gap + 1),  # new user at the same second: new session
            (2, 6, T0 + 2 * gap + 2),
            (3, 7, T0 + 2 * gap + 2),  # new user, no time gap at all
        ]
    )
    sessioned = sessionize(events, "gap", gap_minutes=30)

    assert sessioned["session_id"].tolist() == [0, 0, 1, 1, 2, 2, 3]
    assert sessioned["session_id"].dtype == np.int64
    assert list(sessioned.columns) == ["session_id", "user", "item", "rating", "timestamp"]
    assert "session_id" not in events.columns  # input untouched


def test_sessionize_fractional_gap_minutes():
    events = ratings_frame([(1, 1, T0), (1, 2, T0 + 30), (1, 3, T0 + 61)])
    assert sessionize(events, "gap", gap_minutes=0.5)["session_id"].tolist() == [0, 0, 1]


def test_sessionize_user_mode_ignores_time_and_gap_minutes():
    events = ratings_frame([(1, 1, T0), (1, 2, T0 + 10**7), (2, 3, T0), (5, 4, T0)])
    sessioned = sessionize(events, "user", gap_minutes=None)
    assert sessioned["session_id"].tolist() == [0, 0, 1, 2]


@pytest.mark.parametrize(
    ("mode", "gap_minutes", "message"),
    [
        ("daily", 30, "session mode"),
        ("gap", None, "gap_minutes"),
        ("gap", 0, "gap_minutes"),
        ("gap", -5, "gap_minutes"),
    ],
)
def test_sessionize_rejects_invalid_mode_or_gap(mode, gap_minutes, message):
    events = ratings_frame([(1, 1, T0), (1, 2, T0 + 10)])
    with pytest.raises(ValueError, match=message):
        sessionize(events, mode, gap_minutes)


# ---------------------------------------------------------------------------------------------
# cleanse


def test_cleanse_collapses_consecutive_repeats_within_a_session_only():
    events = events_frame(
        [
            [(1, T0), (1, T0 + 1), (2, T0 + 2), (1, T0 + 3)],  # A A B A -> A B A
            [(1, T0 + 10), (2, T0 + 11), (2, T0 + 12)],  # A B B -> A B
            [(2, T0 + 20), (1, T0 + 21)],  # starts with the previous session's last item
        ],
        users=[1, 1, 1],
    )
    cleansed, rounds = cleanse(events, min_session_length=2, min_item_support=1)

    assert item_lists(cleansed) == {0: [1, 2, 1], 1: [1, 2], 2: [2, 1]}
    assert cleansed.index.tolist() == list(range(7))
    assert rounds == [
        {"round": 1, "events": 7, "sessions": 3, "items": 2},
        {"round": 2, "events": 7, "sessions": 3, "items": 2},
    ]

    kept, _ = cleanse(events, min_session_length=2, min_item_support=1, collapse_repeats=False)
    assert len(kept) == len(events)


def recursive_events() -> pd.DataFrame:
    """Dropping rare X shortens s0, dropping s0 makes Y rare, dropping Y shortens s1 ...

    Items: X=1, Y=2, Z=3, W=4, A=5, B=6.
    """
    return events_frame(
        [
            [(1, T0), (2, T0 + 1)],  # X Y
            [(2, T0 + 10), (3, T0 + 11)],  # Y Z
            [(3, T0 + 20), (4, T0 + 21)],  # Z W
            [(4, T0 + 30), (3, T0 + 31)],  # W Z
            [(5, T0 + 40), (6, T0 + 41)],  # A B
            [(5, T0 + 50), (6, T0 + 51)],  # A B
        ]
    )


def test_cleanse_repeats_until_dropping_items_and_sessions_stops():
    events = recursive_events()
    cleansed, rounds = cleanse(events, min_session_length=2, min_item_support=2)

    assert item_lists(cleansed) == {2: [3, 4], 3: [4, 3], 4: [5, 6], 5: [5, 6]}
    assert rounds == [
        {"round": 1, "events": 11, "sessions": 6, "items": 5},  # X dropped
        {"round": 2, "events": 9, "sessions": 5, "items": 4},  # s0 = [Y] dropped, then Y
        {"round": 3, "events": 8, "sessions": 4, "items": 4},  # s1 = [Z] dropped
        {"round": 4, "events": 8, "sessions": 4, "items": 4},  # nothing changes
    ]
    # Every constraint holds at the end.
    assert cleansed.groupby("session_id").size().min() >= 2
    assert cleansed["item"].value_counts().min() >= 2
    assert len(events) == 12  # input untouched


def test_cleanse_single_round_is_not_enough_on_the_recursive_example():
    cleansed, rounds = cleanse(
        recursive_events(), min_session_length=2, min_item_support=2, max_rounds=1
    )
    assert len(rounds) == 1
    assert cleansed.groupby("session_id").size().min() == 1  # s0 = [Y] is left over


def test_cleanse_collapses_repeats_that_appear_after_dropping_a_rare_item():
    events = events_frame(
        [
            [(1, T0), (9, T0 + 1), (1, T0 + 2), (2, T0 + 3)],  # A X A B -> A A B -> A B
            [(1, T0 + 10), (2, T0 + 11)],
        ]
    )
    cleansed, rounds = cleanse(events, min_session_length=2, min_item_support=2)
    assert item_lists(cleansed) == {0: [1, 2], 1: [1, 2]}
    assert [entry["events"] for entry in rounds] == [5, 4, 4]


def test_cleanse_is_idempotent():
    cleansed, _ = cleanse(recursive_events(), min_session_length=2, min_item_support=2)
    again, rounds = cleanse(cleansed, min_session_length=2, min_item_support=2)

    pd.testing.assert_frame_equal(again, cleansed)
    assert len(rounds) == 1


def test_cleanse_raises_empty_data_error_with_counts():
    events = events_frame([[(1, T0)], [(2, T0 + 10)], [(3, T0 + 20), (3, T0 + 21)]])
    with pytest.raises(EmptyDataError) as caught:
        cleanse(events, min_session_length=2, min_item_support=1)

    message = str(caught.value)
    assert "min_session_length=2" in message
    assert "min_item_support=1" in message
    assert "{'round': 1, 'events': 0, 'sessions': 0, 'items': 0}" in message
    assert isinstance(caught.value, ValueError)


# ---------------------------------------------------------------------------------------------
# split_boundaries / split_by_time


def hand_split_events() -> pd.DataFrame:
    """Four sessions of lengths 4, 2, 4, 4 starting at T0 + 0, 100, 200, 300.

    Share of events in sessions started so far: 4/14, 6/14, 10/14, 14/14. With
    valid_fraction=0.3, test_fraction=0.35 the valid period starts with s2 (T0 + 200) and the
    test period with s3 (T0 + 300).
    """
    events = events_frame(
        [
            [(1, T0), (2, T0 + 10), (3, T0 + 20), (4, T0 + 250)],  # 4 is after valid_start
            [(2, T0 + 100), (3, T0 + 110)],
            [(3, T0 + 200), (9, T0 + 210), (1, T0 + 220), (2, T0 + 305)],  # 9 unknown, 2 late
            [(1, T0 + 300), (7, T0 + 310), (1, T0 + 315), (2, T0 + 320)],  # 7 unknown
        ]
    )
    events["event_id"] = np.arange(len(events))
    return events


def test_split_boundaries_on_hand_example():
    bounds = split_boundaries(hand_split_events(), valid_fraction=0.3, test_fraction=0.35)
    assert bounds == SplitBoundaries(valid_start=T0 + 200, test_start=T0 + 300)


def test_split_by_time_on_hand_example():
    events = hand_split_events()
    train, valid, test, stats = split_by_time(
        events, valid_fraction=0.3, test_fraction=0.35, min_session_length=2
    )

    assert item_lists(train) == {0: [1, 2, 3], 1: [2, 3]}  # item 4 clipped at valid_start
    assert item_lists(valid) == {2: [3, 1]}  # 9 unknown in train, 2 clipped at test_start
    assert item_lists(test) == {3: [1, 2]}  # 7 unknown, then 1 1 collapsed
    assert stats == {
        "rule": "time",
        "valid_start": pd.Timestamp(T0 + 200, unit="s").isoformat(),
        "test_start": pd.Timestamp(T0 + 300, unit="s").isoformat(),
        "events_clipped_at_boundaries": 2,
        "valid_events_dropped_unknown_or_short": 1,
        "test_events_dropped_unknown_or_short": 2,
    }
    for frame in (train, valid, test):
        assert frame.index.tolist() == list(range(len(frame)))
        assert list(frame.columns) == list(events.columns)


def random_session_events(seed: int = 3) -> pd.DataFrame:
    """A seeded event log through order_events and sessionize (a few hundred events)."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, 41):
        time = T0 + int(rng.integers(0, 30 * 86_400))
        for _ in range(int(rng.integers(3, 15))):
            rows.append((user, int(rng.integers(1, 30)), time))
            time += int(rng.choice([0, 60, 600, 3 * 86_400]))
    events = sessionize(order_events(ratings_frame(rows), "random", seed), "gap", 60)
    events["event_id"] = np.arange(len(events))
    return events


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_split_by_time_properties(seed):
    events = random_session_events(seed)
    valid_fraction, test_fraction, min_length = 0.2, 0.2, 2
    train, valid, test, _ = split_by_time(events, valid_fraction, test_fraction, min_length)
    bounds = split_boundaries(events, valid_fraction, test_fraction)
    assert bounds.valid_start <= bounds.test_start
    assert len(valid) > 0
    assert len(test) > 0

    # No train event at or after valid_start; valid events end before test_start.
    assert seconds_of(train).max() < bounds.valid_start
    assert seconds_of(valid).max() < bounds.test_start

    # Every session starts at or after the start of its period, in the input too.
    input_start = events.groupby("session_id")["timestamp"].min()
    for frame, lower, upper in (
        (train, None, bounds.valid_start),
        (valid, bounds.valid_start, bounds.test_start),
        (test, bounds.test_start, None),
    ):
        starts = seconds_of(input_start.loc[frame["session_id"].unique()].to_frame())
        kept_starts = seconds_of(frame.groupby("session_id")["timestamp"].min().to_frame())
        if lower is not None:
            assert starts.min() >= lower
            assert kept_starts.min() >= lower
        if upper is not None:
            assert starts.max() < upper
        assert frame.groupby("session_id").size().min() >= min_length

    # Sessions are assigned whole: a session id is in one split only.
    ids = [set(frame["session_id"]) for frame in (train, valid, test)]
    assert not ids[0] & ids[1]
    assert not ids[0] & ids[2]
    assert not ids[1] & ids[2]

    # Valid and test items are all train items.
    train_items = set(train["item"])
    assert set(valid["item"]) <= train_items
    assert set(test["item"]) <= train_items

    # No event duplicated, and every kept event is an input event unchanged.
    kept = pd.concat([train, valid, test], ignore_index=True)
    assert kept["event_id"].is_unique
    original = events.set_index("event_id").loc[kept["event_id"]].reset_index()
    pd.testing.assert_frame_equal(kept[original.columns], original)

    # Train sessions keep every input event before valid_start (no item filtering).
    for session, group in train.groupby("session_id"):
        source = events[events["session_id"] == session]
        expected = source[seconds_of(source) < bounds.valid_start]
        assert group["event_id"].tolist() == expected["event_id"].tolist()


@pytest.mark.parametrize(("valid_fraction", "test_fraction"), [(0.2, 0), (0.2, 1.0), (-0.1, 0.2)])
def test_split_by_time_rejects_fractions_outside_zero_one(valid_fraction, test_fraction):
    with pytest.raises(ValueError, match="must be in"):
        split_by_time(hand_split_events(), valid_fraction, test_fraction, 2)


def test_split_by_time_raises_when_test_is_empty():
    events = hand_split_events()
    # With min_session_length=3 the test session (2 known distinct items left) disappears.
    with pytest.raises(EmptyDataError, match="split left"):
        split_by_time(events, valid_fraction=0.3, test_fraction=0.35, min_session_length=3)


# ---------------------------------------------------------------------------------------------
# item index


def test_build_item_index_is_dense_and_counts_train_events():
    train = events_frame([[(30, T0), (10, T0 + 1), (30, T0 + 2)], [(20, T0 + 5), (30, T0 + 6)]])
    index = build_item_index(train)

    assert index["item"].tolist() == [10, 20, 30]
    assert index["item_idx"].tolist() == [0, 1, 2]
    assert index["train_count"].tolist() == [1, 1, 3]
    assert index["item"].dtype == np.int32
    assert index["item_idx"].dtype == np.int32
    assert index["train_count"].dtype == np.int64


def test_attach_item_idx_maps_items_and_rejects_unknown_items():
    train = events_frame([[(30, T0), (10, T0 + 1)], [(20, T0 + 5), (30, T0 + 6)]])
    index = build_item_index(train)
    indexed = attach_item_idx(train, index)

    assert indexed["item_idx"].tolist() == [2, 0, 1, 2]
    assert indexed["item_idx"].dtype == np.int32
    assert "item_idx" not in train.columns  # input untouched

    unknown = events_frame([[(10, T0), (40, T0 + 1)]])
    with pytest.raises(ValueError, match="not in the item index"):
        attach_item_idx(unknown, index)


def test_describe_split_hand_example():
    frame = events_frame(
        [[(1, T0), (2, T0 + 1), (3, T0 + 2)], [(1, T0 + 5), (2, T0 + 6)]], users=[7, 7]
    )
    assert describe_split(frame) == {
        "events": 5,
        "sessions": 2,
        "items": 3,
        "users": 1,
        "session_length_median": 2.5,
        "session_length_mean": 2.5,
        "session_length_max": 3,
        "predictions": 3,
    }


def test_split_by_time_without_validation_leaves_valid_empty():
    train, valid, test, _ = split_by_time(hand_split_events(), 0.0, 0.25, 2)
    assert valid.empty and not train.empty and not test.empty


def test_split_by_session_end_takes_the_last_sessions_whole():
    rows = []
    # Session s runs from T0 + 10 s to T0 + 10 s + 100 * s: later sessions end later.
    for session in range(10):
        for position, item in enumerate([1, 2, 3]):
            rows.append((session, session, item, T0 + 10 * session + 50 * session * position))
    events = pd.DataFrame(rows, columns=["session_id", "user", "item", "timestamp"])
    events["timestamp"] = events["timestamp"].astype("datetime64[s]")
    train, valid, test, stats = split_by_session_end(events, 0.2, 0.2, 2)
    assert sorted(test["session_id"].unique()) == [8, 9]
    assert sorted(valid["session_id"].unique()) == [6, 7]
    assert sorted(train["session_id"].unique()) == list(range(6))
    assert len(test) == 6  # whole sessions: nothing clipped
    assert stats["rule"] == "session_end" and stats["events_clipped_at_boundaries"] == 0
