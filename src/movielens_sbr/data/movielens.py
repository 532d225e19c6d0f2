"""MovieLens archives: find, download, verify and parse them (no Kedro imports).

The archive is read member by member in memory and never extracted, so a hostile
entry name (absolute path, ``..``) cannot write anywhere.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

logger = logging.getLogger(__name__)

ML_1M_URL = "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
ML_1M_MD5 = "c4d9eecfca2ab87c1945afe126590906"
ARCHIVE_ENV_VAR = "MOVIELENS_ARCHIVE"
REQUIRED_MEMBERS = ("ratings.dat", "movies.dat")
# The real ml-1m archive unpacks to 24 MB; anything far beyond is refused as a zip bomb.
MAX_MEMBER_BYTES = 1 << 30
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# MovieLens 1M was collected 2000-2003; a generous window catches garbage timestamps.
_MIN_TIMESTAMP = 788_918_400  # 1995-01-01
_MAX_TIMESTAMP = 2_000_000_000  # 2033-05-18


class ArchiveError(RuntimeError):
    """The MovieLens archive cannot be found, downloaded or read."""


class ParseError(ValueError):
    """A MovieLens file has lines that do not follow the official format."""


@dataclass(frozen=True)
class RawArchive:
    """The raw bytes of the MovieLens files that the project uses, and where they came from."""

    ratings: bytes
    movies: bytes
    source: str
    md5: str


def md5_of(path: Path, chunk_size: int = 1 << 20) -> str:
    """MD5 hex digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _check_url(url: str) -> None:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in _LOOPBACK_HOSTS):
        return
    raise ArchiveError(f"Refusing to download {url!r}: only https URLs are allowed.")


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        _check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def download(
    url: str,
    destination: Path,
    md5: str | None,
    *,
    timeout: float = 60.0,
    retries: int = 3,
    backoff_s: float = 2.0,
) -> Path:
    """Download ``url`` to ``destination`` atomically, checking its MD5.

    The bytes go to a temporary file beside the destination, which is renamed only
    once the checksum matches; on any failure the temporary file is removed.
    """
    _check_url(url)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + f".part-{os.getpid()}")
    opener = urllib.request.build_opener(_HttpsOnlyRedirects)
    last_error: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            digest = hashlib.md5(usedforsecurity=False)
            with opener.open(url, timeout=timeout) as response, open(partial, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0)
                received = 0
                started = time.monotonic()
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                if total and received != total:
                    raise OSError(f"connection closed after {received} of {total} bytes")
                logger.info(
                    "Downloaded %s: %.1f MB in %.1f s",
                    url,
                    received / 1e6,
                    time.monotonic() - started,
                )
            if md5 is not None and digest.hexdigest() != md5:
                partial.unlink(missing_ok=True)
                raise ArchiveError(
                    f"Checksum mismatch for {url}: got MD5 {digest.hexdigest()}, expected {md5}. "
                    "The partial download was deleted; try again, or download the archive "
                    f"yourself and set {ARCHIVE_ENV_VAR} to its path."
                )
            os.replace(partial, destination)
            return destination
        except ArchiveError:
            raise
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            partial.unlink(missing_ok=True)
            last_error = error
            if attempt < retries:
                wait = backoff_s * 2 ** (attempt - 1)
                logger.warning(
                    "Download of %s failed (%s); retry %d/%d in %.0f s",
                    url,
                    error,
                    attempt,
                    retries - 1,
                    wait,
                )
                time.sleep(wait)
    raise ArchiveError(
        f"Could not download {url} after {retries} attempts: {last_error}"
    ) from last_error


def _find_member(names: list[str], wanted: str) -> str | None:
    matches = [name for name in names if name.rsplit("/", 1)[-1] == wanted]
    return min(matches, key=len) if matches else None


def read_archive(path: Path) -> RawArchive:
    """Read ratings.dat and movies.dat from a MovieLens zip or unpacked folder."""
    path = Path(path)
    if path.is_dir():
        files = {}
        for wanted in REQUIRED_MEMBERS:
            found = sorted(path.rglob(wanted), key=lambda p: len(p.parts))
            if not found:
                raise ArchiveError(
                    f"{path} has no {wanted}: point {ARCHIVE_ENV_VAR} at the ml-1m.zip archive "
                    "or at the folder that holds ratings.dat and movies.dat."
                )
            files[wanted] = found[0].read_bytes()
        return RawArchive(files["ratings.dat"], files["movies.dat"], str(path), "")
    if not path.is_file():
        raise ArchiveError(f"{path} does not exist.")
    if path.stat().st_size == 0:
        raise ArchiveError(f"{path} is empty: delete it and download or copy the archive again.")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            files = {}
            for wanted in REQUIRED_MEMBERS:
                member = _find_member(list(infos), wanted)
                if member is None:
                    raise ArchiveError(
                        f"{path} has no {wanted} (members: {sorted(infos)[:10]}): "
                        "is it a MovieLens 1M archive?"
                    )
                if infos[member].file_size > MAX_MEMBER_BYTES:
                    raise ArchiveError(
                        f"{path}: {member} claims {infos[member].file_size} bytes unpacked, far "
                        "beyond the real dataset; refusing to read it."
                    )
                with archive.open(member) as handle:
                    data = handle.read(MAX_MEMBER_BYTES + 1)
                if len(data) > MAX_MEMBER_BYTES:
                    raise ArchiveError(f"{path}: {member} unpacks beyond {MAX_MEMBER_BYTES} bytes.")
                files[wanted] = data
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as error:
        # Damaged streams, encrypted members and unknown compression all land here.
        raise ArchiveError(
            f"{path} is not a readable zip archive ({error}): it may be truncated or corrupt; "
            "delete it and download or copy it again."
        ) from error
    return RawArchive(files["ratings.dat"], files["movies.dat"], str(path), md5_of(path))


def resolve_archive(
    cache_path: Path, local_path: str | os.PathLike | None, url: str, md5: str
) -> Path:
    """Pick the archive to read: the user's local copy, the cached download, or a new download."""
    if local_path:
        local = Path(local_path).expanduser()
        if not local.exists():
            raise ArchiveError(
                f"The local MovieLens archive {local} (from {ARCHIVE_ENV_VAR} or the catalog's "
                "local_path) does not exist: fix the path, or unset it to download from GroupLens."
            )
        return local
    cache_path = Path(cache_path)
    if cache_path.exists():
        return cache_path
    unpacked = cache_path.with_suffix("")
    if unpacked.is_dir():
        return unpacked
    try:
        return download(url, cache_path, md5)
    except ArchiveError as error:
        raise ArchiveError(
            f"No MovieLens archive at {cache_path} and the download failed ({error}). Either "
            f"(1) connect to the network and run again, or (2) set {ARCHIVE_ENV_VAR}=/path/to/"
            f"ml-1m.zip (a zip or an unpacked folder), or copy the archive to {cache_path}."
        ) from error


# ---------------------------------------------------------------------------------------------
# Parsing


_RATING_FIELDS = ("UserID", "MovieID", "Rating", "Timestamp")
_RATING_BOUNDS = {
    "UserID": (1, 2**31 - 1),
    "MovieID": (1, 2**31 - 1),
    "Rating": (1, 5),
    "Timestamp": (_MIN_TIMESTAMP, _MAX_TIMESTAMP),
}


def _line_report(file_name: str, problems: list[tuple[int, str, str]]) -> str:
    """``problems`` are (line number, reason, line text), one per bad line."""
    shown = "\n".join(
        f"  {file_name}, line {line}: {reason}: {text[:80]!r}"
        for line, reason, text in problems[:5]
    )
    return f"{len(problems)} bad line(s) in {file_name}; the first ones:\n{shown}"


def _rating_line_problem(line: str) -> str | None:
    if "\t" in line:
        return "tab separator: fields must be separated by '::'"
    fields = line.split("::")
    if len(fields) != 4:
        return f"expected 4 fields separated by '::', found {len(fields)}"
    reasons = []
    for name, field in zip(_RATING_FIELDS, fields, strict=True):
        text = field.strip()
        if not (text.isascii() and text.lstrip("-").isdigit()):
            reasons.append(f"{name} {field!r} is not an integer")
            continue
        low, high = _RATING_BOUNDS[name]
        if not low <= int(text) <= high:
            reasons.append(f"{name} {text} is outside {low}..{high}")
    return "; ".join(reasons) or None


def _diagnose_ratings(text: str, file_name: str) -> ParseError:
    """Slow path, taken only when the fast parser or a value check fails: find the lines.

    Line numbers count every line of the file, blank ones included; blank lines are
    otherwise ignored.
    """
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            reason = _rating_line_problem(line)
            if reason:
                problems.append((number, reason, line))
    if not problems:
        return ParseError(f"{file_name} could not be parsed, but no line looks wrong.")
    return ParseError(_line_report(file_name, problems))


def parse_ratings(data: bytes, file_name: str = "ratings.dat") -> pd.DataFrame:
    """Parse ``UserID::MovieID::Rating::Timestamp`` lines into a typed DataFrame.

    Returns columns user (int32), item (int32), rating (int8), timestamp (datetime64[s]).
    Good files take the fast path (pyarrow's CSV reader); any failure re-reads the text
    line by line to report file, line numbers and reasons.
    """
    if not data.strip():
        raise ParseError(f"{file_name} is empty.")
    text_bytes = data.replace(b"\r\n", b"\n")
    if b"\t" in text_bytes:  # the fast path turns '::' into tabs, so tabs must not pass it
        raise _diagnose_ratings(text_bytes.decode("latin-1"), file_name)
    try:
        table = pacsv.read_csv(
            io.BytesIO(text_bytes.replace(b"::", b"\t")),
            read_options=pacsv.ReadOptions(column_names=["user", "item", "rating", "timestamp"]),
            parse_options=pacsv.ParseOptions(delimiter="\t"),
            convert_options=pacsv.ConvertOptions(
                column_types={
                    "user": pa.int32(),
                    "item": pa.int32(),
                    "rating": pa.int8(),
                    "timestamp": pa.int64(),
                }
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise _diagnose_ratings(text_bytes.decode("latin-1"), file_name) from error
    ratings = table.to_pandas()
    out_of_range = np.zeros(len(ratings), dtype=bool)
    for column, name in zip(ratings.columns, _RATING_FIELDS, strict=True):
        low, high = _RATING_BOUNDS[name]
        out_of_range |= ~ratings[column].between(low, high).to_numpy()
    if out_of_range.any():
        raise _diagnose_ratings(text_bytes.decode("latin-1"), file_name)
    ratings["timestamp"] = ratings["timestamp"].astype("datetime64[s]")
    return ratings


def parse_movies(data: bytes, file_name: str = "movies.dat") -> pd.DataFrame:
    """Parse ``MovieID::Title::Genres`` (ISO-8859-1) into item, title, year and a genres list."""
    rows, problems = [], []
    for number, line in enumerate(data.decode("latin-1").replace("\r\n", "\n").splitlines(), 1):
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
    if problems:
        raise ParseError(_line_report(file_name, problems))
    if not rows:
        raise ParseError(f"{file_name} is empty.")
    movies = pd.DataFrame(rows, columns=["line", "item", "title", "genres"])
    duplicated = movies["item"].duplicated(keep=False)
    if duplicated.any():
        dupes = movies[duplicated]
        raise ParseError(
            _line_report(
                file_name,
                [
                    (line, f"duplicate MovieID {item}", f"{item}::{title}")
                    for line, item, title in dupes[["line", "item", "title"]].itertuples(
                        index=False
                    )
                ],
            )
        )
    movies["item"] = movies["item"].astype("int32")
    movies["year"] = movies["title"].str.extract(r"\((\d{4})\)\s*$", expand=False).astype("Int16")
    movies["genres"] = movies["genres"].str.split("|")
    return movies[["item", "title", "year", "genres"]]
