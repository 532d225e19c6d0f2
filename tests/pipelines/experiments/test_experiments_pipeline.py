"""Experiments: namespaced copies of the real pipelines, their catalog entries, one real run."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import pandas as pd
import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline

from conftest import TINY_RUN_PARAMS
from movielens_sbr import methods
from movielens_sbr.pipelines import evaluation, experiments, sessions, training

ROOT = Path(__file__).resolve().parents[3]


def function(func) -> tuple:
    """What a node calls: a function, or a method and the (equal, not identical) object
    it is bound to."""
    return getattr(func, "__func__", func), getattr(func, "__self__", None)


def test_every_variant_wraps_the_real_pipelines_in_its_namespace():
    pipeline = experiments.create_pipeline()
    assert set(experiments.VARIANTS) == set(
        yaml.safe_load((ROOT / "conf/base/parameters_experiments.yml").read_text())["experiments"]
    ) - {"evaluation"}
    for name, sections in experiments.VARIANTS.items():
        namespace = f"experiments.{name}"
        nodes = [n for n in pipeline.nodes if n.namespace == namespace]
        trained = experiments.trained_by(sections)
        assert trained, name  # every variant trains a method
        training_pipelines = (training.create_pipeline(m.name) for m in trained)
        base = evaluation.create_pipeline() + sum(training_pipelines, Pipeline([]))
        if "sessions" in sections:
            base += sessions.create_pipeline()
        # The same functions as the default pipelines, not copies of them (a training
        # node is the train method of its method's ModelTrainer).
        assert {function(n.func) for n in base.nodes} <= {function(n.func) for n in nodes}
        inputs = {i for n in nodes for i in n.inputs}
        outputs = {o for n in nodes for o in n.outputs}
        for method in methods.trained():
            if method in trained:
                assert f"{namespace}.{method.model_dataset}" in outputs
            else:  # the default run's model is evaluated beside the variant's
                assert method.model_dataset in inputs
        assert any(f"params:{namespace}.{section}" in inputs for section in sections)
        assert "params:experiments.evaluation" in inputs
        assert "params:seed" in inputs  # one seed for every variant
        assert f"{namespace}.metrics" in outputs
        if "sessions" in sections:
            assert "ratings" in inputs and f"{namespace}.train_sessions" in outputs
        else:
            assert "train_sessions" in inputs  # the default splits
    assert pipeline.outputs() >= {"experiments_report", "experiments_comparison"}


def test_every_namespaced_dataset_is_stored_under_its_variant():
    from kedro.config import OmegaConfigLoader

    from movielens_sbr.settings import CONFIG_LOADER_ARGS

    # Through Kedro's loader: the paths use ${globals:data_dir} (one folder per dataset).
    config = OmegaConfigLoader(str(ROOT / "conf"), **CONFIG_LOADER_ARGS)["catalog"]
    catalog = DataCatalog.from_config(config)
    pipeline = experiments.create_pipeline()
    namespaced = [name for name in pipeline.all_outputs() if name.startswith("experiments.")]
    assert {name.split(".")[1] for name in namespaced} == set(experiments.VARIANTS)
    for name in namespaced:
        variant = name.split(".")[1]
        dataset = catalog.get(name)
        assert not isinstance(dataset, MemoryDataset), name
        assert f"/experiments/{variant}/" in str(dataset._filepath), name


@pytest.mark.slow
def test_experiments_run_and_report(finished_project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(finished_project)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    with KedroSession.create(project_path=finished_project, runtime_params=TINY_RUN_PARAMS) as s:
        s.run(pipeline_names=["experiments"])

    def latest(relative: str) -> Path:
        folder = finished_project / "data" / relative
        return sorted(folder.iterdir())[-1] / folder.name

    comparison = json.loads(latest("08_reporting/experiments_comparison.json").read_text())
    rows = {(row["variant"], row["method"]): row for row in comparison["variants"]}
    # One row per variant and method it trained: both on the user-as-session split.
    assert {variant for variant, _ in rows} == set(experiments.VARIANTS)
    assert {m for v, m in rows if v == "sessions_user"} == set(methods.names(trained=True))
    k = comparison["k"]
    defaults = yaml.safe_load((ROOT / "conf/base/parameters_training.yml").read_text())
    for loss in ("cross_entropy", "sampled_cross_entropy", "bpr_max"):
        expected = "(defaults)" if defaults["training"]["loss"] == loss else f"training.loss={loss}"
        assert rows[(f"loss_{loss}", "gru4rec")]["changed"] == expected
    assert rows[("embedding_separate", "gru4rec")]["changed"] == "training.embedding=embedding"
    assert rows[("sessions_user", "gru4rec")]["changed"] == "sessions.session_mode=user"
    assert rows[("sasrec_loss_bce", "sasrec")]["changed"] == "sasrec.loss=bce"
    for row in rows.values():
        assert row[f"recall@{k}_low"] <= row[f"recall@{k}"] <= row[f"recall@{k}_high"]
        assert 0 <= row[f"mrr@{k}"] <= row[f"recall@{k}"] <= 1
        assert row["train_seconds"] > 0 and row["epochs"] == 1
    # The user-as-session variant has its own split, so a different number of predictions.
    assert (
        rows[("sessions_user", "gru4rec")]["test_predictions"]
        != rows[("loss_bpr_max", "gru4rec")]["test_predictions"]
    )
    # The default run's models are evaluated beside each variant's and the baselines.
    assert {b["method"] for b in comparison["baselines"]} == {"pop", "markov", "gru4rec", "sasrec"}

    report = latest("08_reporting/experiments_report.md").read_text()
    assert all(f"| {variant} |" in report for variant in experiments.VARIANTS)
    assert latest("08_reporting/experiments.png").stat().st_size > 10_000
    model = keras.models.load_model(
        latest("06_models/experiments/loss_cross_entropy/gru4rec.keras")
    )
    # A loss variant trains on the default splits: one score per item of their catalogue.
    item_index = pd.read_parquet(latest("05_model_input/item_index.parquet"))
    assert model.get_layer("scores").units == len(item_index)

    # Every variant is an MLflow run nested under the experiments run, with its metrics.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{finished_project / 'mlflow.db'}")
    experiment_id = client.get_experiment_by_name("movielens-sbr").experiment_id
    (parent,) = client.search_runs([experiment_id], "tags.`mlflow.runName` = 'experiments'")
    children = client.search_runs(
        [experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    by_variant = {run.data.tags["experiments.variant"]: run for run in children}
    assert set(by_variant) == set(experiments.VARIANTS)
    for (variant, method), row in rows.items():
        run = by_variant[variant]
        assert run.data.metrics[f"{method}.recall_at_{k}"] == pytest.approx(row[f"recall@{k}"])
        assert run.info.status == "FINISHED"
    assert by_variant["loss_bpr_max"].data.params["training.loss"] == "bpr_max"
