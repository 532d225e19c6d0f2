"""Ingestion nodes."""

from conftest import make_movies_lines, make_ratings_lines
from movielens_sbr.data.movielens import RawArchive
from movielens_sbr.pipelines.ingestion.nodes import (
    describe_archive,
    parse_movies_node,
    parse_ratings_node,
)


def test_nodes_parse_the_archive_and_describe_it():
    ratings_lines = make_ratings_lines(n_users=5)
    archive = RawArchive(
        ratings=("\n".join(ratings_lines) + "\n").encode(),
        movies=("\n".join(make_movies_lines()) + "\n").encode("latin-1"),
        source="fixture.zip",
        md5="abc",
    )
    ratings = parse_ratings_node(archive)
    movies = parse_movies_node(archive)
    summary = describe_archive(archive, ratings, movies)
    assert len(ratings) == len(ratings_lines)
    assert summary["users"] == 5
    assert summary["movies"] == len(movies) == 40
    assert summary["md5"] == "abc"
    assert summary["first_rating"] <= summary["last_rating"]
