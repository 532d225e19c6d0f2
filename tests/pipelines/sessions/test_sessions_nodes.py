"""Sessions nodes."""

import numpy as np
import pandas as pd
import pytest

from movielens_sbr.data.sessions import EmptyDataError
from movielens_sbr.params import ParameterError, base_section
from movielens_sbr.pipelines.sessions.nodes import (
    build_session_events,
    plot_events_per_day,
    plot_session_lengths,
    split_sessions,
)


def test_split_outputs_are_consistent(splits):
    train, valid, test, item_index, statistics = splits
    assert list(item_index["item_idx"]) == list(range(len(item_index)))
    for frame in (train, valid, test):
        assert frame["item_idx"].between(0, len(item_index) - 1).all()
    assert statistics["train"]["events"] == len(train)
    assert statistics["test"]["events"] == len(test)
    assert statistics["n_items"] == len(item_index)
    assert train["timestamp"].max() < test["timestamp"].min()


def test_session_ids_are_dense_and_in_time_order(ratings):
    events, log = build_session_events(
        ratings, base_section("sessions", min_item_support=2), seed=0
    )
    ids = events["session_id"].to_numpy()
    assert ids.min() == 0 and len(set(ids)) == ids.max() + 1
    assert (ids[1:] >= ids[:-1]).all()
    assert log["ratings"] == len(ratings)


def test_min_rating_that_removes_everything_names_the_parameter(ratings):
    with pytest.raises(EmptyDataError, match="min_rating"):
        build_session_events(
            ratings[ratings["rating"] < 5], base_section("sessions", min_rating=5), seed=0
        )


def test_unknown_parameter_is_rejected(ratings):
    with pytest.raises(ParameterError, match=r"sessions\.gap"):
        build_session_events(ratings, base_section("sessions", gap=5), seed=0)


def test_session_length_plot_counts_every_session_of_its_input(ratings):
    events, _ = build_session_events(ratings, base_section("sessions", min_item_support=2), seed=0)
    lengths = events.groupby("session_id").size()

    hist, share = plot_session_lengths(events).axes

    assert sum(bar.get_height() for bar in hist.patches) == len(lengths)
    np.testing.assert_array_equal(share.get_lines()[0].get_xdata(), np.sort(lengths))
    assert hist.get_title().startswith(f"{len(lengths):,} sessions")


def test_events_per_day_plot_holds_every_event_and_the_split_boundaries(splits, ratings):
    events, _ = build_session_events(ratings, base_section("sessions", min_item_support=2), seed=0)
    statistics = splits[4]

    (ax,) = plot_events_per_day(events, statistics).axes
    counts, *marks = ax.get_lines()

    assert counts.get_ydata().sum() == len(events)
    bounds = statistics["boundaries"]
    assert [mark.get_xdata()[0] for mark in marks] == [
        pd.Timestamp(bounds["valid_start"]),
        pd.Timestamp(bounds["test_start"]),
    ]
    assert [text.get_text() for text in ax.texts] == ["valid starts", "test starts"]


def test_min_item_support_that_removes_everything_names_filters_and_counts(ratings):
    with pytest.raises(EmptyDataError) as caught:
        build_session_events(ratings, base_section("sessions", min_item_support=10**6), seed=0)

    message = str(caught.value)
    assert "min_item_support=1000000" in message
    assert f"start {len(ratings)}" in message  # count before the first step
    assert "items < min_item_support=1000000 dropped 0" in message  # count after the step
    assert "sessions.min_item_support" in message  # the key to change


def test_skipped_input_lines_reach_the_split_statistics(ratings):
    summary = {"skipped_lines": {"ratings.dat": 3, "movies.dat": 1}}
    params = base_section("sessions", min_item_support=2)
    events, log = build_session_events(ratings, params, 0, summary)
    *_, statistics = split_sessions(events, log, params)

    assert statistics["skipped_input_lines"] == {"ratings.dat": 3, "movies.dat": 1}
    assert statistics["cleansing"]["ratings"] == len(ratings)
