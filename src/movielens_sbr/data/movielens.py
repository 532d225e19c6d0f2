"""MovieLens (and YOOCHOOSE) archives: the dataset table, download, reading (no Kedro imports).

``DATASETS`` is the one table of supported datasets: where each comes from, which files it
holds, their format and how a download is verified. The archive is read member by member
(in memory, or streamed for the big CSV and click files) and never extracted, so no entry
can write anywhere; an archive with entry names that would escape a folder (absolute
paths, ``..``) is refused all the same. Parsing the files is the job of ``dat_format.py``
(the ``.dat`` files), ``formats.py`` (every other format) and ``parsing.py`` (what they
share).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from movielens_sbr.atomic_files import replace_durably, temporary_path

logger = logging.getLogger(__name__)

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/"
ML_1M_URL = GROUPLENS_URL + "ml-1m.zip"
ML_1M_MD5 = "c4d9eecfca2ab87c1945afe126590906"
ARCHIVE_ENV_VAR = "MOVIELENS_ARCHIVE"
REQUIRED_MEMBERS = ("ratings.dat", "movies.dat")
# Members read into memory: ml-10m's ratings.dat (265 MB) is the largest. Anything far
# beyond is refused as a zip bomb.
MAX_MEMBER_BYTES = 1 << 30
# Streamed members (the CSV ratings and the clicks, up to about a gigabyte or more) never
# sit in memory whole; the limit only refuses absurd declared sizes.
MAX_STREAMED_BYTES = 16 << 30
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class ArchiveError(RuntimeError):
    """The MovieLens archive cannot be found, downloaded or read."""


FORMATS = ("ml-100k", "dat", "csv", "yoochoose")


@dataclass(frozen=True)
class DatasetSpec:
    """One supported dataset: its files, their format, where it comes from, how it is checked.

    ``format``: ``ml-100k`` (tab-separated u.data, pipe-separated u.item), ``dat``
    (``::``-separated .dat files), ``csv`` (ratings.csv / movies.csv with a header) or
    ``yoochoose`` (clicks: session, ISO time, item, category). ``md5`` pins the archive's
    checksum; without it, ``md5_url`` names the companion ``<archive>.md5`` file that
    GroupLens publishes beside the archive, fetched and checked at download time.
    """

    name: str
    title: str
    format: str
    archive: str  # file name of the download and of its cache in data/01_raw
    ratings: str  # the member holding the events
    movies: str | None  # the member holding titles; None: derived from the events
    url: str | None = None  # None: no public download, local copy only
    md5: str | None = None
    md5_url: str | None = None
    half_stars: bool = False  # ratings in steps of 0.5 (float32) instead of 1..5 (int8)
    streamed: bool = False  # ratings parsed in batches from the member, never read whole
    how_to_get: str = ""
    # What a user calls one of its items, in the output and messages of the
    # ``movielens-sbr`` CLI: "movie" for MovieLens, "item" for YOOCHOOSE's clicked items.
    item_noun: str = "movie"

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(name for name in (self.ratings, self.movies) if name)


def _grouplens(
    name: str,
    title: str,
    fmt: str,
    ratings: str,
    movies: str,
    *,
    md5: str | None = None,
    half_stars: bool = True,
    streamed: bool = False,
) -> DatasetSpec:
    url = f"{GROUPLENS_URL}{name}.zip"
    return DatasetSpec(
        name,
        title,
        fmt,
        f"{name}.zip",
        ratings,
        movies,
        url,
        md5,
        None if md5 else url + ".md5",
        half_stars,
        streamed,
    )


# Only ml-1m's MD5 is pinned (checked against the real archive); the others are checked
# against GroupLens' companion .md5 file when downloaded. No checksum is made up here.
DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        _grouplens("ml-100k", "MovieLens 100K", "ml-100k", "u.data", "u.item", half_stars=False),
        _grouplens(
            "ml-1m",
            "MovieLens 1M",
            "dat",
            "ratings.dat",
            "movies.dat",
            md5=ML_1M_MD5,
            half_stars=False,
        ),
        _grouplens("ml-10m", "MovieLens 10M", "dat", "ratings.dat", "movies.dat"),
        _grouplens(
            "ml-latest-small",
            "MovieLens latest (small)",
            "csv",
            "ratings.csv",
            "movies.csv",
            streamed=True,
        ),
        _grouplens("ml-20m", "MovieLens 20M", "csv", "ratings.csv", "movies.csv", streamed=True),
        _grouplens("ml-25m", "MovieLens 25M", "csv", "ratings.csv", "movies.csv", streamed=True),
        _grouplens("ml-32m", "MovieLens 32M", "csv", "ratings.csv", "movies.csv", streamed=True),
        DatasetSpec(
            "yoochoose",
            "YOOCHOOSE clicks",
            "yoochoose",
            "yoochoose-data",
            "yoochoose-clicks.dat",
            None,
            streamed=True,
            how_to_get=(
                "YOOCHOOSE (RecSys Challenge 2015) has no public download: get "
                "yoochoose-data.7z from the challenge's data page (login required), unpack it "
                "(7z x yoochoose-data.7z) and point "
                f"{ARCHIVE_ENV_VAR} at the folder or at yoochoose-clicks.dat"
            ),
            item_noun="item",
        ),
    )
}
DEFAULT_DATASET = "ml-1m"


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a dataset by name; an unknown name lists the valid ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"Unknown dataset {name!r}; choose among {sorted(DATASETS)}") from None


@dataclass(frozen=True)
class MemberRef:
    """Where a streamed member lives: a file, or ``member`` inside the zip at ``path``."""

    path: str
    member: str | None = None
    size: int = 0

    @contextlib.contextmanager
    def open(self):
        """A binary stream of the member, decompressed on the fly (nothing is extracted)."""
        if self.member is None:
            with open(self.path, "rb") as handle:
                yield handle
            return
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as handle:
                yield handle
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
            raise ArchiveError(
                f"{self.path}: {self.member} cannot be read ({error}): the archive may be "
                "truncated or corrupt; delete it and download or copy it again."
            ) from error


@dataclass(frozen=True)
class RawArchive:
    """The raw bytes of the files the project uses, and where they came from.

    Small members are read into ``ratings`` / ``movies``; a streamed member (big CSV or
    click files) is left where it is, in ``ratings_ref``, and ``ratings`` stays empty.
    """

    ratings: bytes
    movies: bytes
    source: str
    md5: str
    dataset: str = DEFAULT_DATASET
    ratings_ref: MemberRef | None = None


def md5_of(path: Path, chunk_size: int = 1 << 20) -> str:
    """MD5 hex digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def md5_of_files(paths: list[Path], chunk_size: int = 1 << 20) -> str:
    """One MD5 over the bytes of ``paths`` in order: an unpacked folder's checksum (its
    member files, as a zip's MD5 covers them), which changes when any of them changes."""
    digest = hashlib.md5(usedforsecurity=False)
    for path in paths:
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


_MD5_HEX = re.compile(rb"(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])")


def fetch_companion_md5(url: str, *, timeout: float = 60.0) -> str:
    """The MD5 published in a companion ``<archive>.md5`` file.

    Accepts the usual layouts (``<md5>  ml-20m.zip``, ``MD5 (ml-20m.zip) = <md5>``, the
    bare digest): exactly one distinct 32-digit hex value must be in it.
    """
    _check_url(url)
    opener = urllib.request.build_opener(_HttpsOnlyRedirects)
    try:
        with opener.open(url, timeout=timeout) as response:
            text = response.read(64 * 1024)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        raise ArchiveError(
            f"Could not fetch the published checksum {url} ({error}), so a download cannot "
            "be verified."
        ) from error
    digests = {match.lower() for match in _MD5_HEX.findall(text)}
    if len(digests) != 1:
        raise ArchiveError(
            f"The checksum file {url} holds {len(digests)} MD5 values instead of one: "
            f"{text[:200]!r}."
        )
    return digests.pop().decode("ascii")


def download(
    url: str,
    destination: Path,
    md5: str | None,
    *,
    md5_url: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    backoff_s: float = 2.0,
) -> Path:
    """Download ``url`` to ``destination`` atomically, checking its MD5.

    ``md5`` pins the checksum; without it, ``md5_url`` (a companion ``.md5`` file) is
    fetched first and its value checked. The bytes go to a temporary file beside the
    destination, which is renamed only once the checksum matches; on any failure the
    temporary file is removed.
    """
    _check_url(url)
    if md5 is None and md5_url:
        md5 = fetch_companion_md5(md5_url, timeout=timeout)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = temporary_path(destination)
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
            replace_durably(partial, destination)
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


def _unsafe_member(name: str) -> bool:
    """True for an entry that would land outside the folder it is unpacked into."""
    posix = name.replace("\\", "/")
    return (
        posix.startswith("/")
        or (len(posix) > 1 and posix[1] == ":")  # a Windows drive: C:/...
        or ".." in posix.split("/")
    )


def _only_candidate(where: Path, wanted: str, matches: list[str]) -> str | None:
    """The one file named ``wanted``; several are an error: which one is meant is a guess."""
    if len(matches) > 1:
        raise ArchiveError(
            f"{where} holds {len(matches)} files named {wanted}: {sorted(matches)}. Keep only "
            f"the dataset's own, or point {ARCHIVE_ENV_VAR} at the folder or zip holding "
            "just that one."
        )
    return matches[0] if matches else None


def _find_member(path: Path, names: list[str], wanted: str) -> str | None:
    return _only_candidate(
        path, wanted, [name for name in names if name.rsplit("/", 1)[-1] == wanted]
    )


def _folder_members(path: Path, spec: DatasetSpec) -> dict[str, Path]:
    found = {}
    for wanted in spec.members:
        match = _only_candidate(path, wanted, [str(p) for p in path.rglob(wanted)])
        if match is None:
            raise ArchiveError(
                f"{path} has no {wanted}: point {ARCHIVE_ENV_VAR} at the {spec.archive} "
                f"archive or at the folder that holds {' and '.join(spec.members)}."
            )
        member = Path(match)
        streamed = spec.streamed and wanted == spec.ratings
        # The limits of zip members hold for files in a folder too; a device (a link to
        # /dev/zero) or a FIFO never ends, so only regular files are read.
        if not member.is_file():
            raise ArchiveError(f"{member} is not a regular file (a device, FIFO or folder?).")
        limit = MAX_STREAMED_BYTES if streamed else MAX_MEMBER_BYTES
        if member.stat().st_size > limit:
            raise ArchiveError(
                f"{member} has {member.stat().st_size} bytes, far beyond the real dataset "
                f"(limit {limit}); refusing to read it."
            )
        found[wanted] = member
    return found


def _read_at_most(path: Path, limit: int) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew since it was checked
        raise ArchiveError(f"{path} is larger than {limit} bytes; refusing to read it.")
    return data


def read_archive(path: Path, dataset: str | DatasetSpec = DEFAULT_DATASET) -> RawArchive:
    """Read the files of ``dataset`` from its zip, an unpacked folder, or (for a dataset
    without a movies file) the events file itself.

    Small members are read into memory; the streamed ones (``spec.streamed``) are only
    located and checked, then parsed batch by batch from the zip member.
    """
    spec = dataset if isinstance(dataset, DatasetSpec) else dataset_spec(dataset)
    path = Path(path)
    if path.is_dir():
        located = _folder_members(path, spec)
        files = {
            name: b""
            if spec.streamed and name == spec.ratings
            else _read_at_most(found, MAX_MEMBER_BYTES)
            for name, found in located.items()
        }
        ref = MemberRef(str(located[spec.ratings])) if spec.streamed else None
        return RawArchive(
            files[spec.ratings],
            files.get(spec.movies, b""),
            str(path),
            md5_of_files([located[name] for name in spec.members]),
            spec.name,
            ref,
        )
    if not path.is_file():
        raise ArchiveError(f"{path} does not exist.")
    if path.stat().st_size == 0:
        raise ArchiveError(f"{path} is empty: delete it and download or copy the archive again.")
    if path.name == spec.ratings and spec.movies is None and not zipfile.is_zipfile(path):
        # The events file itself (yoochoose-clicks.dat): nothing else is needed.
        return RawArchive(b"", b"", str(path), md5_of(path), spec.name, MemberRef(str(path)))
    if path.name in spec.members and not zipfile.is_zipfile(path):
        raise ArchiveError(
            f"{path} is one of the dataset's files, not its archive: point {ARCHIVE_ENV_VAR} "
            f"at the folder that holds {' and '.join(spec.members)} ({path.parent}?) or at "
            f"{spec.archive}."
        )
    files: dict[str, bytes] = {}
    ref = None
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            hostile = sorted(name for name in infos if _unsafe_member(name))
            if hostile:
                # Nothing is ever extracted, but an archive built to escape its folder is
                # not a MovieLens download: refuse it as a whole.
                raise ArchiveError(
                    f"{path} has entries with absolute paths or '..' that would land outside "
                    f"the raw data folder ({hostile[:3]}): refusing the archive. Download "
                    f"{spec.archive} again from its official source."
                )
            for wanted in spec.members:
                member = _find_member(path, list(infos), wanted)
                if member is None:
                    raise ArchiveError(
                        f"{path} has no {wanted} (members: {sorted(infos)[:10]}): "
                        f"is it a {spec.title} archive?"
                    )
                streamed = spec.streamed and wanted == spec.ratings
                limit = MAX_STREAMED_BYTES if streamed else MAX_MEMBER_BYTES
                if infos[member].file_size > limit:
                    raise ArchiveError(
                        f"{path}: {member} claims {infos[member].file_size} bytes unpacked, far "
                        "beyond the real dataset; refusing to read it."
                    )
                if streamed:
                    ref = MemberRef(str(path), member, infos[member].file_size)
                    files[wanted] = b""
                    continue
                with archive.open(member) as handle:
                    data = handle.read(MAX_MEMBER_BYTES + 1)
                if len(data) > MAX_MEMBER_BYTES:
                    raise ArchiveError(f"{path}: {member} unpacks beyond {MAX_MEMBER_BYTES} bytes.")
                files[wanted] = data
    except ArchiveError:
        raise  # a RuntimeError too, but already says what is wrong
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as error:
        # Damaged streams, encrypted members and unknown compression all land here.
        raise ArchiveError(
            f"{path} is not a readable zip archive ({error}): it may be truncated or corrupt; "
            "delete it and download or copy it again."
        ) from error
    return RawArchive(
        files[spec.ratings],
        files.get(spec.movies, b"") if spec.movies else b"",
        str(path),
        md5_of(path),
        spec.name,
        ref,
    )


def resolve_archive(
    cache_path: Path,
    local_path: str | os.PathLike | None,
    url: str | None,
    md5: str | None,
    *,
    md5_url: str | None = None,
    dataset: str | DatasetSpec = DEFAULT_DATASET,
) -> Path:
    """Pick the archive to read: the user's local copy, the cached download, or a new download."""
    spec = dataset if isinstance(dataset, DatasetSpec) else dataset_spec(dataset)
    if local_path:
        local = Path(local_path).expanduser()
        if not local.exists():
            raise ArchiveError(
                f"The local {spec.title} archive {local} (from {ARCHIVE_ENV_VAR} or the "
                "catalog's local_path) does not exist: fix the path, or unset it to use "
                f"{cache_path}" + (" or download from GroupLens." if url else ".")
            )
        return local
    cache_path = Path(cache_path)
    if cache_path.exists():
        return cache_path
    unpacked = cache_path.with_suffix("")
    if unpacked.is_dir():
        return unpacked
    if not url:
        raise ArchiveError(
            f"No {spec.title} data at {cache_path}, and it cannot be downloaded: "
            f"{spec.how_to_get}, or copy it to {cache_path}."
        )
    try:
        kwargs = {"md5_url": md5_url} if md5_url else {}
        return download(url, cache_path, md5, **kwargs)
    except ArchiveError as error:
        raise ArchiveError(
            f"No MovieLens archive at {cache_path} and the download failed ({error}). Either "
            f"(1) connect to the network and run again, or (2) set {ARCHIVE_ENV_VAR}=/path/to/"
            f"{spec.archive} (a zip or an unpacked folder), or copy the archive to {cache_path}."
        ) from error
