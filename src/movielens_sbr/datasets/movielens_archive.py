"""A read-only Kedro dataset for a dataset's raw files: local copy, cache or download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from movielens_sbr.data.movielens import (
    DEFAULT_DATASET,
    ArchiveError,
    RawArchive,
    dataset_spec,
    read_archive,
    resolve_archive,
)


class MovieLensArchiveDataset(AbstractDataset[None, RawArchive]):
    """Loads the files of ``dataset`` (a key of ``DATASETS``; ml-1m by default).

    Resolution order: ``local_path`` (a zip, an unpacked folder or, for YOOCHOOSE, the
    clicks file; usually from the ``MOVIELENS_ARCHIVE`` environment variable), then
    ``filepath`` (the download cache, by default ``data/01_raw/<archive>``), then a
    download of ``url`` checked against ``md5`` (or the published companion ``md5_url``)
    and renamed into ``filepath`` only once complete. URL and checksums default to the
    dataset's entry in ``DATASETS``. The checksum applies to downloads only: a file the
    user supplies may be another release or a subset.
    """

    def __init__(
        self,
        filepath: str | None = None,
        url: str | None = None,
        md5: str | None = None,
        local_path: str | None = None,
        dataset: str = DEFAULT_DATASET,
        md5_url: str | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        try:
            self._spec = dataset_spec(dataset)
        except ValueError as error:
            raise DatasetError(str(error)) from None
        self._filepath = Path(filepath or Path("data/01_raw") / self._spec.archive)
        self._url = url or self._spec.url
        self._md5 = md5 or self._spec.md5
        # A pinned md5 (given or in the table) makes the companion file unnecessary.
        self._md5_url = None if self._md5 else (md5_url or self._spec.md5_url)
        self._local_path = local_path or None
        self.metadata = metadata

    def load(self) -> RawArchive:
        try:
            path = resolve_archive(
                self._filepath,
                self._local_path,
                self._url,
                self._md5,
                md5_url=self._md5_url,
                dataset=self._spec,
            )
            return read_archive(path, self._spec)
        except ArchiveError as error:
            raise DatasetError(str(error)) from error

    def save(self, data: None) -> None:
        raise DatasetError("The MovieLens archive is read-only.")

    def _exists(self) -> bool:
        local = Path(self._local_path) if self._local_path else None
        return bool(local and local.exists()) or self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {
            "dataset": self._spec.name,
            "filepath": str(self._filepath),
            "local_path": self._local_path,
            "url": self._url,
        }
