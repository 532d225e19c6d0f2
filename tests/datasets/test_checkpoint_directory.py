"""CheckpointDirectory: the catalog entry that gives the training node its folder."""

from __future__ import annotations

import pytest
from kedro.io import DataCatalog, DatasetError

from movielens_sbr.datasets import CheckpointDirectory


def test_loads_as_a_created_folder(tmp_path):
    folder = tmp_path / "checkpoints" / "gru4rec"
    catalog = DataCatalog.from_config(
        {"ckpt": {"type": "movielens_sbr.datasets.CheckpointDirectory", "path": str(folder)}}
    )
    assert not catalog.exists("ckpt")

    assert catalog.load("ckpt") == str(folder)
    assert folder.is_dir() and catalog.exists("ckpt")


def test_save_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="written by the training node"):
        CheckpointDirectory(str(tmp_path)).save("anything")
