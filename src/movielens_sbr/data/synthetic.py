"""A synthetic event log shaped like MovieLens 32M, for scaling benchmarks (no Kedro imports).

No MovieLens data is needed: the log is drawn from a seeded generator with the shape that
matters for cost. Users rate on average 159 movies (ML-32M: 32,000,204 ratings by 200,948
users), at least 20 each, with a heavy-tailed (log-normal) activity; item popularity is a
Zipf-Mandelbrot power law over an 85k-movie catalogue (the top movie takes about 0.3 % of
the ratings, as *Shawshank Redemption* does in ML-32M); a user rates a movie at most once.
Ratings come in bursts: a user's events fall into sessions of geometric length spread over
an active period, with seconds between ratings and a share of same-second ties, so the
gap sessioniser finds sessions. Items are drawn independently of order, so next-item
metrics on this log mean nothing: it is for timing and memory only.

``generate`` returns the ``ratings`` and ``movies`` frames that ingestion produces
(``ratings``: user int32, item int32, rating float32 in half stars as in ML-32M, timestamp
datetime64[s]; ``movies``: item int32, title, year Int16, genres list). ``write_archive``
writes them in the official ML-32M zip layout (``ml-32m/ratings.csv`` and
``ml-32m/movies.csv``).
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from movielens_sbr.atomic_files import atomic_path

# ML-32M's genre names (README of the release).
GENRES = [
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "IMAX",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]
HALF_STARS = np.arange(1, 11, dtype=np.float32) / 2
# Share of each half star, 0.5 .. 5.0, close to the published ML-25M/32M histograms.
HALF_STAR_SHARES = np.array([1.6, 3.1, 1.7, 6.6, 5.1, 19.5, 13.1, 26.6, 8.8, 13.9])
RATINGS_HEADER = "userId,movieId,rating,timestamp"
MOVIES_HEADER = "movieId,title,genres"


@dataclass(frozen=True)
class LogShape:
    """What the generator imitates; the defaults are ML-32M's (see the module docstring)."""

    n_items: int = 85_000
    events_per_user: float = 159.2  # 32,000,204 / 200,948
    min_events_per_user: int = 20  # MovieLens only publishes users with 20 ratings or more
    activity_sigma: float = 1.3  # log-normal spread of the ratings per user above the minimum
    max_user_share: float = 0.1  # a user rates at most this share of the catalogue
    popularity_exponent: float = 1.3  # item of popularity rank r: (r + offset) ** -exponent
    popularity_offset: float = 100.0
    mean_session_length: float = 12.0  # events per burst (geometric)
    tie_share: float = 0.4  # share of in-burst gaps of 0 s (same-second ratings)
    mean_gap_seconds: float = 40.0  # other in-burst gaps: exponential
    median_active_days: float = 30.0  # a user's bursts spread over a log-normal period
    active_days_sigma: float = 2.0
    first_day: str = "1995-01-09"  # ML-32M's first and last rating days
    last_day: str = "2023-10-12"
    movie_id_spread: float = 3.34  # ML-32M: 87,585 movies with ids up to 292,757

    def __post_init__(self):
        if self.min_events_per_user < 1 or self.events_per_user <= self.min_events_per_user:
            raise ValueError(
                f"events_per_user ({self.events_per_user}) must exceed min_events_per_user "
                f"({self.min_events_per_user}), which must be at least 1"
            )
        if self.max_user_share * self.n_items < self.min_events_per_user:
            raise ValueError(
                f"max_user_share * n_items = {self.max_user_share * self.n_items:.0f} is below "
                f"min_events_per_user = {self.min_events_per_user}: raise n_items"
            )


def popularity(shape: LogShape) -> np.ndarray:
    """Probability of each popularity rank (Zipf-Mandelbrot), most popular first."""
    weights = (np.arange(1, shape.n_items + 1) + shape.popularity_offset) ** (
        -shape.popularity_exponent
    )
    return weights / weights.sum()


def _events_per_user(n_events: int, shape: LogShape, rng: np.random.Generator) -> np.ndarray:
    """Ratings per user, summing to ``n_events``: the minimum plus a log-normal excess."""
    n_users = max(1, round(n_events / shape.events_per_user))
    floor = shape.min_events_per_user
    if n_events < n_users * floor:
        raise ValueError(f"n_events={n_events} is too small: the generator needs {floor} per user")
    cap = int(shape.max_user_share * shape.n_items)
    excess_mean = shape.events_per_user - floor
    mu = np.log(excess_mean) - shape.activity_sigma**2 / 2  # so that the mean is excess_mean
    excess = rng.lognormal(mu, shape.activity_sigma, n_users)
    excess *= (n_events - n_users * floor) / excess.sum()
    counts = np.minimum(floor + np.floor(excess).astype(np.int64), cap)
    # Hand the rounding remainder (and what the cap cut off) to users below the cap.
    missing = n_events - int(counts.sum())
    while missing > 0:
        room = np.flatnonzero(counts < cap)
        if not len(room):
            raise ValueError(f"n_events={n_events} does not fit under the per-user cap {cap}")
        extra = rng.choice(room, size=min(missing, len(room)), replace=False)
        counts[extra] += 1
        missing -= len(extra)
    return counts


def _distinct_items(
    user: np.ndarray, probabilities: np.ndarray, rng: np.random.Generator, max_rounds: int = 200
) -> np.ndarray:
    """A popularity rank per event, drawn from ``probabilities``, never twice for one user.

    Draws with replacement, then redraws only the repeated (user, item) pairs, round after
    round, among the users that still have one. After 20 rounds the few repeats left (the
    heaviest users, who already hold most of the popular items) are redrawn uniformly.
    """
    cdf = np.cumsum(probabilities)
    n_items = len(probabilities)

    def draw(n: int, uniform: bool) -> np.ndarray:
        if uniform:
            return rng.integers(0, n_items, n)
        return np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), n_items - 1)

    items = draw(len(user), uniform=False)
    active = np.arange(len(user))
    for round_number in range(max_rounds):
        keys = (user[active].astype(np.int64) << 32) | items[active]
        order = np.argsort(keys, kind="stable")
        repeated_sorted = np.r_[False, keys[order][1:] == keys[order][:-1]]
        repeated = active[order[repeated_sorted]]
        if not len(repeated):
            return items
        items[repeated] = draw(len(repeated), uniform=round_number >= 20)
        active = active[np.isin(user[active], np.unique(user[repeated]))]
    raise RuntimeError(f"Could not draw distinct items per user in {max_rounds} rounds")


def _timestamps(
    counts: np.ndarray, user: np.ndarray, shape: LogShape, rng: np.random.Generator
) -> np.ndarray:
    """Unix seconds per event: bursts (sessions) spread over each user's active period."""
    first = int(pd.Timestamp(shape.first_day).timestamp())
    last = int(pd.Timestamp(shape.last_day).timestamp()) + 86_399
    n_events, n_users = len(user), len(counts)
    active = np.minimum(
        rng.lognormal(np.log(shape.median_active_days * 86_400), shape.active_days_sigma, n_users),
        (last - first) * 0.9,
    )
    user_start = first + rng.random(n_users) * (last - first - active)
    # Bursts: a new one at each user's first event, otherwise with 1 / mean length.
    user_first = np.r_[0, np.cumsum(counts)[:-1]]
    new_burst = rng.random(n_events) < 1.0 / shape.mean_session_length
    new_burst[user_first] = True
    burst_first = np.flatnonzero(new_burst)
    burst_user = user[burst_first]
    # Burst start times: sorted uniform draws within the user's active period.
    offsets = rng.random(len(burst_first))
    offsets = offsets[np.lexsort((offsets, burst_user))]
    burst_start = user_start[burst_user] + offsets * active[burst_user]
    gaps = np.where(
        rng.random(n_events) < shape.tie_share,
        0.0,
        np.ceil(rng.exponential(shape.mean_gap_seconds, n_events)),
    )
    gaps[burst_first] = 0.0
    elapsed = np.cumsum(gaps)
    burst = np.cumsum(new_burst) - 1
    within = elapsed - elapsed[burst_first][burst]
    return np.minimum(np.floor(burst_start[burst] + within), last).astype(np.int64)


def movie_ids(shape: LogShape, rng: np.random.Generator) -> np.ndarray:
    """MovieLens-like sparse movie ids, indexed by popularity rank."""
    id_space = int(shape.n_items * shape.movie_id_spread)
    ids = np.sort(rng.choice(np.arange(1, id_space + 1), shape.n_items, replace=False))
    return rng.permutation(ids).astype(np.int32)


def generate(
    n_events: int, seed: int = 0, shape: LogShape | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``ratings`` (``n_events`` rows, ordered by user then movie, as in ratings.csv) and
    ``movies`` (the whole catalogue), in the dtypes ingestion produces."""
    shape = shape or LogShape()
    if n_events < 1:
        raise ValueError(f"n_events must be positive, got {n_events}")
    rng = np.random.default_rng(seed)
    counts = _events_per_user(n_events, shape, rng)
    user = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    rank = _distinct_items(user, popularity(shape), rng)
    seconds = _timestamps(counts, user, shape, rng)
    ids = movie_ids(shape, rng)
    stars = rng.choice(len(HALF_STARS), n_events, p=HALF_STAR_SHARES / HALF_STAR_SHARES.sum())
    ratings = pd.DataFrame(
        {
            "user": user + np.int32(1),
            "item": ids[rank],
            "rating": HALF_STARS[stars],
            "timestamp": seconds.astype("datetime64[s]"),
        }
    )
    order = np.lexsort((ratings["item"].to_numpy(), ratings["user"].to_numpy()))
    ratings = ratings.iloc[order].reset_index(drop=True)
    return ratings, _movies(ids, rng)


def _movies(ids: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    order = np.sort(ids)
    years = rng.integers(1900, 2024, len(order))
    n_genres = rng.integers(1, 4, len(order))
    picks = rng.integers(0, len(GENRES), (len(order), 3))
    names = np.array(GENRES, dtype=object)[picks]
    genres = [sorted(set(row[:n])) for row, n in zip(names.tolist(), n_genres, strict=True)]
    return pd.DataFrame(
        {
            "item": order.astype(np.int32),
            "title": [f"Synthetic Movie {i} ({y})" for i, y in zip(order, years, strict=True)],
            "year": pd.array(years, dtype="Int16"),
            "genres": genres,
        }
    )


def write_archive(
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    path: str | os.PathLike,
    folder: str = "ml-32m",
    chunk_rows: int = 1 << 20,
) -> Path:
    """Write the log as the official ML-32M zip: ``<folder>/ratings.csv`` and ``movies.csv``.

    ratings.csv is ``userId,movieId,rating,timestamp`` with ratings like ``3.5`` and Unix
    seconds; movies.csv is ``movieId,title,genres`` with ``|``-joined genres. The zip is
    written beside ``path`` and renamed over it, so a reader never sees half an archive.
    """
    path = Path(path)
    labels = pa.array([f"{star:.1f}" for star in HALF_STARS])
    stars = np.rint(ratings["rating"].to_numpy() * 2).astype(np.int64) - 1
    if stars.min(initial=0) < 0 or stars.max(initial=0) >= len(HALF_STARS):
        raise ValueError("ratings must be half stars between 0.5 and 5.0")
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with (
        atomic_path(path) as temporary,
        zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
    ):
        with archive.open(f"{folder}/ratings.csv", "w", force_zip64=True) as handle:
            handle.write((RATINGS_HEADER + "\n").encode())
            for begin in range(0, len(ratings), chunk_rows):
                rows = slice(begin, begin + chunk_rows)
                table = pa.table(
                    {
                        "userId": ratings["user"].to_numpy()[rows],
                        "movieId": ratings["item"].to_numpy()[rows],
                        "rating": labels.take(stars[rows]),
                        "timestamp": ratings["timestamp"]
                        .to_numpy()[rows]
                        .astype("datetime64[s]")
                        .astype(np.int64),
                    }
                )
                buffer = io.BytesIO()
                pacsv.write_csv(table, buffer, options)
                handle.write(buffer.getvalue())
        movies_csv = movies.assign(genres=movies["genres"].str.join("|"))
        text = movies_csv[["item", "title", "genres"]].to_csv(index=False, header=False)
        archive.writestr(f"{folder}/movies.csv", MOVIES_HEADER + "\n" + text)
    return path
