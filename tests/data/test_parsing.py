"""What every parser shares: the bad-line policy and the text checks."""

from __future__ import annotations

import pytest

from conftest import make_movies_lines, make_ratings_lines
from movielens_sbr.data.dat_format import parse_movies, read_ratings
from movielens_sbr.data.parsing import BadLinePolicy, ParseError, decode_text


def test_unknown_policy_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"one of \('fail', 'skip'\), got 'ignore'"):
        BadLinePolicy("ignore")


def test_a_file_pasted_twice_does_not_suggest_a_setting_that_refuses():
    data = ("\n".join(make_ratings_lines(n_users=10) * 2) + "\n").encode()
    with pytest.raises(ParseError) as error:
        read_ratings(data, "ratings.dat")
    message = str(error.value)
    assert "rated MovieID" in message and "again" in message
    assert "set ingestion.on_bad_lines: skip" not in message
    assert "more than ingestion.max_skipped_fraction=0.01" in message
    assert "pasted twice" in message
    # ... and skip, had it been suggested, refuses the same way.
    with pytest.raises(ParseError, match="pasted twice"):
        read_ratings(data, "ratings.dat", BadLinePolicy("skip"))


def test_a_few_bad_lines_still_suggest_skipping_them():
    lines = make_ratings_lines(n_users=60)
    data = ("\n".join([*lines, "1::2::9::978300760"]) + "\n").encode()
    with pytest.raises(ParseError, match=r"set ingestion\.on_bad_lines: skip"):
        read_ratings(data, "ratings.dat")


def test_mixed_encodings_are_refused_naming_the_lines():
    lines = [line.encode("latin-1") for line in make_movies_lines()]  # line 1: Amélie, latin-1
    lines[4] = "5::Café (1999)::Drama".encode()  # one line saved as UTF-8
    data = b"\n".join(lines) + b"\n"
    with pytest.raises(ParseError, match=r"mixes encodings: line\(s\) 5 are UTF-8, line\(s\) 1 "):
        parse_movies(data, "movies.dat")


def test_one_encoding_per_file_is_decoded():
    latin1 = "Amélie (2001)\nCafé (1999)\n".encode("latin-1")
    assert decode_text(latin1, "f") == "Amélie (2001)\nCafé (1999)\n"
    utf8 = "Amélie\n\u0414\u0436\u0443\u043c\u0430\u043d\u0434\u0436\u0438\n"  # Jumanji, Cyrillic
    assert decode_text(utf8.encode(), "f") == utf8


def test_the_encoding_note_names_the_published_encoding(caplog):
    utf8 = "Amélie (2001)\n".encode()
    with caplog.at_level("INFO", logger="movielens_sbr.data.parsing"):
        decode_text(utf8, "movies.dat")
        assert "movies.dat is UTF-8, not the original ISO-8859-1" in caplog.text
        caplog.clear()
        decode_text(utf8, "movies.csv", published="UTF-8")
        assert caplog.text == ""
        decode_text("Amélie (2001)\n".encode("latin-1"), "movies.csv", published="UTF-8")
        assert "movies.csv is not UTF-8 as published" in caplog.text
