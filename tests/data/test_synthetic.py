"""The synthetic ML-32M-shaped log: shape, dtypes, reproducibility, power law, archive."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pytest

from movielens_sbr.data.sessions import order_events, sessionize
from movielens_sbr.data.synthetic import LogShape, generate, popularity, write_archive

N_EVENTS = 200_000
SHAPE = LogShape(n_items=20_000)


@pytest.fixture(scope="module")
def log():
    return generate(N_EVENTS, seed=3, shape=SHAPE)


def test_shape_and_dtypes(log):
    ratings, movies = log
    assert list(ratings.columns) == ["user", "item", "rating", "timestamp"]
    assert len(ratings) == N_EVENTS
    assert ratings.dtypes.astype(str).tolist() == ["int32", "int32", "float32", "datetime64[s]"]
    assert list(movies.columns) == ["item", "title", "year", "genres"]
    assert len(movies) == SHAPE.n_items and movies["item"].is_unique
    assert str(movies["item"].dtype) == "int32" and str(movies["year"].dtype) == "Int16"
    assert set(ratings["item"]) <= set(movies["item"])
    assert set(np.unique(ratings["rating"])) <= set(np.arange(1, 11) / 2)
    # ~159 ratings per user on average, at least 20 each, never the same movie twice.
    per_user = ratings.groupby("user").size()
    assert per_user.min() >= SHAPE.min_events_per_user
    assert per_user.mean() == pytest.approx(SHAPE.events_per_user, rel=0.02)
    assert per_user.max() > 5 * per_user.median()  # heavy-tailed activity
    assert not ratings.duplicated(["user", "item"]).any()
    # Ordered like ratings.csv: by user, then movie.
    assert (ratings[["user", "item"]].diff().iloc[1:] >= 0).any(axis=1).all()
    seconds = ratings["timestamp"].astype(np.int64)
    assert seconds.min() >= pd.Timestamp(SHAPE.first_day).timestamp()
    assert seconds.max() < pd.Timestamp(SHAPE.last_day).timestamp() + 86_400


def test_same_seed_same_log_other_seed_other_log(log):
    again = generate(N_EVENTS, seed=3, shape=SHAPE)
    pd.testing.assert_frame_equal(log[0], again[0])
    pd.testing.assert_frame_equal(log[1], again[1])
    other = generate(N_EVENTS, seed=4, shape=SHAPE)[0]
    assert not other["item"].equals(log[0]["item"])


def test_popularity_is_a_power_law(log):
    ratings, _ = log
    counts = np.sort(ratings["item"].value_counts().to_numpy())[::-1]
    # Log-log slope of count against rank beyond the Mandelbrot offset, where the law is
    # (r + offset) ** -exponent ~ r ** -exponent.
    ranks = np.arange(1, len(counts) + 1)
    window = (ranks >= 300) & (ranks <= 2_000)
    slope = np.polyfit(np.log(ranks[window]), np.log(counts[window]), 1)[0]
    assert -1.6 < slope < -0.9
    # The head is flattened a little: a user rates the top movie at most once.
    expected_top = popularity(SHAPE)[0] * N_EVENTS
    assert 0.5 * expected_top < counts[0] <= 1.1 * expected_top


def test_bursts_give_sessions_with_same_second_ties(log):
    ratings, _ = log
    events = sessionize(order_events(ratings, "random", 0), "gap", 60)
    lengths = events.groupby("session_id").size()
    # Geometric bursts of mean 12; neighbouring bursts of a user sometimes merge.
    assert 8 < lengths.mean() < 30
    same_user = events["user"].diff().eq(0)
    tie = same_user & events["timestamp"].diff().eq(pd.Timedelta(0))
    assert 0.2 < tie.sum() / same_user.sum() < 0.6


def test_archive_has_the_official_layout(tmp_path, log):
    ratings, movies = log
    path = write_archive(ratings, movies, tmp_path / "ml-32m.zip", chunk_rows=70_000)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["ml-32m/movies.csv", "ml-32m/ratings.csv"]
        with archive.open("ml-32m/ratings.csv") as handle:
            header = handle.readline().decode().strip()
            first = handle.readline().decode().strip()
        assert header == "userId,movieId,rating,timestamp"
        assert first.split(",")[2] in {f"{star / 2:.1f}" for star in range(1, 11)}
        table = pacsv.read_csv(archive.open("ml-32m/ratings.csv")).to_pandas()
        movies_csv = pd.read_csv(archive.open("ml-32m/movies.csv"))
    assert list(table.columns) == ["userId", "movieId", "rating", "timestamp"]
    np.testing.assert_array_equal(table["userId"], ratings["user"])
    np.testing.assert_array_equal(table["movieId"], ratings["item"])
    np.testing.assert_array_equal(table["rating"], ratings["rating"])
    np.testing.assert_array_equal(table["timestamp"], ratings["timestamp"].astype(np.int64))
    assert list(movies_csv.columns) == ["movieId", "title", "genres"]
    assert movies_csv["genres"].str.split("|").tolist() == movies["genres"].tolist()
    assert not list(tmp_path.glob(".*.tmp"))


def test_too_few_events_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        generate(10, shape=SHAPE)
