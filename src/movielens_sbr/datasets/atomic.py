"""Atomic saves for file-based Kedro datasets: write beside the target, then rename.

kedro-datasets write straight into the target file, so a crash, a full disk or Ctrl-C in
the middle of a save leaves a truncated file, and for a versioned dataset a truncated
*latest* version that every later load picks up. :func:`make_atomic` redirects one
dataset's writes to hidden temporary files in the same folder and renames them into
place only when the whole save succeeded (``os.replace`` is atomic on one filesystem);
on failure they are deleted. A killed process can leave a ``.*.tmp`` file behind, never
a file under the real name. ``AtomicSavesHook`` (hooks.py) applies it to every dataset.
"""

from __future__ import annotations

import contextlib
import os
import types
from pathlib import Path
from typing import Any

from fsspec.implementations.local import LocalFileSystem
from kedro.io import AbstractDataset

from movielens_sbr.atomic_files import replace_durably, temporary_path

_MARK = "_movielens_sbr_atomic"


class StagingFileSystem(LocalFileSystem):
    """A local filesystem whose writes land in temporary files beside their targets."""

    def __init__(self, **kwargs: Any):
        super().__init__(auto_mkdir=True, skip_instance_cache=True, **kwargs)
        self.staged: dict[str, str] = {}  # target path -> temporary path
        self.created: list[Path] = []  # folders made for the targets, removed on discard

    def _stage(self, path: str) -> str:
        target = self._strip_protocol(path)
        if target not in self.staged:
            folder = os.path.dirname(target)
            missing = [p for p in (Path(folder), *Path(folder).parents) if not p.exists()]
            os.makedirs(folder or ".", exist_ok=True)
            self.created.extend(missing)  # deepest first
            self.staged[target] = str(temporary_path(target))
        return self.staged[target]

    def _open(self, path, mode="rb", block_size=None, **kwargs):
        if "a" in mode:
            raise NotImplementedError("appending cannot be made atomic")
        if "w" in mode or "x" in mode:
            path = self._stage(path)
        return super()._open(path, mode, block_size, **kwargs)

    def cp_file(self, path1, path2, **kwargs):  # put() of a local file lands here
        return super().cp_file(path1, self._stage(path2), **kwargs)

    def commit(self) -> None:
        """Flush every staged file to disk and rename it over its target."""
        for target, temporary in self.staged.items():
            replace_durably(temporary, target)
        self.staged.clear()

    def discard(self) -> None:
        for temporary in self.staged.values():
            Path(temporary).unlink(missing_ok=True)
        for folder in self.created:  # e.g. the new version folder of a versioned dataset
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
        self.staged.clear()
        self.created.clear()


def make_atomic(dataset: AbstractDataset | None) -> bool:
    """Make ``dataset.save`` atomic if it writes local files; returns whether it does now.

    Only the innermost save (the dataset's own writing code) is wrapped; Kedro's
    versioning and error handling around it stay as they are, so the version check that
    follows a save sees the renamed file.
    """
    if dataset is None or getattr(dataset, _MARK, False):
        return dataset is not None
    raw_save = getattr(type(dataset).save, "__wrapped__", None)
    if not isinstance(getattr(dataset, "_fs", None), LocalFileSystem) or raw_save is None:
        return False

    def staged_save(self, data):
        staging = StagingFileSystem()
        original, self._fs = self._fs, staging
        try:
            raw_save(self, data)
        except BaseException:
            staging.discard()
            raise
        finally:
            self._fs = original
        staging.commit()

    dataset.save = types.MethodType(type(dataset)._save_wrapper(staged_save), dataset)
    setattr(dataset, _MARK, True)
    return True
