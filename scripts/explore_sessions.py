"""Figures behind the session defaults in docs/architecture.md.

Usage: python scripts/explore_sessions.py PATH_TO_ML-1M_ZIP_OR_FOLDER
"""

from __future__ import annotations

import sys

import numpy as np

from movielens_sbr.data.dat_format import parse_ratings
from movielens_sbr.data.movielens import read_archive
from movielens_sbr.data.sessions import order_events, sessionize


def main(path: str) -> None:
    ratings = parse_ratings(read_archive(path).ratings)
    print(f"ratings: {len(ratings):,}, users: {ratings['user'].nunique():,}")
    tie_groups = ratings.groupby(["user", "timestamp"])["item"].transform("size")
    share = (tie_groups > 1).mean()
    print(f"events sharing their second with another rating of the same user: {share:.1%}")

    events = order_events(ratings, "random", seed=42)
    users = events["user"].to_numpy()
    seconds = events["timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64)
    gaps = np.diff(seconds)[users[1:] == users[:-1]]
    for quantile in (0.5, 0.9, 0.95, 0.99):
        print(
            f"gap between consecutive ratings of a user, {quantile:.0%} quantile: "
            f"{np.quantile(gaps, quantile):,.0f} s"
        )
    for minutes in (30, 60, 120, 24 * 60):
        lengths = sessionize(events, "gap", minutes).groupby("session_id").size()
        print(
            f"gap {minutes:>5} min: {len(lengths):>6,} sessions, median length "
            f"{lengths.median():.0f}, mean {lengths.mean():.1f}"
        )
    per_user = events.groupby("user").size()
    print(
        f"user as session: {len(per_user):,} sessions, median length {per_user.median():.0f}, "
        f"max {per_user.max():,}"
    )


if __name__ == "__main__":
    main(sys.argv[1])
