"""Ingestion and sessions on the shared real MovieLens file (skipped when it is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession

from conftest import KNOWN_ARCHIVES, make_project_copy


@pytest.mark.slow
def test_sessions_on_real_data(shared_archive: Path, tmp_path: Path, monkeypatch):
    make_project_copy(tmp_path, shared_archive, monkeypatch)
    with KedroSession.create(project_path=tmp_path) as session:
        session.run(pipeline_names=["ingestion", "sessions"])

    summary = json.loads((tmp_path / "data/02_intermediate/archive_summary.json").read_text())
    expected = KNOWN_ARCHIVES.get(summary["md5"])
    if expected is not None:  # an archive the tests know: its exact counts
        assert summary["ratings"] == expected["ratings"]
        assert summary["movies"] == expected["movies"]

    def load(name: str) -> pd.DataFrame:
        folder = tmp_path / f"data/05_model_input/{name}.parquet"
        return pd.read_parquet(sorted(folder.iterdir())[-1] / f"{name}.parquet")

    train, valid, test = load("train_sessions"), load("valid_sessions"), load("test_sessions")
    # No leakage: every valid/test event comes after the last train event.
    assert train["timestamp"].max() < valid["timestamp"].min()
    assert valid["timestamp"].max() < test["timestamp"].min()
    assert set(test["item"]) <= set(train["item"])
    # The default split leaves about a tenth of the events to each of valid and test.
    total = len(train) + len(valid) + len(test)
    assert 0.07 < len(test) / total < 0.13
    assert 0.07 < len(valid) / total < 0.13
    assert len(load("item_index")) > 3000
