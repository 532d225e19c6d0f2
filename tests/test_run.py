"""End to end: all four pipelines through a real KedroSession on a tiny generated archive.

Each test works in a copy of the project's conf/ inside a temporary folder, so runs never
touch the repository's data/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession

from conftest import TINY_SASREC, make_project_copy, make_ratings_lines, write_archive
from movielens_sbr.data.movielens import md5_of
from movielens_sbr.data.parsing import ParseError
from movielens_sbr.model import gru4rec

TINY_TRAINING = {
    "training": {"epochs": 2, "layers": [16], "embedding_dim": 16, "batch_size": 8},
    "sasrec": TINY_SASREC,
    "evaluation": {"n_examples": 3},
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away copy of the project reading a small generated archive."""
    archive = write_archive(tmp_path / "input" / "ml-1m.zip")
    return make_project_copy(tmp_path / "project", archive, monkeypatch)


def run(project: Path, pipeline: str | None = None, params: dict | None = None):
    with KedroSession.create(project_path=project, runtime_params=params or {}) as session:
        return session.run(pipeline_names=[pipeline] if pipeline else None)


def latest(path: Path) -> Path:
    """The newest version inside a versioned dataset folder."""
    return sorted(path.iterdir())[-1] / path.name


@pytest.mark.slow
def test_default_pipeline_runs_end_to_end(project: Path):
    run(project, params=TINY_TRAINING)

    metrics = json.loads(latest(project / "data/08_reporting/metrics.json").read_text())
    for method in ("gru4rec", "pop", "markov"):
        assert set(metrics[method]) >= {"recall@5", "mrr@5", "recall@20", "mrr@20"}
        assert all(0.0 <= value <= 1.0 for value in metrics[method].values())
    assert metrics["dataset"]["test_predictions"] > 0
    # The synthetic users mostly follow item i with i + 1: transitions must be learnable.
    assert metrics["markov"]["recall@5"] > metrics["pop"]["recall@5"]

    train = pd.read_parquet(latest(project / "data/05_model_input/train_sessions.parquet"))
    test = pd.read_parquet(latest(project / "data/05_model_input/test_sessions.parquet"))
    assert train["timestamp"].max() < test.groupby("session_id")["timestamp"].min().min()

    model = keras.models.load_model(latest(project / "data/06_models/gru4rec.keras"))
    scores, _ = model([np.array([0, 1], dtype=np.int32), np.zeros((2, 16), np.float32)])
    assert scores.shape[0] == 2

    examples = pd.read_csv(latest(project / "data/07_model_output/example_recommendations.csv"))
    assert examples["recommended"].notna().all() and len(examples) > 0
    for plot in ("session_length", "events_per_day", "training_history", "metrics", "breakdown"):
        assert latest(project / f"data/08_reporting/{plot}.png").stat().st_size > 1000
    # The report's image links reach the plots saved by the same run.
    report = latest(project / "data/08_reporting/evaluation_report.md")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report.read_text())
    assert len(links) == 2
    assert all((report.parent / link).is_file() for link in links)
    breakdown = pd.read_csv(latest(project / "data/08_reporting/evaluation_breakdown.csv"))
    assert set(breakdown["by"]) == {"position", "session_length"}


def versions(path: Path) -> list[Path]:
    """Every version of a versioned dataset, oldest first."""
    return [folder / path.name for folder in sorted(path.iterdir())]


def model_weights(path: Path) -> list[np.ndarray]:
    return keras.models.load_model(path).get_weights()


@pytest.mark.slow
def test_same_seed_gives_same_splits_and_metrics(project: Path):
    run(project, params=TINY_TRAINING)
    run(project, params=TINY_TRAINING)
    first, second = (
        json.loads(v.read_text()) for v in versions(project / "data/08_reporting/metrics.json")
    )
    # Everything but the measured seconds is identical.
    for metrics in (first, second):
        assert metrics["protocol"].pop("seconds")["total"] > 0
    assert first == second
    # Bit-identical splits and item index: the very same Parquet bytes.
    for name in ("train_sessions", "valid_sessions", "test_sessions", "item_index"):
        one, two = versions(project / f"data/05_model_input/{name}.parquet")
        assert one.read_bytes() == two.read_bytes(), name
    one, two = versions(project / "data/06_models/gru4rec.keras")
    for a, b in zip(model_weights(one), model_weights(two), strict=True):
        np.testing.assert_array_equal(a, b)

    # Each run left a manifest beside its metrics, naming what produced them.
    manifests = versions(project / "data/08_reporting/run_manifest.json")
    metric_folders = [v.parent.name for v in versions(project / "data/08_reporting/metrics.json")]
    assert [m.parent.name for m in manifests] == metric_folders
    manifest = json.loads(manifests[-1].read_text())
    archive = project.parent / "input" / "ml-1m.zip"
    assert manifest["archive"] == {"source": str(archive), "md5": md5_of(archive)}
    assert manifest["packages"]["tensorflow-cpu"] and manifest["packages"]["kedro"] == "1.7.0"
    assert manifest["seed"] == 42 and manifest["parameters"]["training"]["epochs"] == 2
    assert manifest["outputs"]["metrics"] == metric_folders[-1]
    assert set(manifest["git"]) == {"commit", "dirty"}


class Interrupted(Exception):
    """Stands for Ctrl-C or a crash in the middle of training."""


@pytest.mark.slow
def test_interrupted_training_resumes_to_the_same_metrics(project: Path, monkeypatch):
    run(project, params=TINY_TRAINING)  # uninterrupted reference: all four pipelines

    real_run_epoch = gru4rec._Trainer.run_epoch
    calls: list[int] = []

    def crash_in_epoch_2(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Interrupted
        return real_run_epoch(self, *args, **kwargs)

    monkeypatch.setattr(gru4rec._Trainer, "run_epoch", crash_in_epoch_2)
    with pytest.raises(Interrupted):
        run(project, "training", TINY_TRAINING)
    monkeypatch.setattr(gru4rec._Trainer, "run_epoch", real_run_epoch)
    assert len(versions(project / "data/06_models/gru4rec.keras")) == 1  # nothing half-saved
    assert (project / "data/06_models/checkpoints/gru4rec/last.npz").exists()

    resume = {**TINY_TRAINING, "training": {**TINY_TRAINING["training"], "resume": True}}
    run(project, "training", resume)
    run(project, "evaluation", TINY_TRAINING)

    first, resumed = (
        json.loads(v.read_text()) for v in versions(project / "data/08_reporting/metrics.json")
    )
    for metrics in (first, resumed):
        metrics["protocol"].pop("seconds")  # measured times differ between runs
    assert resumed == first
    one, two = versions(project / "data/06_models/gru4rec.keras")
    for a, b in zip(model_weights(one), model_weights(two), strict=True):
        np.testing.assert_array_equal(a, b)
    histories = [
        json.loads(v.read_text())
        for v in versions(project / "data/07_model_output/training_history.json")
    ]
    assert [[e["loss"] for e in h["epochs"]] for h in histories] == [
        [e["loss"] for e in histories[0]["epochs"]]
    ] * 2


def test_training_without_splits_names_the_pipeline_to_run_first(project: Path):
    with pytest.raises(RuntimeError, match="kedro run --pipelines sessions"):
        run(project, "training")


def test_bad_parameter_is_rejected_before_running(project: Path):
    with pytest.raises(ValueError, match=r"training\.batch_size"):
        run(project, "ingestion", {"training": {"batch_size": -1}})
    assert [p for p in (project / "data").rglob("*") if p.is_file()] == []  # no work done


def test_bad_lines_fail_or_are_skipped_and_counted(tmp_path: Path, monkeypatch):
    lines = make_ratings_lines()
    archive = write_archive(
        tmp_path / "input" / "ml-1m.zip", [*lines[:10], "1::2::9::978300760", *lines[10:]]
    )
    project = make_project_copy(tmp_path / "project", archive, monkeypatch)

    with pytest.raises(ParseError, match=r"ratings\.dat, line 11: Rating 9 is outside 1\.\.5"):
        run(project, "ingestion")
    assert not (project / "data/02_intermediate/ratings.parquet").exists()

    skip = {"ingestion": {"on_bad_lines": "skip"}}
    run(project, "ingestion", skip)
    run(project, "sessions", skip)

    summary = json.loads(latest(project / "data/02_intermediate/archive_summary.json").read_text())
    assert summary["skipped_lines"] == {"ratings.dat": 1, "movies.dat": 0}
    assert summary["ratings"] == len(lines)
    stats = json.loads(latest(project / "data/08_reporting/split_statistics.json").read_text())
    assert stats["skipped_input_lines"] == {"ratings.dat": 1, "movies.dat": 0}
