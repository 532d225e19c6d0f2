"""Session nodes: ratings -> cleansed sessions -> time-based splits and the item index."""

from typing import Any

import pandas as pd

from movielens_sbr.data import sessions
from movielens_sbr.params import SessionsParams, validate_section

# A matplotlib Figure: pyplot is imported only when a plot node runs.
Figure = Any


def build_session_events(
    ratings: pd.DataFrame, params: dict, seed: int, archive_summary: dict | None = None
) -> tuple[pd.DataFrame, dict]:
    """Order, filter, sessionise and cleanse ratings; returns events and a log of counts.

    The log starts with the input lines that ingestion skipped (``ingestion.on_bad_lines``).
    """
    config: SessionsParams = validate_section("sessions", params)
    log = {
        "skipped_input_lines": dict((archive_summary or {}).get("skipped_lines", {})),
        "ratings": len(ratings),
    }
    if config.min_rating is not None:
        ratings = ratings[ratings["rating"] >= config.min_rating]
        log[f"after_min_rating_{config.min_rating}"] = len(ratings)
        if ratings.empty:
            raise sessions.EmptyDataError(
                f"sessions.min_rating={config.min_rating} removed every rating "
                f"({log['ratings']} before): lower it in conf/base/parameters_sessions.yml."
            )
    events = sessions.order_events(ratings, config.tie_order, seed)
    events = sessions.sessionize(events, config.session_mode, config.gap_minutes)
    log["sessions_before_cleansing"] = int(events["session_id"].nunique())
    events, rounds = sessions.cleanse(
        events, config.min_session_length, config.min_item_support, config.collapse_repeats
    )
    log["cleansing_rounds"] = rounds
    # Re-number sessions densely so ids are 0..n-1 in time order.
    events["session_id"] = pd.factorize(events["session_id"])[0]
    return events, log


def split_sessions(
    session_events: pd.DataFrame, cleansing_log: dict, params: dict
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """Time-based train/valid/test split, item index from train, and split statistics."""
    config: SessionsParams = validate_section("sessions", params)
    split = sessions.split_by_time if config.split_rule == "time" else sessions.split_by_session_end
    train, valid, test, boundary_stats = split(
        session_events, config.valid_fraction, config.test_fraction, config.min_session_length
    )
    item_index = sessions.build_item_index(train)
    train, valid, test = (
        sessions.attach_item_idx(split, item_index) for split in (train, valid, test)
    )
    statistics = {
        "parameters": config.model_dump(),
        "skipped_input_lines": cleansing_log.get("skipped_input_lines", {}),
        "cleansing": cleansing_log,
        "boundaries": boundary_stats,
        "n_items": len(item_index),
        "train": sessions.describe_split(train),
        "valid": sessions.describe_split(valid),
        "test": sessions.describe_split(test),
    }
    return train, valid, test, item_index, statistics


def plot_session_lengths(session_events: pd.DataFrame) -> Figure:
    """Session length distribution with the cumulative share of events."""
    from movielens_sbr import plots  # pyplot loads only when a plot is drawn

    return plots.session_length_distribution(session_events.groupby("session_id").size().to_numpy())


def plot_events_per_day(session_events: pd.DataFrame, split_statistics: dict) -> Figure:
    """Events per day with the valid and test boundaries."""
    from movielens_sbr import plots

    bounds = split_statistics["boundaries"]
    return plots.events_per_day(
        session_events["timestamp"],
        {"valid starts": bounds["valid_start"], "test starts": bounds["test_start"]},
    )
