"""Ingestion nodes: the raw files of any supported dataset -> ``ratings`` and ``movies``.

Only the format differences live here (in ``data/formats.py``): every dataset comes out
in the same schema, so the later pipelines do not change.
"""

import pandas as pd

from movielens_sbr.data.formats import parse_dataset_movies, parse_dataset_ratings
from movielens_sbr.data.movielens import RawArchive, dataset_spec
from movielens_sbr.params import IngestionParams, validate_section


def _config(archive: RawArchive, params: dict) -> IngestionParams:
    config: IngestionParams = validate_section("ingestion", params)
    # The catalog (globals.yml) and the parameters name the dataset separately; both
    # come from the same Kedro environment, and a mismatch would mislabel every output.
    if config.dataset != archive.dataset:
        raise ValueError(
            f"ingestion.dataset is {config.dataset!r} but the catalog's movielens_archive "
            f"reads {archive.dataset!r}: switch datasets with `kedro run --env "
            f"{config.dataset}` (conf/{config.dataset}/ sets both), not with --params alone."
        )
    return config


def parse_ratings_node(archive: RawArchive, params: dict) -> tuple[pd.DataFrame, dict]:
    """Events -> user, item, rating, timestamp; and what was skipped."""
    config = _config(archive, params)
    ratings, report = parse_dataset_ratings(
        archive, config.on_bad_lines, config.max_skipped_fraction
    )
    return ratings, report.as_dict()


def parse_movies_node(archive: RawArchive, params: dict) -> tuple[pd.DataFrame, dict]:
    """Titles -> item, title, year, genres; and what was skipped."""
    config = _config(archive, params)
    movies, report = parse_dataset_movies(archive, config.on_bad_lines, config.max_skipped_fraction)
    return movies, report.as_dict()


def describe_archive(
    archive: RawArchive,
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    ratings_report: dict | None = None,
    movies_report: dict | None = None,
) -> dict:
    """Where the data came from, how much of it there is, and how many lines were skipped."""
    spec = dataset_spec(archive.dataset)
    reports = {spec.ratings: ratings_report, spec.movies or "items": movies_report}
    return {
        "dataset": spec.name,
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
