"""Ingestion: the MovieLens archive -> ``ratings`` and ``movies``."""

from kedro.pipeline import Node, Pipeline

from movielens_sbr.pipelines.ingestion.nodes import (
    describe_archive,
    parse_movies_node,
    parse_ratings_node,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            # The parse reports stay in memory: describe_archive folds them into the summary.
            Node(
                parse_movies_node,
                ["movielens_archive", "params:ingestion"],
                ["movies", "movies_parse_report"],
                name="parse_movies",
            ),
            Node(
                parse_ratings_node,
                ["movielens_archive", "movies", "params:ingestion"],
                ["ratings", "ratings_parse_report"],
                name="parse_ratings",
            ),
            Node(
                describe_archive,
                [
                    "movielens_archive",
                    "ratings",
                    "movies",
                    "ratings_parse_report",
                    "movies_parse_report",
                ],
                "archive_summary",
                name="describe_archive",
            ),
        ],
        tags="ingestion",
    )
