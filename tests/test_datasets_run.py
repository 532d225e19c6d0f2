"""`kedro run --env <dataset>`: ingestion and sessions on tiny fixtures of other datasets.

Each run works in a throw-away copy of the project; the dataset's outputs must land in
its own folder (data/<dataset>/), never in the default ml-1m one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession

from conftest import make_project_copy, write_archive, write_dataset


def run(project: Path, env: str, params: dict | None = None):
    with KedroSession.create(project_path=project, env=env, runtime_params=params) as session:
        return session.run(pipeline_names=["ingestion", "sessions"])


def latest(path: Path) -> Path:
    return sorted(path.iterdir())[-1] / path.name


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "local_copy"),
    [("ml-20m", "ml-20m.zip"), ("yoochoose", "yoochoose-data")],
)
def test_env_runs_ingestion_and_sessions(tmp_path, monkeypatch, env, local_copy):
    source = write_dataset(tmp_path / "input" / local_copy, env)
    project = make_project_copy(tmp_path / "project", source, monkeypatch)

    run(project, env)

    data = project / "data" / env
    summary = json.loads(latest(data / "02_intermediate/archive_summary.json").read_text())
    assert summary["dataset"] == env and summary["source"] == str(source)
    ratings = pd.read_parquet(latest(data / "02_intermediate/ratings.parquet"))
    movies = pd.read_parquet(latest(data / "02_intermediate/movies.parquet"))
    assert ratings["user"].dtype == np.int32 and ratings["item"].dtype == np.int32
    assert summary["ratings"] == len(ratings) > 0
    assert set(ratings["item"]) <= set(movies["item"])
    train = pd.read_parquet(latest(data / "05_model_input/train_sessions.parquet"))
    test = pd.read_parquet(latest(data / "05_model_input/test_sessions.parquet"))
    assert len(train) > 0 and len(test) > 0
    assert train["timestamp"].max() < test.groupby("session_id")["timestamp"].min().min()
    statistics = json.loads(latest(data / "08_reporting/split_statistics.json").read_text())
    events = pd.read_parquet(latest(data / "03_primary/session_events.parquet"))
    if env == "yoochoose":
        # The click sessions are the sessions: one per session id, none split by a gap.
        assert statistics["parameters"]["session_mode"] == "user"
        assert statistics["cleansing"]["sessions_before_cleansing"] == ratings["user"].nunique()
        assert (events.groupby("session_id")["user"].nunique() == 1).all()
        assert movies["title"].str.fullmatch(r"item \d+").all()
    else:
        assert ratings["rating"].dtype == np.float32
        assert statistics["parameters"]["session_mode"] == "gap"
        assert "Matrix, The (1999)" in set(movies["title"])
    # Nothing was written to the default dataset's folders.
    assert not (project / "data" / "02_intermediate" / "ratings.parquet").exists()


@pytest.mark.slow
def test_dataset_parameter_alone_is_refused_with_the_fix(tmp_path, monkeypatch):
    """--params ingestion.dataset=... without the environment would mislabel the outputs."""
    source = write_archive(tmp_path / "input" / "ml-1m.zip")
    project = make_project_copy(tmp_path / "project", source, monkeypatch)

    with pytest.raises(ValueError, match=r"reads 'ml-1m'.*kedro run --env ml-20m"):
        run(project, "local", {"ingestion": {"dataset": "ml-20m"}})
