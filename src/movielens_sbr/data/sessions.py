"""Session engineering on an event log: order, sessionise, cleanse, split (no Kedro imports).

Every function is vectorised over events and returns new frames; none mutates its input.
Events are kept sorted by (session_id, position) so that a session is a contiguous block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TIE_ORDERS = ("random", "file", "item")
SESSION_MODES = ("user", "gap")


class EmptyDataError(ValueError):
    """A filter left nothing to learn from."""


def order_events(ratings: pd.DataFrame, tie_order: str, seed: int) -> pd.DataFrame:
    """Sort events by user and time, breaking same-second ties as ``tie_order`` says.

    ``random`` (seeded) is the honest default: MovieLens does not observe the order of
    ratings made in the same second, and ordering them by item id leaks the catalogue
    order into next-item targets.
    """
    if tie_order not in TIE_ORDERS:
        raise ValueError(f"tie_order must be one of {TIE_ORDERS}, got {tie_order!r}")
    # Milliseconds: YOOCHOOSE clicks are ordered within a second too (MovieLens: s * 1000).
    timestamps = ratings["timestamp"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    if tie_order == "random":
        tie_key = np.random.default_rng(seed).permutation(len(ratings))
    elif tie_order == "item":
        tie_key = ratings["item"].to_numpy()
    else:
        tie_key = np.arange(len(ratings))
    order = np.lexsort((tie_key, timestamps, ratings["user"].to_numpy()))
    return ratings.iloc[order].reset_index(drop=True)


def sessionize(events: pd.DataFrame, mode: str, gap_minutes: float | None) -> pd.DataFrame:
    """Add a dense ``session_id``: one per user, or a new one after ``gap_minutes`` idle."""
    if mode not in SESSION_MODES:
        raise ValueError(f"session mode must be one of {SESSION_MODES}, got {mode!r}")
    users = events["user"].to_numpy()
    new_session = np.ones(len(events), dtype=bool)
    new_session[1:] = users[1:] != users[:-1]
    if mode == "gap":
        if gap_minutes is None or gap_minutes <= 0:
            raise ValueError(f"gap_minutes must be positive for mode 'gap', got {gap_minutes!r}")
        seconds = events["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64)
        new_session[1:] |= np.diff(seconds) > gap_minutes * 60
    sessioned = events.copy()
    sessioned.insert(0, "session_id", (np.cumsum(new_session) - 1).astype(np.int64))
    return sessioned


def _collapse_repeats(events: pd.DataFrame) -> pd.DataFrame:
    sessions = events["session_id"].to_numpy()
    items = events["item"].to_numpy()
    repeat = np.zeros(len(events), dtype=bool)
    repeat[1:] = (sessions[1:] == sessions[:-1]) & (items[1:] == items[:-1])
    return events[~repeat]


def _session_lengths(events: pd.DataFrame) -> np.ndarray:
    sessions = events["session_id"].to_numpy()
    return np.bincount(sessions)[sessions] if len(sessions) else np.zeros(0, dtype=np.int64)


def cleanse(
    events: pd.DataFrame,
    min_session_length: int,
    min_item_support: int,
    collapse_repeats: bool = True,
    max_rounds: int = 50,
) -> tuple[pd.DataFrame, list[dict]]:
    """Repeat (collapse repeats, drop short sessions, drop rare items) until nothing changes.

    One pass is not enough: dropping a rare item shortens sessions, and dropping a short
    session lowers item supports. Returns the events and the counts after each round.
    """
    rounds = []
    # Events left after each step, for the error message when nothing is left.
    trail = [f"start {len(events)}"]
    for round_number in range(1, max_rounds + 1):
        before = len(events)
        steps = []
        if collapse_repeats:
            events = _collapse_repeats(events)
            steps.append(f"repeats collapsed {len(events)}")
        events = events[_session_lengths(events) >= min_session_length]
        steps.append(f"sessions < min_session_length={min_session_length} dropped {len(events)}")
        items = events["item"].to_numpy()
        support = np.bincount(items)[items] if len(items) else items
        events = events[support >= min_item_support]
        steps.append(f"items < min_item_support={min_item_support} dropped {len(events)}")
        trail.append(f"round {round_number}: " + ", ".join(steps))
        rounds.append(
            {
                "round": round_number,
                "events": len(events),
                "sessions": int(events["session_id"].nunique()),
                "items": int(events["item"].nunique()),
            }
        )
        if len(events) == before:
            break
    if events.empty:
        raise EmptyDataError(
            f"Cleansing left no events (min_session_length={min_session_length}, "
            f"min_item_support={min_item_support}). Events before/after each step: "
            f"{'; '.join(trail)}. Counts per round: {rounds}. Lower sessions.min_item_support "
            "or sessions.min_session_length in conf/base/parameters_sessions.yml."
        )
    return events.reset_index(drop=True), rounds


@dataclass(frozen=True)
class SplitBoundaries:
    """Start of the validation and test periods (Unix seconds)."""

    valid_start: int
    test_start: int


def split_boundaries(
    events: pd.DataFrame, valid_fraction: float, test_fraction: float
) -> SplitBoundaries:
    """Cut times such that the sessions starting after them hold the last fractions of events.

    Sessions are ordered by start time and weighted by their length, so the rule gives a
    test split of the intended size whether sessions are short (inactivity gap) or whole
    user histories.
    """
    seconds = events["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64)
    sessions = events["session_id"].to_numpy()
    first = np.r_[True, sessions[1:] != sessions[:-1]]
    starts = seconds[first]
    sizes = np.diff(np.r_[np.flatnonzero(first), len(sessions)])
    order = np.argsort(starts, kind="stable")
    share_before = np.cumsum(sizes[order]) / sizes.sum()

    def cut(fraction_after: float) -> int:
        position = np.searchsorted(share_before, 1.0 - fraction_after, side="left") + 1
        return int(starts[order][min(position, len(order) - 1)])

    return SplitBoundaries(
        valid_start=cut(test_fraction + valid_fraction), test_start=cut(test_fraction)
    )


def _keep_known(
    events: pd.DataFrame, known_items: np.ndarray, min_session_length: int
) -> pd.DataFrame:
    events = events[np.isin(events["item"].to_numpy(), known_items)]
    events = _collapse_repeats(events)
    return events[_session_lengths(events) >= min_session_length]


def _session_bounds(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per event: its time in seconds, its session's first and last event time."""
    seconds = events["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64)
    sessions = events["session_id"].to_numpy()
    starts = np.full(sessions.max() + 1, np.iinfo(np.int64).max)
    ends = np.full(sessions.max() + 1, np.iinfo(np.int64).min)
    np.minimum.at(starts, sessions, seconds)
    np.maximum.at(ends, sessions, seconds)
    return seconds, starts[sessions], ends[sessions]


def _check_fractions(valid_fraction: float, test_fraction: float) -> None:
    if not 0 <= valid_fraction < 1 or not 0 < test_fraction < 1:
        raise ValueError(
            "valid_fraction must be in [0, 1) and test_fraction in (0, 1), got "
            f"{valid_fraction} and {test_fraction}"
        )


def _finish_split(
    events: pd.DataFrame,
    in_train: np.ndarray,
    in_valid: np.ndarray,
    in_test: np.ndarray,
    min_session_length: int,
    boundary_stats: dict,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Drop short train sessions, then items unseen in train from valid/test."""
    train = events[in_train]
    train = train[_session_lengths(train) >= min_session_length]
    known_items = np.unique(train["item"].to_numpy())
    valid = _keep_known(events[in_valid], known_items, min_session_length)
    test = _keep_known(events[in_test], known_items, min_session_length)
    if train.empty or test.empty:
        raise EmptyDataError(
            f"The split left {len(train)} train and {len(test)} test events: there is too "
            "little data for these fractions (sessions.valid_fraction, sessions.test_fraction)."
        )
    stats = {
        **boundary_stats,
        "events_clipped_at_boundaries": int((~(in_train | in_valid | in_test)).sum()),
        "valid_events_dropped_unknown_or_short": int(in_valid.sum()) - len(valid),
        "test_events_dropped_unknown_or_short": int(in_test.sum()) - len(test),
    }
    return (
        train.reset_index(drop=True),
        valid.reset_index(drop=True),
        test.reset_index(drop=True),
        stats,
    )


def split_by_time(
    events: pd.DataFrame,
    valid_fraction: float,
    test_fraction: float,
    min_session_length: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Time-based train/valid/test split with no leakage (the project's default).

    A session belongs to the period in which it starts; its events after the end of that
    period are dropped, so every train event precedes every valid/test event and every
    valid/test session starts after training ends. Items unseen in train are then dropped
    from valid/test, followed by the sessions that became too short.
    """
    _check_fractions(valid_fraction, test_fraction)
    bounds = split_boundaries(events, valid_fraction, test_fraction)
    seconds, session_start, _ = _session_bounds(events)
    in_train = (session_start < bounds.valid_start) & (seconds < bounds.valid_start)
    in_valid = (
        (session_start >= bounds.valid_start)
        & (session_start < bounds.test_start)
        & (seconds < bounds.test_start)
    )
    in_test = session_start >= bounds.test_start
    return _finish_split(
        events,
        in_train,
        in_valid,
        in_test,
        min_session_length,
        {
            "rule": "time",
            "valid_start": pd.Timestamp(bounds.valid_start, unit="s").isoformat(),
            "test_start": pd.Timestamp(bounds.test_start, unit="s").isoformat(),
        },
    )


def split_by_session_end(
    events: pd.DataFrame,
    valid_fraction: float,
    test_fraction: float,
    min_session_length: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """The common literature split: the last sessions by end time are test, whole.

    Sessions are ordered by their last event; the last ``test_fraction`` of them are test
    and the ``valid_fraction`` before valid. Nothing is clipped, so with long sessions
    (user = session) train and test overlap in time: kept for comparison with published
    figures, not as the default.
    """
    _check_fractions(valid_fraction, test_fraction)
    _, _, session_end = _session_bounds(events)
    sessions = events["session_id"].to_numpy()
    first = np.r_[True, sessions[1:] != sessions[:-1]]
    ends = np.sort(session_end[first])
    n_sessions = len(ends)
    n_test = max(1, round(n_sessions * test_fraction))
    n_valid = round(n_sessions * valid_fraction)
    order = np.argsort(session_end[first], kind="stable")
    rank = np.empty(n_sessions, dtype=np.int64)
    rank[order] = np.arange(n_sessions)
    session_rank = rank[np.cumsum(first) - 1]
    in_test = session_rank >= n_sessions - n_test
    in_valid = (session_rank >= n_sessions - n_test - n_valid) & ~in_test
    in_train = ~(in_test | in_valid)
    test_cut = ends[n_sessions - n_test]
    valid_cut = ends[n_sessions - n_test - n_valid]
    return _finish_split(
        events,
        in_train,
        in_valid,
        in_test,
        min_session_length,
        {
            "rule": "session_end",
            "valid_start": pd.Timestamp(int(valid_cut), unit="s").isoformat(),
            "test_start": pd.Timestamp(int(test_cut), unit="s").isoformat(),
        },
    )


def build_item_index(train: pd.DataFrame) -> pd.DataFrame:
    """Map item ids seen in train to dense indices 0..n-1, with their train counts."""
    counts = train["item"].value_counts().sort_index()
    return pd.DataFrame(
        {
            "item": counts.index.to_numpy().astype(np.int32),
            "item_idx": np.arange(len(counts), dtype=np.int32),
            "train_count": counts.to_numpy().astype(np.int64),
        }
    )


def attach_item_idx(events: pd.DataFrame, item_index: pd.DataFrame) -> pd.DataFrame:
    """Add the dense ``item_idx`` column; every item must be in the index."""
    lookup = pd.Series(item_index["item_idx"].to_numpy(), index=item_index["item"].to_numpy())
    item_idx = lookup.reindex(events["item"].to_numpy()).to_numpy()
    if np.isnan(item_idx.astype(float)).any():
        raise ValueError("Some events have items that are not in the item index.")
    indexed = events.copy()
    indexed["item_idx"] = item_idx.astype(np.int32)
    return indexed


def describe_split(frame: pd.DataFrame) -> dict:
    """Sizes and session-length summary of one split."""
    lengths = frame.groupby("session_id").size()
    return {
        "events": len(frame),
        "sessions": len(lengths),
        "items": int(frame["item"].nunique()),
        "users": int(frame["user"].nunique()),
        "session_length_median": float(lengths.median()) if len(lengths) else 0.0,
        "session_length_mean": float(lengths.mean()) if len(lengths) else 0.0,
        "session_length_max": int(lengths.max()) if len(lengths) else 0,
        "predictions": int(len(frame) - len(lengths)),
    }
