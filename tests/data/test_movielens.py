"""MovieLens archive handling: parsing, zip reading, HTTPS-only download and resolution."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import struct
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from conftest import KNOWN_ARCHIVES, make_movies_lines, make_ratings_lines, write_archive
from movielens_sbr.data import movielens
from movielens_sbr.data.dat_format import parse_movies, parse_ratings, read_movies, read_ratings
from movielens_sbr.data.movielens import (
    ARCHIVE_ENV_VAR,
    ArchiveError,
    RawArchive,
    download,
    md5_of,
    read_archive,
    resolve_archive,
)
from movielens_sbr.data.parsing import BadLinePolicy, ParseError

GOOD = "1::10::5::978300760"  # 2000-12-31 22:12:40 UTC


def ratings_bytes(*lines: str, newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode("latin-1")


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


# ---------------------------------------------------------------------------------------------
# parse_ratings


def test_parse_ratings_dtypes_and_values():
    ratings = parse_ratings(ratings_bytes(GOOD, "1::20::3::978300761", "42::7::1::1046454590"))

    assert list(ratings.columns) == ["user", "item", "rating", "timestamp"]
    assert ratings["user"].dtype == np.int32
    assert ratings["item"].dtype == np.int32
    assert ratings["rating"].dtype == np.int8
    assert ratings["timestamp"].dtype == np.dtype("datetime64[s]")
    assert len(ratings) == 3
    assert ratings["user"].tolist() == [1, 1, 42]
    assert ratings["item"].tolist() == [10, 20, 7]
    assert ratings["rating"].tolist() == [5, 3, 1]
    assert ratings["timestamp"].tolist() == [
        pd.Timestamp("2000-12-31 22:12:40"),
        pd.Timestamp("2000-12-31 22:12:41"),
        pd.Timestamp("2003-02-28 17:49:50"),
    ]


def test_parse_ratings_crlf_and_missing_final_newline():
    lines = [GOOD, "2::11::4::978300800"]
    expected = parse_ratings(ratings_bytes(*lines))

    crlf = parse_ratings(ratings_bytes(*lines, newline="\r\n"))
    no_final_newline = parse_ratings("\n".join(lines).encode())

    pd.testing.assert_frame_equal(crlf, expected)
    pd.testing.assert_frame_equal(no_final_newline, expected)


def test_parse_ratings_generated_lines_round_trip():
    lines = make_ratings_lines(n_users=5, seed=3)
    ratings = parse_ratings(ratings_bytes(*lines))

    assert len(ratings) == len(lines)
    first = lines[0].split("::")
    assert ratings.iloc[0][["user", "item", "rating"]].tolist() == [int(v) for v in first[:3]]
    assert ratings["timestamp"].iloc[0] == pd.Timestamp(int(first[3]), unit="s")


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("1::2::3", "expected 4 fields"),
        ("1::2::3::978300760::9", "expected 4 fields"),
        ("x::2::3::978300760", "UserID 'x' is not an integer"),
        ("1::2.5::3::978300760", "MovieID '2.5' is not an integer"),
        ("1::2::0::978300760", "Rating 0 is outside 1..5"),
        ("1::2::6::978300760", "Rating 6 is outside 1..5"),
        ("1::2::3::12345", "Timestamp 12345 is outside"),
        ("1::2::3::2100000000", "Timestamp 2100000000 is outside"),
        ("0::2::3::978300760", "UserID 0 is outside"),
        ("1::-4::3::978300760", "MovieID -4 is outside"),
    ],
)
def test_parse_ratings_reports_file_and_line(bad_line, reason):
    data = ratings_bytes(GOOD, GOOD, bad_line, GOOD)

    with pytest.raises(ParseError) as excinfo:
        parse_ratings(data, file_name="my_ratings.dat")

    message = str(excinfo.value)
    assert "1 bad line(s) in my_ratings.dat" in message
    assert "my_ratings.dat, line 3:" in message
    assert reason in message
    assert "line 1:" not in message and "line 2:" not in message and "line 4:" not in message


def test_parse_ratings_reports_right_line_with_crlf():
    data = ratings_bytes(GOOD, GOOD, GOOD, "1::2::3", newline="\r\n")

    with pytest.raises(ParseError, match=r"ratings\.dat, line 4: expected 4 fields"):
        parse_ratings(data)


def test_parse_ratings_counts_all_bad_lines_but_shows_five():
    lines = [GOOD] * 3 + ["1::2::9::978300760"] * 7 + [GOOD]
    with pytest.raises(ParseError) as excinfo:
        parse_ratings(ratings_bytes(*lines))

    message = str(excinfo.value)
    assert message.startswith("7 bad line(s) in ratings.dat")
    assert [f"line {n}:" in message for n in range(4, 11)] == [True] * 5 + [False] * 2


def test_parse_ratings_mixed_errors_are_sorted_by_line():
    lines = [GOOD, "1::2::3::1", GOOD, "1::2::0::978300760", "0::2::3::978300760"]
    with pytest.raises(ParseError) as excinfo:
        parse_ratings(ratings_bytes(*lines))

    message = str(excinfo.value)
    assert message.startswith("3 bad line(s)")
    positions = [message.index(f"line {n}:") for n in (2, 4, 5)]
    assert positions == sorted(positions)


def test_parse_ratings_structural_errors_list_every_bad_line():
    lines = [GOOD, "1::2::3", GOOD, "a::b::c::d", GOOD]
    with pytest.raises(ParseError) as excinfo:
        parse_ratings(ratings_bytes(*lines))

    message = str(excinfo.value)
    assert message.startswith("2 bad line(s) in ratings.dat")
    assert "ratings.dat, line 2: expected 4 fields separated by '::', found 3" in message
    assert "ratings.dat, line 4: UserID 'a' is not an integer" in message


def test_parse_ratings_tab_separator_is_refused():
    with pytest.raises(ParseError) as excinfo:
        parse_ratings(ratings_bytes(GOOD, "1\t2\t3\t978300760"), file_name="tabs.dat")

    assert "tabs.dat" in str(excinfo.value)
    assert "tab" in str(excinfo.value)


def test_parse_ratings_tab_separator_names_the_line():
    with pytest.raises(ParseError, match=r"line 2\b"):
        parse_ratings(ratings_bytes(GOOD, "1\t2\t3\t978300760", GOOD))


@pytest.mark.parametrize("data", [b"", b"\n", b"  \r\n\n", b"\t\n"])
def test_parse_ratings_empty_data(data):
    with pytest.raises(ParseError, match=r"empty_ratings\.dat is empty"):
        parse_ratings(data, file_name="empty_ratings.dat")


@pytest.mark.parametrize("bad_line", ["1::2::300::978300760", "99999999999::2::3::978300760"])
def test_parse_ratings_out_of_range_integers_name_the_line(bad_line):
    with pytest.raises(ParseError, match=r"ratings\.dat, line 2:"):
        parse_ratings(ratings_bytes(GOOD, bad_line, GOOD))


def test_parse_ratings_line_numbers_count_blank_lines():
    data = ratings_bytes(GOOD, "", "1::2::0::978300760")

    with pytest.raises(ParseError, match=r"ratings\.dat, line 3:"):
        parse_ratings(data)


def test_parse_ratings_line_with_two_problems_counts_once():
    with pytest.raises(ParseError) as excinfo:
        parse_ratings(ratings_bytes(GOOD, "0::2::0::978300760"))

    assert str(excinfo.value).startswith("1 bad line(s)")


# ---------------------------------------------------------------------------------------------
# parse_movies


def test_parse_movies_title_year_genres():
    data = "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Matrix, The (1999)::Action\n"
    movies = parse_movies(data.encode("latin-1"))

    assert list(movies.columns) == ["item", "title", "year", "genres"]
    assert movies["item"].dtype == np.int32
    assert str(movies["year"].dtype) == "Int16"
    assert movies["item"].tolist() == [1, 2]
    assert movies["title"].tolist() == ["Toy Story (1995)", "Matrix, The (1999)"]
    assert movies["year"].tolist() == [1995, 1999]
    assert movies["genres"].tolist() == [["Animation", "Children's", "Comedy"], ["Action"]]


def test_parse_movies_latin1_title_and_missing_year():
    data = "7::Amélie (2001)::Comedy|Romance\r\n8::Untitled::Drama\r\n".encode("latin-1")
    assert b"\xe9" in data  # ISO-8859-1, not UTF-8

    movies = parse_movies(data)

    assert movies["title"].tolist() == ["Amélie (2001)", "Untitled"]
    assert movies["year"].iloc[0] == 2001
    assert movies["year"].iloc[1] is pd.NA
    assert movies["genres"].iloc[1] == ["Drama"]


def test_parse_movies_generated_lines():
    lines = make_movies_lines(12)
    movies = parse_movies(("\n".join(lines) + "\n").encode("latin-1"))

    assert len(movies) == 12
    assert movies["item"].tolist() == list(range(1, 13))
    assert movies.loc[movies["item"] == 1, "title"].item() == "Amélie (2001)"
    assert movies["year"].notna().all()


@pytest.mark.parametrize("bad_line", ["x::Title (2000)::Drama", "3::No genres (2000)", "3"])
def test_parse_movies_bad_line_reports_line(bad_line):
    data = f"1::A (2000)::Drama\n2::B (2001)::Comedy\n{bad_line}\n".encode("latin-1")

    with pytest.raises(ParseError) as excinfo:
        parse_movies(data, file_name="my_movies.dat")

    message = str(excinfo.value)
    assert "1 bad line(s) in my_movies.dat" in message
    assert "my_movies.dat, line 3: " in message


def test_parse_movies_duplicate_movie_id():
    data = b"1::A (2000)::Drama\n2::B (2001)::Comedy\n1::C (2002)::Action\n"

    with pytest.raises(ParseError, match=r"movies\.dat, line 3: duplicate MovieID 1"):
        parse_movies(data)


def test_parse_movies_line_numbers_count_blank_lines():
    with pytest.raises(ParseError, match=r"movies\.dat, line 3:"):
        parse_movies(b"1::A (2000)::Drama\n\nx::B (2001)::Comedy\n")


@pytest.mark.parametrize("movie_id", [b"99999999999", b"\xb2"])  # 2**36 and latin-1 superscript 2
def test_parse_movies_unconvertible_movie_id_is_a_parse_error(movie_id):
    with pytest.raises(ParseError, match=r"movies\.dat, line 2:"):
        parse_movies(b"1::A (2000)::Drama\n" + movie_id + b"::B (2001)::Comedy\n")


# ---------------------------------------------------------------------------------------------
# Separators, encodings, duplicates and on_bad_lines


@pytest.mark.parametrize("bad_line", ["1,2,3,978300760", "1;2;3;978300760", "1:2:3:978300760"])
def test_parse_ratings_wrong_separator_names_the_line(bad_line):
    with pytest.raises(ParseError) as excinfo:
        # One bad line among 200: few enough to suggest skipping it.
        parse_ratings(
            ratings_bytes(GOOD, bad_line, *[f"{u}::10::5::978300760" for u in range(2, 200)])
        )

    message = str(excinfo.value)
    assert "ratings.dat, line 2: expected 4 fields separated by '::', found 1" in message
    assert "ingestion.on_bad_lines: skip" in message  # the way out is named


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_parse_ratings_wrong_encoding_is_named(encoding):
    data = ("\n".join([GOOD, "2::11::4::978300800"]) + "\n").encode(encoding)

    with pytest.raises(ParseError, match=r"my\.dat is not ASCII / ISO-8859-1 text.*line 1"):
        parse_ratings(data, file_name="my.dat")


def test_parse_movies_wrong_encoding_is_named():
    data = "1::Amélie (2001)::Comedy\n".encode("utf-16")

    with pytest.raises(ParseError, match=r"movies\.dat is not ASCII / ISO-8859-1"):
        parse_movies(data)


def test_utf8_files_are_read_correctly():
    ratings = parse_ratings(b"\xef\xbb\xbf" + ratings_bytes(GOOD))  # UTF-8 byte-order mark
    movies = parse_movies("7::Amélie (2001)::Comedy\n8::Señor (1999)::Drama\n".encode())

    assert ratings["user"].tolist() == [1]
    assert movies["title"].tolist() == ["Amélie (2001)", "Señor (1999)"]


def test_parse_ratings_duplicate_user_movie_pairs_name_both_lines():
    lines = [GOOD, "2::11::4::978300800", "", "1::10::3::978300999", "2::11::4::978300800"]

    with pytest.raises(ParseError) as excinfo:
        parse_ratings(ratings_bytes(*lines))

    message = str(excinfo.value)
    assert message.startswith("2 bad line(s) in ratings.dat")
    assert "line 4: UserID 1 rated MovieID 10 again (first on line 1)" in message
    assert "line 5: UserID 2 rated MovieID 11 again (first on line 2)" in message


def test_read_ratings_skip_drops_bad_and_duplicate_lines_and_reports_them():
    good = make_ratings_lines(n_users=20, seed=1)
    lines = [*good[:50], "1::2::9::978300760", good[3], "a::b", *good[50:]]

    ratings, report = read_ratings(ratings_bytes(*lines), "r.dat", BadLinePolicy("skip", 0.05))

    pd.testing.assert_frame_equal(ratings, parse_ratings(ratings_bytes(*good)))
    assert report.skipped == 3
    assert report.lines == len(lines)
    user, item = good[3].split("::")[:2]
    assert report.as_dict()["first_skipped"] == [
        "line 51: Rating 9 is outside 1..5",
        f"line 52: UserID {user} rated MovieID {item} again (first on line 4)",
        "line 53: expected 4 fields separated by '::', found 2",
    ]


def test_read_ratings_skip_refuses_a_file_mostly_wrong():
    lines = [GOOD] + ["1,2,3,978300760"] * 9

    with pytest.raises(ParseError, match=r"9 of 10 lines are bad, more than .*fraction=0\.5"):
        read_ratings(ratings_bytes(*lines), policy=BadLinePolicy("skip", 0.5))


def test_read_ratings_good_file_reports_nothing_skipped():
    ratings, report = read_ratings(ratings_bytes(GOOD), policy=BadLinePolicy("skip"))

    assert len(ratings) == 1
    assert report.as_dict() == {
        "file": "ratings.dat",
        "lines": 1,
        "skipped_lines": 0,
        "first_skipped": [],
    }


def test_read_movies_skip_keeps_the_first_of_duplicates():
    data = b"1::A (2000)::Drama\n2::B::x::y\n1::C (2002)::Action\n3::D (2003)::Comedy\n"

    movies, report = read_movies(data, policy=BadLinePolicy("skip", 0.5))

    assert movies["item"].tolist() == [1, 3]
    assert movies["title"].tolist() == ["A (2000)", "D (2003)"]
    assert report.skipped == 2
    assert report.first_skipped == (
        "line 2: expected 3 fields separated by '::', found 4",
        "line 3: duplicate MovieID 1 (first on line 1)",
    )


def test_unknown_on_bad_lines_is_refused():
    with pytest.raises(ValueError, match="on_bad_lines"):
        BadLinePolicy("ignore")


# ---------------------------------------------------------------------------------------------
# read_archive


def test_read_archive_zip_with_folder(tiny_archive: Path):
    raw = read_archive(tiny_archive)

    assert isinstance(raw, RawArchive)
    with zipfile.ZipFile(tiny_archive) as archive:
        assert raw.ratings == archive.read("ml-1m/ratings.dat")
        assert raw.movies == archive.read("ml-1m/movies.dat")
    assert raw.source == str(tiny_archive)
    assert raw.md5 == md5_of(tiny_archive) == md5_hex(tiny_archive.read_bytes())
    assert len(parse_ratings(raw.ratings)) == len(make_ratings_lines())


def test_read_archive_zip_at_root(tmp_path: Path):
    path = write_archive(tmp_path / "flat.zip", [GOOD], ["10::X (2000)::Drama"], folder="")

    raw = read_archive(path)

    assert raw.ratings == ratings_bytes(GOOD)
    assert raw.movies == b"10::X (2000)::Drama\n"


def test_read_archive_unpacked_folder(tmp_path: Path):
    folder = tmp_path / "unpacked"
    (folder / "ml-1m").mkdir(parents=True)
    (folder / "ml-1m" / "ratings.dat").write_bytes(ratings_bytes(GOOD))
    (folder / "ml-1m" / "movies.dat").write_bytes(b"10::X (2000)::Drama\n")

    raw = read_archive(folder)

    assert raw.ratings == ratings_bytes(GOOD)
    assert raw.movies == b"10::X (2000)::Drama\n"
    assert raw.source == str(folder)
    # The folder's checksum covers its member files and follows their content.
    assert raw.md5 == hashlib.md5(ratings_bytes(GOOD) + b"10::X (2000)::Drama\n").hexdigest()
    (folder / "ml-1m" / "movies.dat").write_bytes(b"10::Y (2000)::Drama\n")
    assert read_archive(folder).md5 not in ("", raw.md5)
    (folder / "ml-1m" / "movies.dat").write_bytes(b"10::X (2000)::Drama\n")

    # A second copy anywhere in the folder: which one is meant would be a guess.
    (folder / "ml-1m" / "old" / "deeper").mkdir(parents=True)
    (folder / "ml-1m" / "old" / "deeper" / "ratings.dat").write_bytes(b"stale")
    with pytest.raises(ArchiveError, match=r"2 files named ratings\.dat") as error:
        read_archive(folder)
    assert "old/deeper/ratings.dat" in str(error.value) and "ml-1m/ratings.dat" in str(error.value)


def test_read_archive_zip_with_a_stray_ratings_file_lists_both(tmp_path: Path):
    """A small ratings.dat at the root (or above ml-1m/) must not replace the real one."""
    path = tmp_path / "ml-1m.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ratings.dat", ratings_bytes(GOOD))
        archive.writestr("ml-1m/ratings.dat", ratings_bytes(GOOD, "2::10::4::978300760"))
        archive.writestr("ml-1m/movies.dat", b"10::X (2000)::Drama\n")
    with pytest.raises(ArchiveError, match=r"2 files named ratings.dat.*'ml-1m/ratings.dat', "):
        read_archive(path)


def test_read_archive_folder_has_the_zip_size_limits(tmp_path: Path, monkeypatch):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "movies.dat").write_bytes(b"10::X (2000)::Drama\n")
    with open(folder / "ratings.dat", "wb") as handle:  # sparse: takes no disk space
        handle.truncate(3 << 30)
    with pytest.raises(ArchiveError, match=r"3221225472 bytes, far beyond"):
        read_archive(folder)

    (folder / "ratings.dat").unlink()
    (folder / "ratings.dat").symlink_to("/dev/zero")
    with pytest.raises(ArchiveError, match="not a regular file"):
        read_archive(folder)


def test_read_archive_names_a_plain_data_file_as_such(tmp_path: Path):
    (tmp_path / "ratings.dat").write_bytes(ratings_bytes(GOOD))
    (tmp_path / "movies.dat").write_bytes(b"10::X (2000)::Drama\n")
    with pytest.raises(ArchiveError, match="not its archive") as error:
        read_archive(tmp_path / "ratings.dat")
    assert f"{tmp_path}" in str(error.value) and "delete it" not in str(error.value)


def test_read_archive_folder_without_movies(tmp_path: Path):
    (tmp_path / "ratings.dat").write_bytes(ratings_bytes(GOOD))

    with pytest.raises(ArchiveError) as excinfo:
        read_archive(tmp_path)

    assert "has no movies.dat" in str(excinfo.value)
    assert ARCHIVE_ENV_VAR in str(excinfo.value)


def test_read_archive_missing_file(tmp_path: Path):
    missing = tmp_path / "nowhere" / "ml-1m.zip"

    with pytest.raises(ArchiveError, match="does not exist") as excinfo:
        read_archive(missing)

    assert str(missing) in str(excinfo.value)


def test_read_archive_empty_file(tmp_path: Path):
    empty = tmp_path / "ml-1m.zip"
    empty.touch()

    with pytest.raises(ArchiveError, match="is empty") as excinfo:
        read_archive(empty)

    assert "download or copy" in str(excinfo.value)


def test_read_archive_not_a_zip(tmp_path: Path):
    junk = tmp_path / "ml-1m.zip"
    junk.write_bytes(np.random.default_rng(0).bytes(4096))

    with pytest.raises(ArchiveError, match="not a readable zip archive") as excinfo:
        read_archive(junk)

    assert "truncated or corrupt" in str(excinfo.value)
    assert str(junk) in str(excinfo.value)


def test_read_archive_truncated_zip(tiny_archive: Path, tmp_path: Path):
    truncated = tmp_path / "truncated.zip"
    data = tiny_archive.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])

    with pytest.raises(ArchiveError, match=r"not a readable zip archive.*truncated or corrupt"):
        read_archive(truncated)


def test_read_archive_bad_crc(tmp_path: Path):
    path = tmp_path / "stored.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("ml-1m/ratings.dat", ratings_bytes(GOOD) * 50)
        archive.writestr("ml-1m/movies.dat", b"10::X (2000)::Drama\n")
    data = bytearray(path.read_bytes())
    data[data.index(b"978300760") + 3] ^= 0x01  # flip one bit of the stored ratings
    path.write_bytes(bytes(data))

    with pytest.raises(ArchiveError, match="not a readable zip archive"):
        read_archive(path)


def _damaged_deflate(data: bytearray) -> None:
    start = data.index(b"ml-1m/ratings.dat") + len("ml-1m/ratings.dat")
    for offset in range(start + 5, start + 25):
        data[offset] ^= 0xFF


def _encrypted_flag(data: bytearray) -> None:
    data[data.index(b"PK\x01\x02") + 8] |= 0x01


def _unknown_method(data: bytearray) -> None:
    central = data.index(b"PK\x01\x02")
    data[central + 10 : central + 12] = struct.pack("<H", 99)


@pytest.mark.parametrize("damage", [_damaged_deflate, _encrypted_flag, _unknown_method])
def test_read_archive_damaged_member_is_archive_error(tiny_archive: Path, damage):
    data = bytearray(tiny_archive.read_bytes())
    damage(data)
    tiny_archive.write_bytes(bytes(data))

    with pytest.raises(ArchiveError):
        read_archive(tiny_archive)


def test_read_archive_zip_without_ratings(tmp_path: Path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ml-1m/movies.dat", b"10::X (2000)::Drama\n")
        archive.writestr("ml-1m/users.dat", b"1::F::1::10::48067\n")

    with pytest.raises(ArchiveError) as excinfo:
        read_archive(path)

    message = str(excinfo.value)
    assert "has no ratings.dat" in message
    assert "not a readable zip" not in message  # not mistaken for a damaged file
    assert "ml-1m/users.dat" in message  # lists what the archive holds
    assert "MovieLens 1M archive" in message


@pytest.mark.parametrize(
    "prefix", ["../evil/", "../../evil/", "ml-1m/../../evil/", "..\\evil\\", "C:/evil/", "ABSOLUTE"]
)
def test_read_archive_refuses_hostile_member_names(tmp_path: Path, prefix: str):
    outside = tmp_path.parent / f"evil-target-{tmp_path.name}"
    if prefix == "ABSOLUTE":
        prefix = f"{outside}/"
    path = tmp_path / "zip" / "hostile.zip"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{prefix}ratings.dat", ratings_bytes(GOOD))
        archive.writestr(f"{prefix}movies.dat", b"10::X (2000)::Drama\n")
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist()[0] == f"{prefix}ratings.dat"  # zipfile kept the hostile name
    before = {p for p in tmp_path.parent.rglob("*") if tmp_path not in (p, *p.parents)}

    with pytest.raises(ArchiveError) as excinfo:
        read_archive(path)

    message = str(excinfo.value)
    assert "absolute paths or '..'" in message and "refusing the archive" in message
    assert str(path) in message
    after = {p for p in tmp_path.parent.rglob("*") if tmp_path not in (p, *p.parents)}
    assert after == before
    assert not outside.exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["hostile.zip", "zip"]


def test_read_archive_refuses_a_hostile_extra_member(tiny_archive: Path):
    with zipfile.ZipFile(tiny_archive, "a") as archive:
        archive.writestr("../../../etc/cron.d/evil", b"* * * * * root rm -rf /\n")

    with pytest.raises(ArchiveError, match=r"refusing the archive"):
        read_archive(tiny_archive)


def test_read_archive_refuses_member_declared_too_big(tiny_archive: Path, monkeypatch):
    monkeypatch.setattr(movielens, "MAX_MEMBER_BYTES", 1_000)  # ratings.dat unpacks to ~20 kB

    with pytest.raises(ArchiveError, match=r"ml-1m/ratings\.dat claims \d+ bytes unpacked"):
        read_archive(tiny_archive)


def test_read_archive_refuses_member_lying_about_its_size(tmp_path: Path, monkeypatch):
    """A header that declares a tiny size must not let a bigger member through."""
    path = write_archive(tmp_path / "ml-1m.zip", [GOOD] * 200)
    monkeypatch.setattr(movielens, "MAX_MEMBER_BYTES", 1_000)
    original_infolist = zipfile.ZipFile.infolist

    def lying_infolist(self):
        infos = original_infolist(self)
        for info in infos:
            info.file_size = min(info.file_size, 10)  # the header lies: tiny unpacked size
        return infos

    monkeypatch.setattr(zipfile.ZipFile, "infolist", lying_infolist)

    with pytest.raises(ArchiveError, match=r"ml-1m\.zip"):
        read_archive(path)


# ---------------------------------------------------------------------------------------------
# Local HTTP server for download() and resolve_archive()


@dataclass
class LocalServer:
    root: Path
    url: str
    requests: list[str] = field(default_factory=list)


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format, *args):  # keep pytest output quiet
        pass

    def do_GET(self):
        self.requests.append(self.path)
        if self.path == "/redirect-outside.zip":
            self.send_response(302)
            self.send_header("Location", "http://example.com/ml-1m.zip")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/slow.zip":
            time.sleep(1.5)  # longer than the client's timeout in the tests
            self.send_error(503)
        elif self.path == "/unavailable.zip" or (
            self.path == "/flaky.zip" and self.requests.count(self.path) == 1
        ):
            self.send_error(503, "Service Unavailable")
        elif self.path == "/flaky.zip":
            self.path = "/ml-1m.zip"
            super().do_GET()
        elif self.path == "/short.zip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"PK only ten")
            self.close_connection = True
        else:
            super().do_GET()


@pytest.fixture
def no_outside_network(monkeypatch):
    """Any attempt to connect anywhere but loopback is recorded and fails."""
    attempts: list[tuple] = []
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        if address[0] not in {"127.0.0.1", "localhost", "::1"}:
            attempts.append(address)
            raise AssertionError(f"unexpected network access to {address}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return attempts


@pytest.fixture
def server(tmp_path: Path, no_outside_network):
    root = tmp_path / "www"
    root.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
    )
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield LocalServer(root, f"http://127.0.0.1:{httpd.server_address[1]}", requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def served_archive(server: LocalServer) -> tuple[str, str, bytes]:
    """URL, MD5 and bytes of a small valid archive published on the local server."""
    data = write_archive(server.root / "ml-1m.zip").read_bytes()
    return f"{server.url}/ml-1m.zip", md5_hex(data), data


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.tmp"))


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ml-1m.zip"


# ---------------------------------------------------------------------------------------------
# download


def test_download_good_archive_is_renamed_into_place(served_archive, tmp_path, monkeypatch):
    url, md5, data = served_archive
    destination = tmp_path / "cache" / "raw" / "ml-1m.zip"
    renames: list[tuple[Path, Path, bool]] = []
    real_replace = movielens.os.replace

    def spy_replace(src, dst):
        renames.append((Path(src), Path(dst), Path(dst).exists()))
        return real_replace(src, dst)

    monkeypatch.setattr(movielens.os, "replace", spy_replace)

    result = download(url, destination, md5, retries=1, backoff_s=0)

    assert result == destination
    assert destination.read_bytes() == data
    assert leftovers(destination.parent) == []
    assert len(renames) == 1
    src, dst, existed = renames[0]
    assert dst == destination and not existed
    assert src.parent == destination.parent and src.name.endswith(".tmp")


def test_download_without_md5_accepts_the_bytes(served_archive, tmp_path):
    url, _, data = served_archive
    destination = tmp_path / "ml-1m.zip"

    download(url, destination, None, retries=1, backoff_s=0)

    assert destination.read_bytes() == data


def test_download_wrong_md5_leaves_nothing(served_archive, server, tmp_path):
    url, _, _ = served_archive
    destination = tmp_path / "dl" / "ml-1m.zip"

    with pytest.raises(ArchiveError) as excinfo:
        download(url, destination, "0" * 32, retries=3, backoff_s=0)

    message = str(excinfo.value)
    assert "Checksum mismatch" in message and url in message and "0" * 32 in message
    assert "partial download was deleted" in message
    assert ARCHIVE_ENV_VAR in message
    assert not destination.exists()
    assert leftovers(destination.parent) == []
    assert server.requests == ["/ml-1m.zip"]  # a checksum mismatch is not retried


def test_download_failure_keeps_existing_destination(served_archive, tmp_path):
    url, _, _ = served_archive
    destination = tmp_path / "ml-1m.zip"
    destination.write_bytes(b"previous good copy")

    with pytest.raises(ArchiveError, match="Checksum mismatch"):
        download(url, destination, "0" * 32, retries=1, backoff_s=0)

    assert destination.read_bytes() == b"previous good copy"
    assert leftovers(tmp_path) == []


def test_download_404_after_retries(server, tmp_path):
    url = f"{server.url}/missing.zip"
    destination = tmp_path / "ml-1m.zip"
    started = time.monotonic()

    with pytest.raises(ArchiveError) as excinfo:
        download(url, destination, None, retries=2, backoff_s=0)

    message = str(excinfo.value)
    assert f"Could not download {url} after 2 attempts" in message
    assert "404" in message
    assert server.requests == ["/missing.zip", "/missing.zip"]
    assert not destination.exists()
    assert leftovers(tmp_path) == []
    assert time.monotonic() - started < 5


def test_download_timeout_is_retried_then_reported(server, tmp_path):
    url = f"{server.url}/slow.zip"
    destination = tmp_path / "ml-1m.zip"

    with pytest.raises(ArchiveError) as excinfo:
        download(url, destination, None, retries=2, backoff_s=0, timeout=0.3)

    message = str(excinfo.value)
    assert f"Could not download {url} after 2 attempts" in message
    assert "timed out" in message
    assert server.requests == ["/slow.zip", "/slow.zip"]
    assert not destination.exists()
    assert leftovers(tmp_path) == []


def test_download_backs_off_exponentially_between_retries(server, tmp_path, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(
        movielens, "time", SimpleNamespace(sleep=waits.append, monotonic=time.monotonic)
    )
    url = f"{server.url}/unavailable.zip"

    with pytest.raises(ArchiveError, match=r"after 4 attempts.*503"):
        download(url, tmp_path / "ml-1m.zip", None, retries=4, backoff_s=1.5)

    assert waits == [1.5, 3.0, 6.0]  # no wait after the last attempt
    assert len(server.requests) == 4


def test_download_recovers_after_a_transient_error(served_archive, server, tmp_path):
    _, md5, data = served_archive
    destination = tmp_path / "ml-1m.zip"

    download(f"{server.url}/flaky.zip", destination, md5, retries=3, backoff_s=0)

    assert server.requests == ["/flaky.zip", "/flaky.zip"]
    assert destination.read_bytes() == data
    assert leftovers(tmp_path) == []


def test_download_connection_refused_is_archive_error(tmp_path):
    url = closed_port_url()

    with pytest.raises(ArchiveError, match=f"Could not download {url} after 1 attempts"):
        download(url, tmp_path / "ml-1m.zip", None, retries=1, backoff_s=0, timeout=5)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x.zip",
        "http://localhost.example.com/x.zip",
        "http://127.0.0.1.nip.io/x.zip",
        "http://localhost@example.com/x.zip",
        "ftp://127.0.0.1/x.zip",
        "file:///etc/passwd",
    ],
)
def test_download_refuses_non_https_urls_without_network(url, tmp_path, no_outside_network):
    destination = tmp_path / "never" / "ml-1m.zip"

    with pytest.raises(ArchiveError, match="only https URLs are allowed"):
        download(url, destination, None, retries=3, backoff_s=10)

    assert no_outside_network == []
    assert not destination.parent.exists()


def test_download_refuses_redirect_to_plain_http(server, tmp_path, no_outside_network):
    destination = tmp_path / "ml-1m.zip"

    with pytest.raises(ArchiveError, match=r"'http://example\.com/ml-1m\.zip'.*only https"):
        download(f"{server.url}/redirect-outside.zip", destination, None, retries=3, backoff_s=10)

    assert server.requests == ["/redirect-outside.zip"]  # refused at once, not retried
    assert no_outside_network == []
    assert list(tmp_path.glob("ml-1m.zip*")) == []


def test_download_truncated_body_is_refused(server, tmp_path):
    destination = tmp_path / "ml-1m.zip"

    with pytest.raises(ArchiveError):
        download(f"{server.url}/short.zip", destination, None, retries=1, backoff_s=0)

    assert not destination.exists()


# ---------------------------------------------------------------------------------------------
# resolve_archive


def test_resolve_local_path_wins_without_checksum(tmp_path, server):
    user_copy = write_archive(tmp_path / "mine" / "ml-1m.zip", [GOOD], ["10::X (2000)::Drama"])
    cache = write_archive(tmp_path / "cache" / "ml-1m.zip")
    assert md5_of(user_copy) != movielens.ML_1M_MD5

    result = resolve_archive(cache, str(user_copy), f"{server.url}/ml-1m.zip", movielens.ML_1M_MD5)

    assert result == user_copy
    assert read_archive(result).ratings == ratings_bytes(GOOD)
    assert server.requests == []


def test_resolve_local_path_expands_user(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    user_copy = write_archive(tmp_path / "ml-1m.zip")

    assert resolve_archive(tmp_path / "cache.zip", "~/ml-1m.zip", closed_port_url(), "x") == (
        user_copy
    )


def test_resolve_missing_local_path_names_it(tmp_path):
    missing = tmp_path / "typo" / "ml-1m.zip"
    cache = write_archive(tmp_path / "cache" / "ml-1m.zip")  # must not be used instead

    with pytest.raises(ArchiveError) as excinfo:
        resolve_archive(cache, missing, closed_port_url(), "x")

    message = str(excinfo.value)
    assert str(missing) in message and "does not exist" in message
    assert ARCHIVE_ENV_VAR in message


def test_resolve_reuses_cache_without_request(tmp_path, server):
    cache = write_archive(tmp_path / "cache" / "ml-1m.zip")
    (server.root / "ml-1m.zip").write_bytes(b"must not be fetched")

    for local_path in (None, ""):
        assert resolve_archive(cache, local_path, f"{server.url}/ml-1m.zip", "x") == cache

    assert server.requests == []


def test_resolve_reuses_cache_with_closed_port(tmp_path):
    cache = write_archive(tmp_path / "ml-1m.zip")

    assert resolve_archive(cache, None, closed_port_url(), movielens.ML_1M_MD5) == cache


def test_resolve_uses_unpacked_folder_beside_cache(tmp_path, server):
    folder = tmp_path / "raw" / "ml-1m"
    folder.mkdir(parents=True)
    (folder / "ratings.dat").write_bytes(ratings_bytes(GOOD))
    (folder / "movies.dat").write_bytes(b"10::X (2000)::Drama\n")

    result = resolve_archive(tmp_path / "raw" / "ml-1m.zip", None, f"{server.url}/x.zip", "x")

    assert result == folder
    assert server.requests == []


@pytest.mark.parametrize(("name", "cause"), [("missing.zip", "404"), ("slow.zip", "timed out")])
def test_resolve_failed_download_explains_ways_out(tmp_path, server, monkeypatch, name, cause):
    monkeypatch.setattr(
        movielens,
        "download",
        functools.partial(movielens.download, retries=2, backoff_s=0, timeout=0.3),
    )
    cache = tmp_path / "raw" / "ml-1m.zip"
    url = f"{server.url}/{name}"

    with pytest.raises(ArchiveError) as excinfo:
        resolve_archive(cache, None, url, movielens.ML_1M_MD5)

    message = str(excinfo.value)
    assert f"No MovieLens archive at {cache}" in message
    assert url in message and cause in message
    assert "network" in message
    assert f"{ARCHIVE_ENV_VAR}=" in message
    assert f"copy the archive to {cache}" in message
    assert isinstance(excinfo.value.__cause__, ArchiveError)
    assert len(server.requests) == 2
    assert not cache.exists()
    assert leftovers(cache.parent) == []


def test_resolve_refused_url_explains_ways_out(tmp_path, no_outside_network):
    with pytest.raises(ArchiveError) as excinfo:
        resolve_archive(tmp_path / "ml-1m.zip", None, "http://example.com/ml-1m.zip", "x")

    assert "only https" in str(excinfo.value)
    assert ARCHIVE_ENV_VAR in str(excinfo.value)
    assert no_outside_network == []


def test_resolve_downloads_once_then_reuses(tmp_path, served_archive, server):
    url, md5, data = served_archive
    cache = tmp_path / "data" / "01_raw" / "ml-1m.zip"

    first = resolve_archive(cache, None, url, md5)
    second = resolve_archive(cache, None, url, md5)

    assert first == second == cache
    assert cache.read_bytes() == data
    assert server.requests == ["/ml-1m.zip"]
    assert read_archive(second).md5 == md5


# ---------------------------------------------------------------------------------------------
# Real data (shared archive; skipped when absent)


@pytest.mark.slow
def test_shared_archive_parses_fast(shared_archive: Path):
    raw = read_archive(shared_archive)

    started = time.perf_counter()
    ratings = parse_ratings(raw.ratings)
    movies = parse_movies(raw.movies)
    elapsed = time.perf_counter() - started

    assert ratings["user"].min() == 1
    assert ratings["rating"].between(1, 5).all()
    assert movies["item"].is_unique
    expected = KNOWN_ARCHIVES.get(raw.md5)
    if expected is not None:  # an archive the tests know: its exact counts
        assert len(ratings) == expected["ratings"]
        assert ratings["user"].max() == ratings["user"].nunique() == expected["users"]
        assert len(movies) == expected["movies"]
    # About 1 s for the half archive on the development machine; the full one is twice that.
    assert elapsed < 5 * len(ratings) / 487_650, f"parsing took {elapsed:.1f} s"
