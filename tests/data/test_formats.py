"""Every supported format to the same frames, each on a fixture written in that exact format."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import ARCHIVE_FOLDERS, dataset_files, make_ratings_lines, write_dataset
from movielens_sbr.data import formats
from movielens_sbr.data.formats import (
    parse_dataset_movies,
    parse_dataset_ratings,
    read_csv_movies,
    read_csv_ratings,
    read_yoochoose_clicks,
)
from movielens_sbr.data.movielens import (
    ARCHIVE_ENV_VAR,
    DATASETS,
    FORMATS,
    ArchiveError,
    MemberRef,
    dataset_spec,
    read_archive,
    resolve_archive,
)
from movielens_sbr.data.parsing import BadLinePolicy, ParseError

EVENTS = [tuple(int(v) for v in line.split("::")) for line in make_ratings_lines(n_users=60)]
RATINGS_COLUMNS = ["user", "item", "rating", "timestamp"]


def expected_events() -> pd.DataFrame:
    frame = pd.DataFrame(EVENTS, columns=RATINGS_COLUMNS)
    return frame.astype({"user": "int32", "item": "int32"})


def check_common_schema(ratings: pd.DataFrame, movies: pd.DataFrame) -> None:
    assert list(ratings.columns) == RATINGS_COLUMNS
    assert ratings["user"].dtype == np.int32 and ratings["item"].dtype == np.int32
    assert ratings["timestamp"].dtype.kind == "M"
    assert list(movies.columns) == ["item", "title", "year", "genres"]
    assert movies["item"].dtype == np.int32 and movies["item"].is_unique
    assert str(movies["year"].dtype) == "Int16"
    assert all(isinstance(genres, list) for genres in movies["genres"])


def parse(path: Path, dataset: str):
    raw = read_archive(path, dataset)
    ratings, ratings_report = parse_dataset_ratings(raw)
    movies, movies_report = parse_dataset_movies(raw)
    return raw, ratings, movies, ratings_report, movies_report


# ---------------------------------------------------------------------------------------------
# The table


def test_every_dataset_has_a_consistent_spec():
    assert set(DATASETS) == {
        "ml-100k",
        "ml-1m",
        "ml-10m",
        "ml-latest-small",
        "ml-20m",
        "ml-25m",
        "ml-32m",
        "yoochoose",
    }
    for name, spec in DATASETS.items():
        assert spec.name == name
        assert spec.format in FORMATS
        if spec.url:
            assert spec.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
            # Verified either by a pinned MD5 or by GroupLens' companion file, never neither.
            assert bool(spec.md5) != bool(spec.md5_url)
    assert DATASETS["ml-1m"].md5 == "c4d9eecfca2ab87c1945afe126590906"
    assert DATASETS["ml-32m"].md5_url.endswith("/ml-32m.zip.md5")
    assert DATASETS["yoochoose"].url is None  # login-only source: local copy only


def test_unknown_dataset_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown dataset 'ml-30m'.*'ml-32m'.*'yoochoose'"):
        dataset_spec("ml-30m")


# ---------------------------------------------------------------------------------------------
# ML-100K: tab-separated u.data, pipe-separated ISO-8859-1 u.item with genre flags


def test_ml_100k_tab_and_pipe_files(tmp_path: Path):
    _, ratings, movies, report, _ = parse(
        write_dataset(tmp_path / "ml-100k.zip", "ml-100k"), "ml-100k"
    )

    check_common_schema(ratings, movies)
    expected = expected_events()
    assert ratings[["user", "item"]].equals(expected[["user", "item"]])
    assert ratings["rating"].dtype == np.int8
    assert ratings["rating"].tolist() == expected["rating"].tolist()
    assert ratings["timestamp"].iloc[0] == pd.Timestamp(EVENTS[0][3], unit="s")
    assert report.skipped == 0
    first = movies.set_index("item").loc[1]
    assert first["title"] == "Misérables, Les (1995)"  # ISO-8859-1 decoded
    assert first["year"] == 1995
    assert first["genres"] == [formats.ML_100K_GENRES[2]]  # flag 1 + 1 % 18
    # No year in the title: the release date's year.
    assert movies.set_index("item").loc[2, "year"] == 1952
    assert len(movies) == 40


def test_ml_100k_bad_line_is_named(tmp_path: Path):
    files = dataset_files("ml-100k")
    lines = files["u.data"].decode().splitlines()
    lines[6] = "1::5::3::978300760"  # the ml-1m separator in a tab file
    path = tmp_path / "u"
    path.mkdir()
    (path / "u.data").write_text("\n".join(lines) + "\n")
    (path / "u.item").write_bytes(files["u.item"])

    with pytest.raises(ParseError, match=r"u\.data, line 7: expected 4 fields separated by '\\t'"):
        parse_dataset_ratings(read_archive(path, "ml-100k"))


# ---------------------------------------------------------------------------------------------
# ML-10M: '::' with half stars


def test_ml_10m_half_stars(tmp_path: Path):
    path = write_dataset(tmp_path / "ml-10m.zip", "ml-10m")
    raw, ratings, movies, _, _ = parse(path, "ml-10m")

    check_common_schema(ratings, movies)
    assert raw.ratings_ref is None  # small enough to read whole
    assert ratings["rating"].dtype == np.float32
    assert set(ratings["rating"].unique()) <= {x / 2 for x in range(1, 11)}
    assert (ratings["rating"] % 1 == 0.5).any()
    assert ratings["item"].tolist() == expected_events()["item"].tolist()
    assert movies.set_index("item").loc[2, "title"] == "Matrix, The (1999)"


def test_ml_10m_rating_off_the_half_star_grid_is_named(tmp_path: Path):
    data = dataset_files("ml-10m")["ratings.dat"].decode().splitlines()
    data[3] = "1::5::4.3::978300760"
    folder = tmp_path / "ml-10M100K"
    folder.mkdir()
    (folder / "ratings.dat").write_text("\n".join(data) + "\n")
    (folder / "movies.dat").write_bytes(dataset_files("ml-10m")["movies.dat"])

    with pytest.raises(ParseError, match=r"line 4: Rating 4\.3 is not one of 0\.5"):
        parse_dataset_ratings(read_archive(tmp_path, "ml-10m"))


# ---------------------------------------------------------------------------------------------
# CSV releases: header, quoted titles with commas, streamed from the zip member


@pytest.mark.parametrize("dataset", ["ml-latest-small", "ml-20m", "ml-25m", "ml-32m"])
def test_csv_release_streams_from_the_zip(tmp_path: Path, dataset: str):
    path = write_dataset(tmp_path / f"{dataset}.zip", dataset)
    raw, ratings, movies, report, movies_report = parse(path, dataset)

    check_common_schema(ratings, movies)
    assert raw.ratings == b"" and raw.ratings_ref is not None  # never read whole
    assert raw.ratings_ref.member == f"{ARCHIVE_FOLDERS[dataset]}/ratings.csv"
    assert ratings["rating"].dtype == np.float32
    assert ratings["timestamp"].dtype == np.dtype("datetime64[s]")
    assert ratings["user"].tolist() == expected_events()["user"].tolist()
    assert report.lines == len(EVENTS) and report.skipped == 0
    by_item = movies.set_index("item")
    assert by_item.loc[2, "title"] == "Matrix, The (1999)"  # the quoted comma stays
    assert by_item.loc[3, "title"] == "American President, The (1995)"
    assert by_item.loc[3, "genres"] == ["Comedy", "Drama", "Romance"]
    assert by_item.loc[1, "title"] == "Amélie (2001)"  # UTF-8
    assert by_item.loc[4, "genres"] == []  # "(no genres listed)"
    assert by_item.loc[2, "year"] == 1999
    assert movies_report.skipped == 0


def csv_ratings(*rows: str) -> bytes:
    return ("userId,movieId,rating,timestamp\n" + "\n".join(rows) + "\n").encode()


GOOD_CSV = ["1,10,4.5,978300760", "1,11,3.0,978300761", "2,10,0.5,978300762"]


def test_csv_ratings_in_small_batches_match_one_batch(monkeypatch):
    lines = [f"{u},{i},{_r},{t}" for u, i, _r, t in EVENTS]
    whole, _ = read_csv_ratings(csv_ratings(*lines))
    monkeypatch.setattr(formats, "_BLOCK_SIZE", 256)  # many batches

    batched, _ = read_csv_ratings(csv_ratings(*lines))

    assert len(whole) == len(EVENTS)
    pd.testing.assert_frame_equal(batched, whole)


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        ("1,12,3.0", "expected 4 fields separated by ','"),
        ("1,12,7.0,978300760", "Rating 7.0 is not one of"),
        ("0,12,3.0,978300760", "UserID 0 is outside"),
        ("1,12,3.0,12345", "Timestamp 12345 is outside"),
    ],
)
def test_csv_bad_rows_fail_with_line_or_are_skipped(bad_row, reason):
    data = csv_ratings(GOOD_CSV[0], bad_row, *GOOD_CSV[1:])

    with pytest.raises(ParseError) as excinfo:
        read_csv_ratings(data, "ratings.csv")
    assert f"ratings.csv, line 3: {reason}" in str(excinfo.value)
    assert "ingestion.max_skipped_fraction=0.01" in str(excinfo.value)  # 1 of 4: too many to skip

    ratings, report = read_csv_ratings(data, "ratings.csv", BadLinePolicy("skip", 0.5))
    assert ratings["item"].tolist() == [10, 11, 10]
    assert report.skipped == 1 and report.lines == 4
    assert report.first_skipped[0].startswith(f"line 3: {reason}")


def test_csv_unparsable_value_fails_naming_the_line():
    data = csv_ratings(*GOOD_CSV, "2,abc,3.0,978300763")

    for policy in ("fail", "skip"):
        with pytest.raises(ParseError) as excinfo:
            read_csv_ratings(data, "ratings.csv", policy)
        message = str(excinfo.value)
        assert "ratings.csv, line 5: MovieID 'abc' is not an integer" in message
        assert "cannot be skipped" in message


def test_csv_duplicate_pair_is_named_with_its_line():
    data = csv_ratings(*GOOD_CSV, "1,10,2.0,978300799")

    with pytest.raises(ParseError, match=r"line 5: UserID 1 rated MovieID 10 again"):
        read_csv_ratings(data, "ratings.csv")
    ratings, report = read_csv_ratings(data, "ratings.csv", BadLinePolicy("skip", 0.5))
    assert len(ratings) == 3 and ratings["rating"].iloc[0] == 4.5  # the first one is kept
    assert report.skipped == 1


def test_csv_wrong_header_or_empty_file():
    with pytest.raises(ParseError, match=r"line 1: the header is 'user,item,rating,time'"):
        read_csv_ratings(b"user,item,rating,time\n1,2,3,978300760\n", "ratings.csv")
    with pytest.raises(ParseError, match="no ratings"):
        read_csv_ratings(b"userId,movieId,rating,timestamp\n", "ratings.csv")
    with pytest.raises(ParseError, match="empty"):
        read_csv_ratings(b"", "ratings.csv")


def test_csv_movies_bad_row_and_duplicate():
    data = b'movieId,title,genres\n1,"A, The (1990)",Drama\n2,B (1991)\n1,C (1992),Comedy\n'

    with pytest.raises(ParseError, match=r"movies\.csv, line 3: expected 3 fields"):
        read_csv_movies(data, "movies.csv")
    movies, report = read_csv_movies(data, "movies.csv", BadLinePolicy("skip", 1))
    assert movies["title"].tolist() == ["A, The (1990)"]
    assert report.skipped == 2
    assert report.first_skipped == (
        "line 3: expected 3 fields, found 2",
        "line 4: duplicate MovieID 1",
    )


def test_csv_streamed_from_member_and_from_file_agree(tmp_path: Path):
    path = write_dataset(tmp_path / "ml-20m.zip", "ml-20m")
    with zipfile.ZipFile(path) as archive:
        plain = tmp_path / "ratings.csv"
        plain.write_bytes(archive.read("ml-20m/ratings.csv"))

    from_member, _ = read_csv_ratings(MemberRef(str(path), "ml-20m/ratings.csv"))
    from_file, _ = read_csv_ratings(MemberRef(str(plain)))

    pd.testing.assert_frame_equal(from_member, from_file)


# ---------------------------------------------------------------------------------------------
# YOOCHOOSE clicks: session id, ISO time with milliseconds, item id, category


def test_yoochoose_clicks_from_folder_file_or_zip(tmp_path: Path):
    folder = write_dataset(tmp_path / "yoochoose-data", "yoochoose")
    clicks_file = folder / "yoochoose-clicks.dat"
    zipped = tmp_path / "clicks.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(clicks_file, "yoochoose-data/yoochoose-clicks.dat")

    results = [parse(path, "yoochoose") for path in (folder, clicks_file, zipped)]

    raw, ratings, movies, report, _ = results[0]
    check_common_schema(ratings, movies)
    # A folder is checksummed over its member files: here the one clicks file.
    assert raw.md5 == results[1][0].md5 != ""
    # The click session is the "user"; clicks have no rating; times keep milliseconds.
    assert ratings["user"].tolist() == expected_events()["user"].tolist()
    assert ratings["item"].tolist() == (expected_events()["item"] + 214536500).tolist()
    assert ratings["rating"].isna().all() and ratings["rating"].dtype == np.float32
    assert ratings["timestamp"].dtype == np.dtype("datetime64[ms]")
    assert ratings["timestamp"].iloc[1] == pd.Timestamp(EVENTS[1][3], unit="s") + pd.Timedelta(
        milliseconds=1
    )
    assert report.skipped == 0
    by_item = movies.set_index("item")
    assert by_item.loc[214536501, "title"] == "item 214536501"
    assert by_item.loc[214536501, "genres"] == ["S"]  # item % 4 == 1
    assert by_item.loc[214536504, "genres"] == []  # category 0: unknown
    assert by_item.loc[214536503, "genres"] == ["2053821460"]  # a brand id, kept as given
    assert movies["year"].isna().all()
    for _, other_ratings, other_movies, _, _ in results[1:]:
        pd.testing.assert_frame_equal(other_ratings, ratings)
        pd.testing.assert_frame_equal(other_movies, movies)


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("5,2014-04-07T10:51:09.277Z,214536502", "expected 4 fields separated by ','"),
        ("5,2014-04-07 10:51,214536502,0", "is not ISO 8601"),
        ("5,2014-04-07T10:51:09.277Z,item7,0", "item id 'item7' is not a positive integer"),
    ],
)
def test_yoochoose_bad_line_is_named(bad_line, reason):
    lines = dataset_files("yoochoose")["yoochoose-clicks.dat"].decode().splitlines()
    lines.insert(2, bad_line)
    data = ("\n".join(lines) + "\n").encode()

    with pytest.raises(ParseError) as excinfo:
        read_yoochoose_clicks(data, "clicks.dat")
    assert "clicks.dat, line 3:" in str(excinfo.value)
    assert reason in str(excinfo.value)


def test_yoochoose_skip_drops_a_short_line():
    lines = dataset_files("yoochoose")["yoochoose-clicks.dat"].decode().splitlines()
    lines.insert(2, "5,2014-04-07T10:51:09.277Z,214536502")
    clicks, report = read_yoochoose_clicks(
        ("\n".join(lines) + "\n").encode(), "c.dat", BadLinePolicy("skip")
    )

    assert len(clicks) == len(EVENTS)
    assert report.skipped == 1 and report.first_skipped[0].startswith("line 3: expected 4")


def test_yoochoose_without_local_copy_says_how_to_get_it(tmp_path: Path):
    with pytest.raises(ArchiveError) as excinfo:
        resolve_archive(tmp_path / "yoochoose-data", None, None, None, dataset="yoochoose")

    message = str(excinfo.value)
    assert "login" in message and "7z x yoochoose-data.7z" in message
    assert ARCHIVE_ENV_VAR in message and str(tmp_path / "yoochoose-data") in message


def test_a_wrong_archive_for_the_dataset_is_named(tmp_path: Path):
    path = write_dataset(tmp_path / "ml-20m.zip", "ml-20m")

    with pytest.raises(ArchiveError, match=r"has no u\.data.*MovieLens 100K archive"):
        read_archive(path, "ml-100k")
