"""MLflow tracking: names, and the run that a real `kedro run` leaves in the project's store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from movielens_sbr import experiment_tracking as tracking


def test_metric_names_are_readable_and_valid_for_mlflow():
    assert tracking.metric_name("gru4rec", "recall@20") == "gru4rec.recall_at_20"
    logged = tracking.metrics_to_log(
        {
            "gru4rec": {"recall@20": 0.5, "recall@20_ci_low": 0.4},
            "protocol": {"ks": [1, 20], "ties": "pessimistic", "exclude_seen": True},
            "dataset": {"n_items": 40, "archive": "x.zip"},
        }
    )
    assert logged == {
        "gru4rec.recall_at_20": 0.5,
        "gru4rec.recall_at_20_ci_low": 0.4,
        "dataset.n_items": 40.0,
    }


def test_history_becomes_one_step_per_epoch():
    history = {
        "epochs": [{"epoch": 1, "loss": 3.5, "valid_recall@20": 0.2}, {"epoch": 2, "loss": 3.1}]
    }
    assert tracking.history_steps(history) == [
        ("training.loss", 3.5, 1),
        ("training.valid_recall_at_20", 0.2, 1),
        ("training.loss", 3.1, 2),
    ]


def test_every_trial_is_a_run_with_its_options():
    trials = pd.DataFrame(
        {
            "trial": [0, 1],
            "state": ["complete", "pruned"],
            "valid_recall@20": [0.3, 0.1],
            "epochs_run": [3, 1],
            "seconds": [2.0, 0.5],
            "param_loss": ["bpr_max", "cross_entropy"],
            "param_momentum": [0.1, None],
        }
    )
    runs = list(tracking.trial_runs(trials))
    assert runs[0] == (
        "trial 0",
        {"training.loss": "bpr_max", "training.momentum": 0.1, "state": "complete"},
        {"valid_recall_at_20": 0.3, "epochs_run": 3.0, "seconds": 2.0},
    )
    assert "training.momentum" not in runs[1][1]


def latest(path: Path) -> Path:
    return sorted(path.iterdir())[-1] / path.name


@pytest.mark.slow
def test_kedro_run_is_an_mlflow_run_with_the_metrics_of_metrics_json(finished_project: Path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{finished_project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("movielens-sbr")
    runs = client.search_runs(
        [experiment.experiment_id], "tags.`mlflow.runName` = '__default__'", order_by=["start_time"]
    )
    run = runs[0]  # the fixture's `kedro run`
    assert run.info.status == "FINISHED"
    metrics = json.loads(latest(finished_project / "data/08_reporting/metrics.json").read_text())

    logged = run.data.metrics
    for method in ("gru4rec", "pop", "markov", "sknn"):
        for name, value in metrics[method].items():
            assert logged[f"{method}.{name.replace('@', '_at_')}"] == pytest.approx(value), name
    assert logged["gru4rec.recall_at_20_ci_low"] <= logged["gru4rec.recall_at_20"]
    assert logged["dataset.test_predictions"] == metrics["dataset"]["test_predictions"]

    params = run.data.params
    assert params["training.epochs"] == "1"  # the runtime override
    assert params["training.layers"] == "[16]"
    assert params["evaluation.ks"] == "[1, 5, 10, 20]"
    # Each logged model's configuration under its own method: no clash between the two.
    assert "method" not in params
    for method in ("gru4rec", "sasrec"):
        saved = finished_project / "data/06_models" / f"{method}.keras"
        assert params[f"{method}/kedro_version"] == sorted(p.name for p in saved.iterdir())[-1]
    assert run.data.tags["dataset"] == "ml-1m"
    assert run.data.tags["kedro.env"] == "local"
    assert {"git.commit", "git.dirty"} <= set(run.data.tags)

    history = client.get_metric_history(run.info.run_id, "training.loss")
    assert [m.step for m in history] == [1]
    training_history = json.loads(
        latest(finished_project / "data/07_model_output/training_history.json").read_text()
    )
    logged_recall = client.get_metric_history(run.info.run_id, "training.valid_recall_at_20")
    epochs = training_history["epochs"]
    assert [(m.step, m.value) for m in logged_recall] == [
        (epoch["epoch"], pytest.approx(epoch["valid_recall@20"])) for epoch in epochs
    ]

    def files(folder: str) -> set[str]:
        return {Path(a.path).name for a in client.list_artifacts(run.info.run_id, folder)}

    assert {"metrics.json", "evaluation_report.md", "evaluation_breakdown.csv"} <= files(
        "reporting"
    )
    assert {"metrics.png", "breakdown.png", "session_length.png"} <= files("plots")
    assert files("sessions") == {"split_statistics.json"}
    assert files("training") == {"training_history.json"}


_RUN_AND_LIST_IMPORTS = (
    "import json, sys\n"
    "from kedro.framework.session import KedroSession\n"
    "from kedro.framework.startup import bootstrap_project\n"
    "bootstrap_project(sys.argv[1])\n"
    "with KedroSession.create(project_path=sys.argv[1]) as session:\n"
    "    session.run(pipeline_names=[sys.argv[2]])\n"
    "print(json.dumps(sorted(m for m in ('mlflow', 'kedro_mlflow') if m in sys.modules)))\n"
)


@pytest.mark.slow
def test_a_pipeline_with_tracking_disabled_runs_without_mlflow(tmp_path: Path, monkeypatch):
    """`tracking.disable_tracking.pipelines` in conf/local/mlflow.yml turns tracking off
    for those pipelines without importing MLflow, and keeps the rest of conf/base's
    mlflow.yml (the experiment's name) for the others."""
    import subprocess
    import sys

    from mlflow.tracking import MlflowClient

    from conftest import make_project_copy, write_archive

    archive = write_archive(tmp_path / "input" / "ml-1m.zip")
    project = make_project_copy(tmp_path / "project", archive, monkeypatch)
    (project / "conf/local").mkdir(exist_ok=True)
    (project / "conf/local/mlflow.yml").write_text(
        "tracking:\n  disable_tracking:\n    pipelines: [ingestion]\n"
    )

    def run(pipeline: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", _RUN_AND_LIST_IMPORTS, str(project), pipeline],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert run("ingestion") == []
    assert not (project / "mlflow.db").exists()
    assert run("sessions") == ["kedro_mlflow", "mlflow"]
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("movielens-sbr")  # conf/base's name is kept
    (tracked,) = client.search_runs([experiment.experiment_id])
    assert tracked.info.run_name == "sessions" and tracked.info.status == "FINISHED"


def test_kedro_mlflow_settings_are_set_up_when_first_read(tmp_path: Path, monkeypatch):
    """`kedro mlflow ui` and notebooks read `context.mlflow`: kedro-mlflow is set up then
    (it is not set up when a session only opens the catalog)."""
    from kedro.framework.session import KedroSession

    from conftest import make_project_copy, write_archive

    archive = write_archive(tmp_path / "input" / "ml-1m.zip")
    project = make_project_copy(tmp_path / "project", archive, monkeypatch)
    with KedroSession.create(project_path=project) as session:
        context = session.load_context()
        assert context.mlflow.ui.port == "5000" and context.mlflow.ui.host == "127.0.0.1"
        uri = context.mlflow.server.mlflow_tracking_uri
    assert uri == f"sqlite:///{(project / 'mlflow.db').resolve()}"
