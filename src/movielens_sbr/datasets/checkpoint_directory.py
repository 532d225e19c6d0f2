"""A catalog entry for the folder where training writes its epoch checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError


class CheckpointDirectory(AbstractDataset[None, str]):
    """Loads as the path of a folder (created if needed) that a node may write files into.

    The training node writes ``last.npz`` there at the end of every epoch, atomically, and
    reads it back when ``training.resume`` is true. Declaring the folder in the catalog
    keeps its location in configuration and visible in ``kedro viz``.
    """

    def __init__(self, path: str, metadata: dict[str, Any] | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> str:
        self._path.mkdir(parents=True, exist_ok=True)
        return str(self._path)

    def save(self, data: None) -> None:
        raise DatasetError("A checkpoint directory is written by the training node, not saved.")

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
