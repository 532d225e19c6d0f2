"""Per-format parsers: every dataset in ``DATASETS`` to the same ``ratings`` / ``movies`` frames.

ratings: user (int32), item (int32), rating (int8 for whole stars, float32 for half stars,
float32 NaN for YOOCHOOSE clicks), timestamp (datetime64[s]; datetime64[ms] for YOOCHOOSE,
whose clicks carry milliseconds). movies: item (int32), title (str), year (Int16), genres
(list of str). YOOCHOOSE has sessions instead of users: ``user`` holds the click session
id, to be used with ``sessions.session_mode: user``.

Big files (the CSV releases, YOOCHOOSE clicks) are parsed batch by batch with pyarrow's
streaming CSV reader straight from the zip member, so only the typed columns are ever
held in memory. A file with problems is then scanned line by line (the slow path, taken
only on failure) to name the lines.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from movielens_sbr.data import parsing
from movielens_sbr.data.dat_format import rating_line_problem, read_movies, read_ratings
from movielens_sbr.data.movielens import MemberRef, RawArchive, dataset_spec
from movielens_sbr.data.parsing import STRICT, BadLinePolicy, ParseError, ParseReport

logger = logging.getLogger(__name__)

CSV_RATINGS_HEADER = ["userId", "movieId", "rating", "timestamp"]
CSV_MOVIES_HEADER = ["movieId", "title", "genres"]
# The 19 genre flags of u.item, in the order of ML-100K's u.genre.
ML_100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
NO_GENRES = "(no genres listed)"  # the CSV releases' marker for an empty genre list
_BLOCK_SIZE = 16 << 20  # bytes per streamed batch: ~0.5 M rating lines
_YEAR = r"\((\d{4})\)\s*$"
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z?$")


# ---------------------------------------------------------------------------------------------
# Streaming


def _open(source: MemberRef | bytes):
    """A binary stream over a member, a file or bytes already in memory (tests, small files)."""
    if isinstance(source, MemberRef):
        return source.open()
    return contextlib.nullcontext(io.BytesIO(source))


def _stream_columns(
    source: MemberRef | bytes,
    file_name: str,
    column_types: dict[str, pa.DataType],
    *,
    column_names: list[str] | None = None,
    expected_header: list[str] | None = None,
    include: list[str] | None = None,
    batch: Callable[[dict[str, np.ndarray]], None] | None = None,
) -> tuple[dict[str, np.ndarray], int]:
    """Read typed columns batch by batch; returns the concatenated arrays and how many rows
    with a wrong field count were dropped (the caller decides whether that is allowed).

    ``batch`` sees each batch's arrays instead of them being collected (for aggregates).
    Raises _Unparsable when a value cannot be converted to its column type.
    """
    invalid = [0]

    def count_invalid(row) -> str:
        invalid[0] += 1
        return "skip"

    chunks: dict[str, list[np.ndarray]] = {}
    with _open(source) as stream:
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(
                    block_size=_BLOCK_SIZE,
                    column_names=column_names,
                    autogenerate_column_names=False,
                ),
                parse_options=pacsv.ParseOptions(invalid_row_handler=count_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types=column_types, include_columns=include
                ),
            )
            if expected_header is not None and reader.schema.names != expected_header:
                raise ParseError(
                    f"{file_name}, line 1: the header is {','.join(reader.schema.names)!r}, "
                    f"expected {','.join(expected_header)!r}: is this the right file?"
                )
            for record_batch in reader:
                arrays = {
                    name: _to_numpy(record_batch.column(name)) for name in record_batch.schema.names
                }
                if batch is not None:
                    batch(arrays)
                else:
                    for name, values in arrays.items():
                        chunks.setdefault(name, []).append(values)
        except pa.ArrowInvalid as error:
            if "empty" in str(error).lower():
                raise ParseError(f"{file_name} is empty.") from error
            raise _Unparsable(str(error)) from error
    columns = {}
    for name in list(chunks):
        # One column at a time, freeing its batches, keeps the peak at data + one column.
        columns[name] = np.concatenate(chunks.pop(name))
    return columns, invalid[0]


def _to_numpy(column: pa.Array) -> np.ndarray:
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.timestamp(column.type.unit))  # drop the UTC zone: naive UTC
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.to_numpy(zero_copy_only=False).astype(object)
    return column.to_numpy()


class _Unparsable(Exception):
    """A value pyarrow could not convert; the line is found by the slow diagnostic pass."""


def _diagnose_lines(
    source: MemberRef | bytes,
    check: Callable[[str], str | None],
    header: bool,
    encoding: str = "utf-8",
) -> tuple[list[parsing.Problem], int, np.ndarray]:
    """Slow path: every line checked in Python. Returns the first problems, their count
    and the line numbers that hold no data row (header, blank and bad lines)."""
    problems: list[parsing.Problem] = []
    count = 0
    excluded = [1] if header else []
    with _open(source) as stream:
        text = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline=None)
        for number, raw_line in enumerate(text, start=1):
            if header and number == 1:
                continue
            line = raw_line.rstrip("\n")
            if not line.strip():
                excluded.append(number)
                continue
            reason = check(line)
            if reason:
                count += 1
                excluded.append(number)
                if len(problems) < parsing.SHOWN:
                    problems.append((number, reason, line))
    return problems, count, np.asarray(excluded, dtype=np.int64)


def _row_lines(rows: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Physical line number of data rows (0-based), given the lines that hold no data row."""
    lines = rows + 1
    while True:  # converges in a few rounds: each adds the excluded lines passed over
        shifted = rows + 1 + np.searchsorted(excluded, lines, side="right")
        if np.array_equal(shifted, lines):
            return lines
        lines = shifted


def _fail_unparsable(file_name: str, message: str, problems: list[parsing.Problem], count: int):
    shown = "\n".join(
        f"  {file_name}, line {line}: {reason}: {text[:80]!r}" for line, reason, text in problems
    )
    raise ParseError(
        f"{file_name} has values that cannot be read ({message}); {count} bad line(s), the "
        f"first ones:\n{shown}\nValues that are not numbers cannot be skipped: fix or remove "
        "these lines."
    )


# ---------------------------------------------------------------------------------------------
# CSV releases (ml-latest-small, ml-20m, ml-25m, ml-32m)


def _csv_rating_problem(line: str) -> str | None:
    if line.strip() == ",".join(CSV_RATINGS_HEADER):
        return None
    return rating_line_problem(line, ",", half_stars=True)


def _rating_ranges(columns: dict[str, np.ndarray], user: str, item: str) -> np.ndarray:
    """Rows with an id below 1 or a timestamp outside the plausible window."""
    timestamps = columns["timestamp"]
    return (
        (columns[user] < 1)
        | (columns[item] < 1)
        | (timestamps < parsing.MIN_TIMESTAMP)
        | (timestamps > parsing.MAX_TIMESTAMP)
    )


def read_csv_ratings(
    source: MemberRef | bytes,
    file_name: str = "ratings.csv",
    policy: BadLinePolicy = STRICT,
) -> tuple[pd.DataFrame, ParseReport]:
    """``userId,movieId,rating,timestamp`` with a header (ratings in steps of 0.5), streamed.

    Lines with a wrong field count, out-of-range values and repeated user-movie pairs follow
    ``policy``; values that are not numbers always fail, with their lines named.
    """
    types = {
        "userId": pa.int32(),
        "movieId": pa.int32(),
        "rating": pa.float32(),
        "timestamp": pa.int64(),
    }
    try:
        columns, n_invalid = _stream_columns(
            source, file_name, types, expected_header=CSV_RATINGS_HEADER
        )
    except _Unparsable as error:
        problems, count, _ = _diagnose_lines(source, _csv_rating_problem, header=True)
        _fail_unparsable(file_name, str(error), problems, count)
    if not columns or len(columns["userId"]) == 0:
        raise ParseError(f"{file_name} has a header but no ratings.")
    ratings = columns["rating"]
    bad = _rating_ranges(columns, "userId", "movieId")
    bad |= ~((ratings >= 0.5) & (ratings <= 5) & (ratings * 2 == np.round(ratings * 2)))
    n_bad = int(bad.sum())
    # One int64 key per (user, movie) pair, as for ml-1m.
    pairs = (columns["userId"].astype(np.int64) << 32) | (
        columns["movieId"].astype(np.int64) & 0xFFFFFFFF
    )
    duplicated = _duplicated(pairs)
    del pairs
    n_lines = len(bad) + n_invalid
    problems: list[parsing.Problem] = []
    excluded = np.zeros(0, dtype=np.int64)
    if n_invalid or n_bad or duplicated.any():
        problems, _, excluded = _diagnose_lines(source, _csv_rating_problem, header=True)
        count = n_invalid + n_bad
        policy.apply(file_name, problems, n_lines, count)
    if duplicated.any():
        rows = np.flatnonzero(duplicated & ~bad)
        lines = _row_lines(rows[: parsing.SHOWN], excluded)
        shown = [
            (
                int(line),
                f"UserID {columns['userId'][row]} rated MovieID {columns['movieId'][row]} again",
                "",
            )
            for row, line in zip(rows[: parsing.SHOWN], lines, strict=True)
        ]
        policy.apply(file_name, shown, n_lines, len(rows))
        problems = sorted(problems + shown)[: parsing.SHOWN]
    keep = ~(bad | duplicated)
    frame = pd.DataFrame(
        {
            "user": columns.pop("userId")[keep],
            "item": columns.pop("movieId")[keep],
            "rating": columns.pop("rating")[keep],
            "timestamp": columns.pop("timestamp")[keep].astype("datetime64[s]"),
        },
        copy=False,
    )
    skipped = n_lines - len(frame)
    logger.info("%s: %d ratings streamed, %d lines skipped", file_name, len(frame), skipped)
    report = ParseReport(
        file_name, n_lines, skipped, tuple(f"line {ln}: {why}" for ln, why, _ in problems)
    )
    return frame, report


def _duplicated(keys: np.ndarray) -> np.ndarray:
    """Rows whose key appeared on an earlier row (the first occurrence is kept)."""
    repeat = np.zeros(len(keys), dtype=bool)
    ordered = np.sort(keys)
    if len(keys) < 2 or not (ordered[1:] == ordered[:-1]).any():
        return repeat  # the usual case costs one sort, not an argsort
    del ordered
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    repeat[order[1:][ordered[1:] == ordered[:-1]]] = True
    return repeat


def _finish_movies(movies: pd.DataFrame) -> pd.DataFrame:
    movies = movies.reset_index(drop=True)
    movies["item"] = movies["item"].astype("int32")
    movies["year"] = movies["title"].str.extract(_YEAR, expand=False).astype("Int16")
    return movies[["item", "title", "year", "genres"]]


def _drop_duplicate_items(
    movies: pd.DataFrame,
    lines: np.ndarray,
    file_name: str,
    problems: list[parsing.Problem],
    n_lines: int,
    policy: BadLinePolicy,
) -> tuple[pd.DataFrame, list[parsing.Problem]]:
    mask = movies["item"].duplicated(keep="first").to_numpy()
    if not mask.any():
        return movies, problems
    duplicates = [
        (int(line), f"duplicate MovieID {item}", "")
        for line, item in zip(lines[mask], movies["item"].to_numpy()[mask], strict=True)
    ]
    policy.apply(file_name, duplicates, n_lines)
    return movies[~mask], sorted(problems + duplicates)


def read_csv_movies(
    data: bytes,
    file_name: str = "movies.csv",
    policy: BadLinePolicy = STRICT,
) -> tuple[pd.DataFrame, ParseReport]:
    """``movieId,title,genres`` with a header and quoted titles (UTF-8)."""
    invalid: list[parsing.Problem] = []

    def record(row) -> str:
        invalid.append(
            (row.number or 0, f"expected 3 fields, found {row.actual_columns}", row.text)
        )
        return "skip"

    text = parsing.decode_text(data, file_name, published="UTF-8").encode("utf-8")
    if not text.strip():
        raise ParseError(f"{file_name} is empty.")
    try:
        table = pacsv.read_csv(
            io.BytesIO(text),
            read_options=pacsv.ReadOptions(use_threads=False),  # line numbers for bad rows
            parse_options=pacsv.ParseOptions(invalid_row_handler=record),
            convert_options=pacsv.ConvertOptions(
                column_types={"movieId": pa.int32(), "title": pa.string(), "genres": pa.string()}
            ),
        )
    except pa.ArrowInvalid as error:
        raise ParseError(
            f"{file_name} cannot be read ({error}): movieId must be a whole number."
        ) from error
    if table.column_names != CSV_MOVIES_HEADER:
        raise ParseError(
            f"{file_name}, line 1: the header is {','.join(table.column_names)!r}, "
            f"expected {','.join(CSV_MOVIES_HEADER)!r}: is this the right file?"
        )
    movies = table.to_pandas()
    movies.columns = ["item", "title", "genres"]
    n_lines = len(movies) + len(invalid)
    bad_ids = movies["item"].isna() | (movies["item"] < 1)
    problems = invalid + [
        (0, f"MovieID {item!r} is not a positive integer", "") for item in movies["item"][bad_ids]
    ]
    policy.apply(file_name, problems, n_lines)
    movies = movies[~bad_ids]
    # Physical lines of the rows (read without threads: no quoted newlines in MovieLens).
    excluded = np.asarray(sorted([1] + [line for line, _, _ in invalid]), dtype=np.int64)
    lines = _row_lines(np.flatnonzero(~bad_ids.to_numpy()), excluded)
    movies, problems = _drop_duplicate_items(movies, lines, file_name, problems, n_lines, policy)
    movies["title"] = movies["title"].str.strip()
    genres = movies["genres"].fillna("").str.split("|")
    movies["genres"] = [[] if g in ([NO_GENRES], [""]) else g for g in genres]
    return _finish_movies(movies), ParseReport.of(file_name, problems, n_lines)


# ---------------------------------------------------------------------------------------------
# ML-100K: u.data (tab-separated) and u.item (pipe-separated, genre flags)


def read_100k_items(
    data: bytes,
    file_name: str = "u.item",
    policy: BadLinePolicy = STRICT,
) -> tuple[pd.DataFrame, ParseReport]:
    """``id|title|release date|video date|IMDb URL|19 genre flags`` (ISO-8859-1)."""
    text = parsing.decode_text(data, file_name)
    rows, problems = [], []
    n_fields = 5 + len(ML_100K_GENRES)
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        item = fields[0].strip()
        if len(fields) != n_fields:
            problems.append(
                (number, f"expected {n_fields} fields separated by '|', found {len(fields)}", line)
            )
        elif not (item.isascii() and item.isdigit() and 0 < int(item) < 2**31):
            problems.append((number, f"movie id {fields[0]!r} is not a positive integer", line))
        elif any(flag not in ("0", "1") for flag in fields[5:]):
            problems.append((number, "genre flags must be 0 or 1", line))
        else:
            rows.append((number, int(item), fields[1], fields[2], fields[5:]))
    n_lines = len(rows) + len(problems)
    policy.apply(file_name, problems, n_lines)
    if not rows:
        raise ParseError(f"{file_name} is empty.")
    movies = pd.DataFrame([row[:4] for row in rows], columns=["line", "item", "title", "release"])
    flags = np.array([row[4] for row in rows], dtype="U1") == "1"
    names = np.array(ML_100K_GENRES, dtype=object)
    movies["genres"] = [list(names[row]) for row in flags]
    movies, problems = _drop_duplicate_items(
        movies,
        movies["line"].to_numpy(),
        file_name,
        problems,
        n_lines,
        policy,
    )
    result = _finish_movies(movies)
    # "unknown" and a few others have no year in the title: take the release date's.
    release_year = (
        movies["release"].reset_index(drop=True).str.extract(r"(\d{4})\s*$", expand=False)
    )
    result["year"] = result["year"].fillna(release_year.astype("Int16"))
    return result, ParseReport.of(file_name, problems, n_lines)


# ---------------------------------------------------------------------------------------------
# YOOCHOOSE clicks: session id, ISO time, item id, category (no header)

CLICK_COLUMNS = ["session", "timestamp", "item", "category"]
# A click time outside the plausible window is a broken line, as for MovieLens.
_MIN_CLICK_MS = parsing.MIN_TIMESTAMP * 1000
_MAX_CLICK_MS = parsing.MAX_TIMESTAMP * 1000


def _click_line_problem(line: str) -> str | None:
    fields = line.split(",")
    if len(fields) != 4:
        return f"expected 4 fields separated by ',', found {len(fields)}"
    reasons = []
    for name, field in (("session id", fields[0]), ("item id", fields[2])):
        text = field.strip()
        if not (text.isascii() and text.isdigit() and 0 < int(text) < 2**31):
            reasons.append(f"{name} {field!r} is not a positive integer")
    if not _ISO_TIME.match(fields[1].strip()):
        reasons.append(f"time {fields[1]!r} is not ISO 8601 (2014-04-07T10:51:09.277Z)")
    return "; ".join(reasons) or None


def read_yoochoose_clicks(
    source: MemberRef | bytes,
    file_name: str = "yoochoose-clicks.dat",
    policy: BadLinePolicy = STRICT,
) -> tuple[pd.DataFrame, ParseReport]:
    """Clicks as events: user = session id, rating NaN, timestamp with milliseconds."""
    types = {"session": pa.int32(), "timestamp": pa.timestamp("ms", tz="UTC"), "item": pa.int32()}
    try:
        columns, n_invalid = _stream_columns(
            source,
            file_name,
            types,
            column_names=CLICK_COLUMNS,
            include=["session", "timestamp", "item"],
        )
    except _Unparsable as error:
        problems, count, _ = _diagnose_lines(source, _click_line_problem, header=False)
        _fail_unparsable(file_name, str(error), problems, count)
    if not columns or len(columns["session"]) == 0:
        raise ParseError(f"{file_name} is empty.")
    milliseconds = columns["timestamp"].view(np.int64)
    bad = (
        (columns["session"] < 1)
        | (columns["item"] < 1)
        | (milliseconds < _MIN_CLICK_MS)
        | (milliseconds > _MAX_CLICK_MS)
    )
    n_lines = len(bad) + n_invalid
    problems: list[parsing.Problem] = []
    if n_invalid or bad.any():
        # Out-of-range times pass the line check, so the count comes from the parse.
        problems, _, _ = _diagnose_lines(source, _click_line_problem, header=False)
        count = n_invalid + int(bad.sum())
        policy.apply(file_name, problems, n_lines, count)
    keep = ~bad
    events = pd.DataFrame(
        {
            "user": columns.pop("session")[keep],
            "item": columns.pop("item")[keep],
            "rating": np.full(int(keep.sum()), np.nan, dtype=np.float32),
            "timestamp": columns.pop("timestamp")[keep],
        },
        copy=False,
    )
    return events, ParseReport(
        file_name,
        n_lines,
        n_lines - len(events),
        tuple(f"line {ln}: {why}" for ln, why, _ in problems),
    )


def yoochoose_items(
    source: MemberRef | bytes, file_name: str = "yoochoose-clicks.dat"
) -> tuple[pd.DataFrame, ParseReport]:
    """The item table YOOCHOOSE lacks: title ``item <id>``, its categories as genres.

    Category ``0`` means "unknown" and is left out; ``S`` marks a special offer, 1-12 are
    categories and longer numbers brands, all kept as given. Bad lines were already
    handled by :func:`read_yoochoose_clicks`; here they are only left out.
    """
    pairs: list[pd.DataFrame] = []

    def collect(arrays: dict[str, np.ndarray]) -> None:
        frame = pd.DataFrame({"item": arrays["item"], "category": arrays["category"]})
        pairs.append(frame.drop_duplicates())

    try:
        _, _ = _stream_columns(
            source,
            file_name,
            {"item": pa.int32(), "category": pa.string()},
            column_names=CLICK_COLUMNS,
            include=["item", "category"],
            batch=collect,
        )
    except _Unparsable as error:
        raise ParseError(f"{file_name} cannot be read ({error}).") from error
    if not pairs:
        raise ParseError(f"{file_name} is empty.")
    items = pd.concat(pairs, ignore_index=True).drop_duplicates()
    items = items[items["item"] > 0]
    known = items[items["category"].astype(str) != "0"]
    categories = known.groupby("item")["category"].agg(lambda c: sorted(map(str, c)))
    ids = np.sort(items["item"].unique())
    movies = pd.DataFrame({"item": ids.astype(np.int32)})
    movies["title"] = "item " + movies["item"].astype(str)
    movies["year"] = pd.array([pd.NA] * len(movies), dtype="Int16")
    lookup = categories.to_dict()
    movies["genres"] = [lookup.get(item, []) for item in ids]
    return movies, ParseReport(file_name, len(movies), 0)


# ---------------------------------------------------------------------------------------------
# Dispatch by dataset


def parse_dataset_ratings(
    archive: RawArchive, policy: BadLinePolicy = STRICT, movies: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, ParseReport]:
    """The events of any supported dataset, in the common schema; with ``movies``, ratings
    of items it lacks are bad lines (see :func:`drop_unknown_items`)."""
    spec = dataset_spec(archive.dataset)
    file_name = f"{archive.source}: {spec.ratings}"
    source = archive.ratings_ref if archive.ratings_ref is not None else archive.ratings
    if spec.format == "csv":
        ratings, report = read_csv_ratings(source, file_name, policy)
    elif spec.format == "yoochoose":
        ratings, report = read_yoochoose_clicks(source, file_name, policy)
    else:
        if isinstance(source, MemberRef):
            with source.open() as handle:
                source = handle.read()
        ratings, report = read_ratings(
            source,
            file_name,
            policy,
            separator="\t" if spec.format == "ml-100k" else "::",
            half_stars=spec.half_stars,
        )
    if movies is None:
        return ratings, report
    return drop_unknown_items(ratings, report, movies, spec.movies or "the item table", policy)


def drop_unknown_items(
    ratings: pd.DataFrame,
    report: ParseReport,
    movies: pd.DataFrame,
    movies_file: str,
    policy: BadLinePolicy = STRICT,
) -> tuple[pd.DataFrame, ParseReport]:
    """Ratings of items missing from ``movies``: a ParseError under ``fail``; under ``skip``
    dropped, counted in the report and bounded by ``max_skipped_fraction`` like bad lines."""
    items = ratings["item"].to_numpy()
    known = np.isin(items, movies["item"].to_numpy())
    if known.all():
        return ratings, report
    ids = np.unique(items[~known])
    n_unknown = len(items) - int(known.sum())
    shown = ", ".join(map(str, ids[: parsing.SHOWN])) + (" ..." if len(ids) > parsing.SHOWN else "")
    what = (
        f"{n_unknown} rating(s) of {len(ids)} movie(s) that {movies_file} lacks (MovieID {shown})"
    )
    skipped = report.skipped + n_unknown
    if policy.on_bad_lines == "fail":
        raise ParseError(
            f"{report.file_name}: {what}. Add them to {movies_file}, or set "
            "ingestion.on_bad_lines: skip in conf/base/parameters_ingestion.yml to drop "
            "these ratings."
        )
    if skipped > policy.max_skipped_fraction * report.lines:
        raise ParseError(
            f"{report.file_name}: {what}; with the other skipped lines {skipped} of "
            f"{report.lines}, more than ingestion.max_skipped_fraction="
            f"{policy.max_skipped_fraction}: is {movies_file} from the same release?"
        )
    logger.warning("%s: dropping %s", report.file_name, what)
    return ratings[known].reset_index(drop=True), ParseReport(
        report.file_name, report.lines, skipped, (*report.first_skipped, f"{what}: dropped")
    )


def parse_dataset_movies(
    archive: RawArchive, policy: BadLinePolicy = STRICT
) -> tuple[pd.DataFrame, ParseReport]:
    """The items of any supported dataset, in the common schema."""
    spec = dataset_spec(archive.dataset)
    if spec.format == "yoochoose":
        source = archive.ratings_ref if archive.ratings_ref is not None else archive.ratings
        return yoochoose_items(source, f"{archive.source}: {spec.ratings}")
    file_name = f"{archive.source}: {spec.movies}"
    if spec.format == "csv":
        return read_csv_movies(archive.movies, file_name, policy)
    if spec.format == "ml-100k":
        return read_100k_items(archive.movies, file_name, policy)
    return read_movies(archive.movies, file_name, policy)
