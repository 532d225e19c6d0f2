"""Ingestion nodes: raw MovieLens bytes -> typed ``ratings`` and ``movies`` tables."""

import pandas as pd

from movielens_sbr.data.movielens import RawArchive, parse_movies, parse_ratings


def parse_ratings_node(archive: RawArchive) -> pd.DataFrame:
    """ratings.dat -> user, item, rating, timestamp."""
    return parse_ratings(archive.ratings, f"{archive.source}: ratings.dat")


def parse_movies_node(archive: RawArchive) -> pd.DataFrame:
    """movies.dat -> item, title, year, genres."""
    return parse_movies(archive.movies, f"{archive.source}: movies.dat")


def describe_archive(archive: RawArchive, ratings: pd.DataFrame, movies: pd.DataFrame) -> dict:
    """Where the data came from and how much of it there is."""
    return {
        "source": archive.source,
        "md5": archive.md5,
        "ratings": len(ratings),
        "users": int(ratings["user"].nunique()),
        "movies": len(movies),
        "first_rating": str(ratings["timestamp"].min()),
        "last_rating": str(ratings["timestamp"].max()),
    }
