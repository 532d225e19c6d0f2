"""Ingestion nodes."""

import pytest

from conftest import make_movies_lines, make_ratings_lines
from movielens_sbr.data.movielens import ParseError, RawArchive
from movielens_sbr.params import ParameterError, base_section
from movielens_sbr.pipelines.ingestion.nodes import (
    describe_archive,
    parse_movies_node,
    parse_ratings_node,
)

INGESTION = base_section("ingestion")  # ml-1m


def raw_archive(ratings_lines: list[str]) -> RawArchive:
    return RawArchive(
        ratings=("\n".join(ratings_lines) + "\n").encode(),
        movies=("\n".join(make_movies_lines()) + "\n").encode("latin-1"),
        source="fixture.zip",
        md5="abc",
    )


def test_nodes_parse_the_archive_and_describe_it():
    ratings_lines = make_ratings_lines(n_users=5)
    archive = raw_archive(ratings_lines)
    ratings, ratings_report = parse_ratings_node(archive, INGESTION)
    movies, movies_report = parse_movies_node(archive, INGESTION)
    summary = describe_archive(archive, ratings, movies, ratings_report, movies_report)
    assert len(ratings) == len(ratings_lines)
    assert summary["users"] == 5
    assert summary["movies"] == len(movies) == 40
    assert summary["md5"] == "abc"
    assert summary["first_rating"] <= summary["last_rating"]
    assert summary["skipped_lines"] == {"ratings.dat": 0, "movies.dat": 0}


def test_bad_line_fails_by_default_and_is_skipped_on_request():
    lines = make_ratings_lines(n_users=10)
    archive = raw_archive([*lines[:5], "1::2::7::978300760", *lines[5:]])

    with pytest.raises(ParseError, match=r"fixture\.zip: ratings\.dat, line 6: Rating 7"):
        parse_ratings_node(archive, INGESTION)

    ratings, report = parse_ratings_node(archive, {**INGESTION, "on_bad_lines": "skip"})
    movies, movies_report = parse_movies_node(archive, {**INGESTION, "on_bad_lines": "skip"})
    summary = describe_archive(archive, ratings, movies, report, movies_report)
    assert len(ratings) == len(lines)
    assert summary["skipped_lines"] == {"ratings.dat": 1, "movies.dat": 0}
    assert summary["first_skipped"]["ratings.dat"] == ["line 6: Rating 7 is outside 1..5"]


def test_bad_ingestion_parameter_is_named():
    with pytest.raises(ParameterError, match=r"ingestion\.on_bad_lines"):
        parse_ratings_node(
            raw_archive(make_ratings_lines(n_users=2)), {**INGESTION, "on_bad_lines": "drop"}
        )


def test_nodes_dispatch_on_the_archive_dataset():
    from conftest import dataset_files

    clicks = RawArchive(
        ratings=dataset_files("yoochoose")["yoochoose-clicks.dat"],
        movies=b"",
        source="clicks",
        md5="",
        dataset="yoochoose",
    )
    ratings, ratings_report = parse_ratings_node(clicks, {**INGESTION, "dataset": "yoochoose"})
    movies, movies_report = parse_movies_node(clicks, {**INGESTION, "dataset": "yoochoose"})
    summary = describe_archive(clicks, ratings, movies, ratings_report, movies_report)

    assert summary["dataset"] == "yoochoose"
    assert summary["skipped_lines"] == {"yoochoose-clicks.dat": 0, "items": 0}
    assert summary["movies"] == ratings["item"].nunique()
    with pytest.raises(ValueError, match=r"reads 'yoochoose'.*--env ml-1m"):
        parse_ratings_node(clicks, INGESTION)
