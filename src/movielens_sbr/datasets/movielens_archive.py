"""A read-only Kedro dataset for the MovieLens archive: local copy, cache or download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from movielens_sbr.data.movielens import (
    ML_1M_MD5,
    ML_1M_URL,
    ArchiveError,
    RawArchive,
    read_archive,
    resolve_archive,
)


class MovieLensArchiveDataset(AbstractDataset[None, RawArchive]):
    """Loads ratings.dat and movies.dat as raw bytes.

    Resolution order: ``local_path`` (a zip or an unpacked folder, usually from the
    ``MOVIELENS_ARCHIVE`` environment variable), then ``filepath`` (the download cache),
    then a download of ``url`` checked against ``md5`` and renamed into ``filepath``
    only once complete. The checksum applies to downloads only: a file the user supplies
    may be another release or a subset.
    """

    def __init__(
        self,
        filepath: str,
        url: str = ML_1M_URL,
        md5: str = ML_1M_MD5,
        local_path: str | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        self._filepath = Path(filepath)
        self._url = url
        self._md5 = md5
        self._local_path = local_path or None
        self.metadata = metadata

    def load(self) -> RawArchive:
        try:
            path = resolve_archive(self._filepath, self._local_path, self._url, self._md5)
            return read_archive(path)
        except ArchiveError as error:
            raise DatasetError(str(error)) from error

    def save(self, data: None) -> None:
        raise DatasetError("The MovieLens archive is read-only.")

    def _exists(self) -> bool:
        local = Path(self._local_path) if self._local_path else None
        return bool(local and local.exists()) or self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "local_path": self._local_path, "url": self._url}
