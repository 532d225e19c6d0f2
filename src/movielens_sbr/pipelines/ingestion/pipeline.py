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
            Node(parse_ratings_node, "movielens_archive", "ratings", name="parse_ratings"),
            Node(parse_movies_node, "movielens_archive", "movies", name="parse_movies"),
            Node(
                describe_archive,
                ["movielens_archive", "ratings", "movies"],
                "archive_summary",
                name="describe_archive",
            ),
        ],
        tags="ingestion",
    )
