"""The champion rule and how `--model` is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import TINY_RUN_PARAMS, make_project_copy, write_archive
from movielens_sbr import hooks, model_registry

METRICS = {
    "gru4rec": {"recall@20": 0.30, "mrr@20": 0.10},
    "pop": {"recall@20": 0.10, "mrr@20": 0.02},
    "sknn": {"recall@20": 0.28, "mrr@20": 0.12},
    "protocol": {"ks": [20]},
    "dataset": {"n_items": 40},
}


def test_a_model_that_beats_the_best_baseline_is_promoted():
    promoted, why = model_registry.promotion(METRICS, "recall@20", 0.0)
    assert promoted
    assert "beats the best baseline sknn 0.2800" in why


def test_a_worse_model_is_not_promoted_and_says_why():
    promoted, why = model_registry.promotion(METRICS, "mrr@20", 0.0)
    assert not promoted
    assert why.startswith("gru4rec mrr@20 0.1000 does not beat the best baseline sknn 0.1200")
    # A required margin larger than the gain also holds a better model back.
    assert not model_registry.promotion(METRICS, "recall@20", 0.05)[0]


def test_model_names_are_read_as_registry_or_kedro_versions_or_aliases():
    assert model_registry.kind_of("3") == "registry_version"
    assert model_registry.kind_of("v12") == "registry_version"
    assert model_registry.kind_of("2026-12-02T19.59.49.111Z") == "kedro_version"
    assert model_registry.kind_of("champion") == "alias"
    assert model_registry.registered_name("ml-1m") == "movielens-sbr-ml-1m-gru4rec"


def run(project: Path, pipeline: str | None, params: dict) -> None:
    from kedro.framework.session import KedroSession

    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=[pipeline] if pipeline else None)


@pytest.mark.slow
def test_champion_moves_only_on_a_passing_evaluation(tmp_path: Path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from movielens_sbr.recommend import Recommender

    archive = write_archive(tmp_path / "input" / "ml-1m.zip")
    project = make_project_copy(tmp_path / "project", archive, monkeypatch)
    promote_all = {**TINY_RUN_PARAMS, "registry": {"min_gain_over_best_baseline": -1.0}}
    run(project, None, promote_all)
    champion = Recommender.load(project)
    first_version = champion.model_version
    assert champion.model_info()["version"] == "1"
    assert champion.model_info()["aliases"] == ["champion"]

    # A training-only run saves a newer model, but the champion still answers.
    run(project, "training", TINY_RUN_PARAMS)
    models = sorted((project / "data/06_models/gru4rec.keras").iterdir())
    assert len(models) == 2 and models[0].name == first_version
    after_training = Recommender.load(project)
    assert after_training.model_version == first_version
    assert after_training.recommend([1, 2], 5).items == champion.recommend([1, 2], 5).items
    # So does the recommending pipeline.
    infos: list[str] = []
    monkeypatch.setattr(hooks.logger, "info", lambda text, *args: infos.append(text % args))
    run(project, "recommending", TINY_RUN_PARAMS)
    name = model_registry.registered_name("ml-1m")
    assert f"Recommending with {name} version 1 (model {first_version})" in infos
    # The newest model answers only when asked for by its Kedro version.
    assert Recommender.load(project, model_version=models[1].name).model_version == models[1].name

    # Evaluating the new model with a rule it cannot pass registers it, without promoting.
    warnings: list[str] = []
    monkeypatch.setattr(hooks.logger, "warning", lambda text, *args: warnings.append(text % args))
    impossible = {**TINY_RUN_PARAMS, "registry": {"min_gain_over_best_baseline": 1.0}}
    run(project, "evaluation", impossible)
    (refusal,) = [w for w in warnings if "is not promoted" in w]
    assert "version 2" in refusal and "gru4rec recall@20" in refusal and "does not beat" in refusal
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    second = client.get_model_version(name, "2")
    assert second.tags["kedro_version"] == models[1].name
    assert "does not beat" in second.tags["promotion"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    assert Recommender.load(project).model_version == first_version
    assert Recommender.load(project, model_version="2").model_version == models[1].name
