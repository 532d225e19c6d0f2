"""The ``::``-separated ``.dat`` files (ml-1m, ml-10m) and ML-100K's tab-separated u.data.

``read_ratings`` / ``read_movies`` parse bytes into the common ``ratings`` / ``movies``
frames and name every bad line (file, line number, reason); ``parse_ratings`` /
``parse_movies`` are their strict versions. No Kedro imports.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from movielens_sbr.data.parsing import (
    MAX_TIMESTAMP,
    MIN_TIMESTAMP,
    SHOWN,
    STRICT,
    BadLinePolicy,
    ParseError,
    ParseReport,
    Problem,
    decode_text,
    prepare_text,
)

RATING_FIELDS = ("UserID", "MovieID", "Rating", "Timestamp")
RATING_BOUNDS = {
    "UserID": (1, 2**31 - 1),
    "MovieID": (1, 2**31 - 1),
    "Rating": (1, 5),
    "Timestamp": (MIN_TIMESTAMP, MAX_TIMESTAMP),
}


def _half_star_problem(field: str) -> str | None:
    try:
        value = float(field)
    except ValueError:
        return f"Rating {field!r} is not a number"
    if not (0.5 <= value <= 5 and (value * 2).is_integer()):
        return f"Rating {field.strip()} is not one of 0.5, 1.0, ..., 5.0"
    return None


def rating_line_problem(line: str, separator: str = "::", half_stars: bool = False) -> str | None:
    if separator == "::" and "\t" in line:
        return "tab separator: fields must be separated by '::'"
    fields = line.split(separator)
    if len(fields) != 4:
        return f"expected 4 fields separated by {separator!r}, found {len(fields)}"
    reasons = []
    for name, field in zip(RATING_FIELDS, fields, strict=True):
        text = field.strip()
        if name == "Rating" and half_stars:
            if reason := _half_star_problem(field):
                reasons.append(reason)
            continue
        if not (text.isascii() and text.lstrip("-").isdigit()):
            reasons.append(f"{name} {field!r} is not an integer")
            continue
        low, high = RATING_BOUNDS[name]
        if not low <= int(text) <= high:
            reasons.append(f"{name} {text} is outside {low}..{high}")
    return "; ".join(reasons) or None


def _diagnose_ratings(
    lines: list[str], separator: str = "::", half_stars: bool = False
) -> list[Problem]:
    """Slow path, taken only when the fast parser or a value check fails: find the lines.

    Line numbers count every line of the file, blank ones included; blank lines are
    otherwise ignored.
    """
    problems = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            reason = rating_line_problem(line, separator, half_stars)
            if reason:
                problems.append((number, reason, line))
    return problems


class _NeedsDiagnosis(Exception):
    pass


def _fast_parse_ratings(
    text_bytes: bytes, separator: str = "::", half_stars: bool = False
) -> pd.DataFrame:
    """pyarrow's CSV reader with explicit types; raises _NeedsDiagnosis on any bad value."""
    if separator == "::":
        if b"\t" in text_bytes:  # '::' becomes a tab below, so tabs must not pass
            raise _NeedsDiagnosis
        text_bytes = text_bytes.replace(b"::", b"\t")
    try:
        table = pacsv.read_csv(
            io.BytesIO(text_bytes),
            read_options=pacsv.ReadOptions(column_names=["user", "item", "rating", "timestamp"]),
            parse_options=pacsv.ParseOptions(delimiter="\t"),
            convert_options=pacsv.ConvertOptions(
                column_types={
                    "user": pa.int32(),
                    "item": pa.int32(),
                    "rating": pa.float32() if half_stars else pa.int8(),
                    "timestamp": pa.int64(),
                }
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise _NeedsDiagnosis from error
    ratings = table.to_pandas()
    out_of_range = np.zeros(len(ratings), dtype=bool)
    for column, name in zip(ratings.columns, RATING_FIELDS, strict=True):
        low, high = (0.5, 5) if half_stars and name == "Rating" else RATING_BOUNDS[name]
        out_of_range |= ~ratings[column].between(low, high).to_numpy()
    if half_stars:
        doubled = ratings["rating"].to_numpy() * 2
        out_of_range |= doubled != np.round(doubled)
    if out_of_range.any():
        raise _NeedsDiagnosis
    return ratings


def _data_line_numbers(lines: list[str], skipped: set[int]) -> np.ndarray:
    """1-based line number of each parsed row: non-blank lines that were not skipped."""
    blank = pd.Series(lines, dtype=object).str.strip().eq("").to_numpy()
    numbers = np.arange(1, len(lines) + 1)
    keep = ~blank & ~np.isin(numbers, list(skipped))
    return numbers[keep]


def _duplicate_problems(
    frame: pd.DataFrame, keys: list[str], line_numbers: np.ndarray, describe
) -> tuple[list[Problem], np.ndarray]:
    """Rows repeating an earlier row's ``keys``, as problems, and the mask of those rows."""
    duplicated = frame.duplicated(keys, keep="first").to_numpy()
    if not duplicated.any():
        return [], duplicated
    groups = frame.groupby(keys, sort=False).ngroup().to_numpy()
    _, first_index = np.unique(groups, return_index=True)
    first_line = line_numbers[first_index[groups]]
    rows = np.flatnonzero(duplicated)
    problems = [
        (
            int(line_numbers[row]),
            f"{describe(frame.iloc[row])} (first on line {first_line[row]})",
            "",
        )
        for row in rows
    ]
    return problems, duplicated


def read_ratings(
    data: bytes,
    file_name: str = "ratings.dat",
    policy: BadLinePolicy = STRICT,
    *,
    separator: str = "::",
    half_stars: bool = False,
) -> tuple[pd.DataFrame, ParseReport]:
    """Parse ``UserID::MovieID::Rating::Timestamp`` lines; returns the ratings and a report.

    ``separator="\t"`` reads ML-100K's u.data; ``half_stars`` ML-10M's ratings in steps of
    0.5. Columns: user (int32), item (int32), rating (int8, or float32 with half stars),
    timestamp (datetime64[s]). Good
    files take the fast path (pyarrow's CSV reader); any failure re-reads the text line by
    line to name file, lines and reasons. A user rating the same movie twice is a
    duplicate. Under a ``skip`` policy bad and duplicate lines are dropped instead of failing,
    unless they exceed ``max_skipped_fraction`` of the lines.
    """
    text_bytes = prepare_text(data, file_name)
    lines: list[str] | None = None
    problems: list[Problem] = []
    try:
        ratings = _fast_parse_ratings(text_bytes, separator, half_stars)
    except _NeedsDiagnosis as error:
        lines = text_bytes.decode("latin-1").split("\n")
        problems = _diagnose_ratings(lines, separator, half_stars)
        n_lines = sum(1 for line in lines if line.strip())
        policy.apply(file_name, problems, n_lines)
        bad = {line for line, _, _ in problems}
        kept = [line for number, line in enumerate(lines, 1) if number not in bad and line.strip()]
        try:
            ratings = _fast_parse_ratings("\n".join(kept).encode("latin-1"), separator, half_stars)
        except _NeedsDiagnosis:
            raise ParseError(
                f"{file_name} could not be parsed, but no line looks wrong."
            ) from error
    n_lines = len(ratings) + len(problems)
    # One sorted int64 key per (user, movie) pair: 5x cheaper than DataFrame.duplicated.
    pairs = np.sort(
        (ratings["user"].to_numpy().astype(np.int64) << 32) | ratings["item"].to_numpy()
    )
    if (pairs[1:] == pairs[:-1]).any():
        lines = lines or text_bytes.decode("latin-1").split("\n")
        line_numbers = _data_line_numbers(lines, {line for line, _, _ in problems})
        duplicates, mask = _duplicate_problems(
            ratings,
            ["user", "item"],
            line_numbers,
            lambda row: f"UserID {row['user']} rated MovieID {row['item']} again",
        )
        texts = {number: lines[number - 1] for number, _, _ in duplicates[:SHOWN]}
        duplicates = [(number, reason, texts.get(number, "")) for number, reason, _ in duplicates]
        policy.apply(file_name, duplicates, n_lines)
        ratings = ratings[~mask].reset_index(drop=True)
        problems = sorted(problems + duplicates)
    ratings["timestamp"] = ratings["timestamp"].astype("datetime64[s]")
    return ratings, ParseReport.of(file_name, problems, n_lines)


def parse_ratings(data: bytes, file_name: str = "ratings.dat") -> pd.DataFrame:
    """Strict :func:`read_ratings`: any bad line is a ParseError naming file and line."""
    return read_ratings(data, file_name)[0]


def read_movies(
    data: bytes,
    file_name: str = "movies.dat",
    policy: BadLinePolicy = STRICT,
) -> tuple[pd.DataFrame, ParseReport]:
    """Parse ``MovieID::Title::Genres`` into item, title, year and a genres list, and a report.

    A repeated MovieID is a duplicate; a ``skip`` policy keeps its first line.
    """
    text = decode_text(prepare_text(data, file_name), file_name)
    rows, problems = [], []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        fields = line.split("::")
        movie_id = fields[0].strip()
        if len(fields) != 3:
            problems.append(
                (number, f"expected 3 fields separated by '::', found {len(fields)}", line)
            )
        elif not (movie_id.isascii() and movie_id.isdigit() and 0 < int(movie_id) < 2**31):
            problems.append((number, f"MovieID {fields[0]!r} is not a positive integer", line))
        else:
            rows.append((number, int(movie_id), fields[1], fields[2]))
    n_lines = len(rows) + len(problems)
    policy.apply(file_name, problems, n_lines)
    movies = pd.DataFrame(rows, columns=["line", "item", "title", "genres"])
    duplicates, mask = _duplicate_problems(
        movies,
        ["item"],
        movies["line"].to_numpy(),
        lambda row: f"duplicate MovieID {row['item']}",
    )
    if duplicates:
        titles = movies["title"].to_numpy()
        duplicates = [
            (line, reason, f"{movies['item'].iloc[row]}::{titles[row]}")
            for (line, reason, _), row in zip(duplicates, np.flatnonzero(mask), strict=True)
        ]
        policy.apply(file_name, duplicates, n_lines)
        movies = movies[~mask]
        problems = sorted(problems + duplicates)
    if movies.empty:
        raise ParseError(f"{file_name} is empty.")
    movies = movies.reset_index(drop=True)
    movies["item"] = movies["item"].astype("int32")
    movies["year"] = movies["title"].str.extract(r"\((\d{4})\)\s*$", expand=False).astype("Int16")
    movies["genres"] = movies["genres"].str.split("|")
    return movies[["item", "title", "year", "genres"]], ParseReport.of(file_name, problems, n_lines)


def parse_movies(data: bytes, file_name: str = "movies.dat") -> pd.DataFrame:
    """Strict :func:`read_movies`: any bad line is a ParseError naming file and line."""
    return read_movies(data, file_name)[0]
