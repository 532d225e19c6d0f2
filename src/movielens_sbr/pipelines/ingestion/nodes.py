"""Ingestion nodes: raw MovieLens bytes -> typed ``ratings`` and ``movies`` tables."""

import pandas as pd

from movielens_sbr.data.movielens import RawArchive, read_movies, read_ratings
from movielens_sbr.params import IngestionParams, validate_section


def parse_ratings_node(
    archive: RawArchive, params: dict | None = None
) -> tuple[pd.DataFrame, dict]:
    """ratings.dat -> user, item, rating, timestamp; and what was skipped."""
    config: IngestionParams = validate_section("ingestion", params or {})
    ratings, report = read_ratings(
        archive.ratings,
        f"{archive.source}: ratings.dat",
        config.on_bad_lines,
        config.max_skipped_fraction,
    )
    return ratings, report.as_dict()


def parse_movies_node(archive: RawArchive, params: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """movies.dat -> item, title, year, genres; and what was skipped."""
    config: IngestionParams = validate_section("ingestion", params or {})
    movies, report = read_movies(
        archive.movies,
        f"{archive.source}: movies.dat",
        config.on_bad_lines,
        config.max_skipped_fraction,
    )
    return movies, report.as_dict()


def describe_archive(
    archive: RawArchive,
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    ratings_report: dict | None = None,
    movies_report: dict | None = None,
) -> dict:
    """Where the data came from, how much of it there is, and how many lines were skipped."""
    reports = {"ratings.dat": ratings_report, "movies.dat": movies_report}
    return {
        "source": archive.source,
        "md5": archive.md5,
        "ratings": len(ratings),
        "users": int(ratings["user"].nunique()),
        "movies": len(movies),
        "first_rating": str(ratings["timestamp"].min()),
        "last_rating": str(ratings["timestamp"].max()),
        "skipped_lines": {
            name: (report or {}).get("skipped_lines", 0) for name, report in reports.items()
        },
        "first_skipped": {
            name: (report or {}).get("first_skipped", []) for name, report in reports.items()
        },
    }
