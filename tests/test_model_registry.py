"""The champion rule and how `--model` is read."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conftest import TINY_RUN_PARAMS, json_of_python, make_project_copy, write_archive
from movielens_sbr import hooks, methods, model_registry

METRICS = {
    "gru4rec": {"recall@20": 0.30, "mrr@20": 0.10},
    "pop": {"recall@20": 0.10, "mrr@20": 0.02},
    "sknn": {"recall@20": 0.28, "mrr@20": 0.12},
    "protocol": {"ks": [20]},
    "dataset": {"n_items": 40},
}


def test_a_model_that_beats_the_best_baseline_is_promoted():
    promoted, why = model_registry.promotion(METRICS, "recall@20", 0.0, "gru4rec")
    assert promoted
    assert "beats the best baseline sknn 0.2800" in why


def test_a_worse_model_is_not_promoted_and_says_why():
    promoted, why = model_registry.promotion(METRICS, "mrr@20", 0.0, "gru4rec")
    assert not promoted
    assert why.startswith("gru4rec mrr@20 0.1000 does not beat the best baseline sknn 0.1200")
    # A required margin larger than the gain also holds a better model back.
    assert not model_registry.promotion(METRICS, "recall@20", 0.05, "gru4rec")[0]


def test_each_trained_method_is_judged_against_the_baselines_only():
    # A second trained method has a champion of its own: it is not a baseline of GRU4Rec,
    # and GRU4Rec is not one of its baselines.
    metrics = {**METRICS, "twin": {"recall@20": 0.50, "mrr@20": 0.11}}
    twin = dataclasses.replace(methods.get("gru4rec"), name="twin")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(methods._REGISTRY, "twin", twin)
        promoted, why = model_registry.promotion(metrics, "recall@20", 0.0, "gru4rec")
        assert promoted and "best baseline sknn 0.2800" in why
        promoted, why = model_registry.promotion(metrics, "mrr@20", 0.0, "twin")
        assert not promoted
        assert why.startswith("twin mrr@20 0.1100 does not beat the best baseline sknn 0.1200")


def test_model_names_are_read_as_registry_or_kedro_versions_or_aliases():
    assert model_registry.kind_of("3") == "registry_version"
    assert model_registry.kind_of("v12") == "registry_version"
    assert model_registry.kind_of("2026-12-02T19.59.49.111Z") == "kedro_version"
    assert model_registry.kind_of("champion") == "alias"
    assert model_registry.registered_name("ml-1m", "gru4rec") == "movielens-sbr-ml-1m-gru4rec"


def run(project: Path, pipeline: str | None, params: dict, **load_versions: str) -> None:
    from kedro.framework.session import KedroSession

    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session.run(pipeline_names=[pipeline] if pipeline else None, load_versions=load_versions)


def newest_recommendations(project: Path):
    import pandas as pd

    folder = project / "data/07_model_output/session_recommendations.parquet"
    return pd.read_parquet(max(folder.iterdir()) / folder.name)


@pytest.mark.slow
def test_champion_moves_only_on_a_passing_evaluation(tmp_path: Path, monkeypatch):
    import pandas as pd
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
    name = model_registry.registered_name("ml-1m", "gru4rec")
    assert f"Recommending with {name} version 1 (model {first_version})" in infos
    # The newest model answers only when asked for by its Kedro version.
    assert Recommender.load(project, model_version=models[1].name).model_version == models[1].name

    # Evaluating the new model with a rule it cannot pass registers it, without promoting.
    warnings: list[str] = []
    monkeypatch.setattr(hooks.logger, "warning", lambda text, *args: warnings.append(text % args))
    impossible = {**TINY_RUN_PARAMS, "registry": {"min_gain_over_best_baseline": 1.0}}
    run(project, "evaluation", impossible)
    # Every trained method is judged on its own; GRU4Rec's refusal:
    (refusal,) = [w for w in warnings if "is not promoted" in w and "gru4rec" in w]
    assert "version 2" in refusal and "gru4rec recall@20" in refusal and "does not beat" in refusal
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    second = client.get_model_version(name, "2")
    assert second.tags["kedro_version"] == models[1].name
    assert "does not beat" in second.tags["promotion"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    assert Recommender.load(project).model_version == first_version
    assert Recommender.load(project, model_version="2").model_version == models[1].name

    # A full `kedro run` recommends with the model it has just trained, champion or not.
    from_champion = newest_recommendations(project)
    other = {**impossible, "training": {**TINY_RUN_PARAMS["training"], "layers": [8]}}
    run(project, None, other)
    from_full_run = newest_recommendations(project)
    third = max((project / "data/06_models/gru4rec.keras").iterdir()).name
    assert third not in {models[0].name, models[1].name}
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    run(project, "recommending", other, gru4rec_model=third)
    from_third = newest_recommendations(project)
    pd.testing.assert_frame_equal(from_full_run, from_third)
    assert not from_full_run.equals(from_champion)  # so the comparison can tell them apart


def twin_scorer(model):
    """GRU4Rec's scorer under another method's name (the second trained method below)."""
    from movielens_sbr.model.gru4rec import GRU4RecScorer

    scorer = GRU4RecScorer(model)
    scorer.name = "twin"
    return scorer


@pytest.mark.slow
def test_every_trained_method_gets_its_registered_model_and_champion(tmp_path: Path, monkeypatch):
    """A trained method added to movielens_sbr.methods (here a copy of GRU4Rec called
    `twin`, with its own `twin_model` dataset) is registered and promoted on its own, and
    the recommender and the recommending pipeline answer from its champion: no code names
    the methods."""
    import shutil

    import yaml
    from mlflow.tracking import MlflowClient

    from movielens_sbr.recommend import Recommender

    twin = dataclasses.replace(
        methods.get("gru4rec"),
        name="twin",
        factory="test_model_registry:twin_scorer",
        section="twin",  # every trained method has a section (and training pipeline) of its own
    )
    monkeypatch.setitem(methods._REGISTRY, "twin", twin)
    archive = write_archive(tmp_path / "input" / "ml-1m.zip")
    project = make_project_copy(tmp_path / "project", archive, monkeypatch)
    catalog_file = project / "conf/base/catalog.yml"
    entry = yaml.safe_load(catalog_file.read_text())["gru4rec_model"]
    entry["filepath"] = entry["filepath"].replace("gru4rec.keras", "twin.keras")
    with catalog_file.open("a") as catalog:
        catalog.write("\n" + yaml.safe_dump({"twin_model": entry}))
    training = yaml.safe_load((project / "conf/base/parameters_training.yml").read_text())
    (project / "conf/base/parameters_twin.yml").write_text(
        yaml.safe_dump({"twin": training["training"]})
    )

    # Train every other trained method; the twin's model is a copy of GRU4Rec's, saved as
    # the same complete run.
    sections = [method.section for method in methods.trained() if method.name != "twin"]
    for pipeline in ("ingestion", "sessions", *sections):
        run(project, pipeline, TINY_RUN_PARAMS)
    (trained,) = (project / "data/06_models/gru4rec.keras").iterdir()
    (project / "data/06_models/twin.keras" / trained.name).mkdir(parents=True)
    shutil.copy(
        trained / "gru4rec.keras",
        project / "data/06_models/twin.keras" / trained.name / "twin.keras",
    )

    # The evaluation measures both and registers each under its own name.
    run(project, "evaluation", TINY_RUN_PARAMS)  # promotes every version (-1)
    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    for method in ("gru4rec", "twin"):
        name = model_registry.registered_name("ml-1m", method)
        champion = client.get_model_version_by_alias(name, "champion")
        assert champion.tags["method"] == method
        assert champion.tags["kedro_version"] == trained.name
        assert "best baseline" in champion.tags["promotion"]
    chosen = Recommender.load(project, method="twin")
    assert chosen.model_info()["registered_model"] == "movielens-sbr-ml-1m-twin"
    assert chosen.model_method == "twin" and chosen.model_version == trained.name

    # The recommending pipeline swaps in the champion of each trained method.
    infos: list[str] = []
    monkeypatch.setattr(hooks.logger, "info", lambda text, *args: infos.append(text % args))
    run(project, "recommending", TINY_RUN_PARAMS)
    for method in ("gru4rec", "twin"):
        name = model_registry.registered_name("ml-1m", method)
        assert f"Recommending with {name} version 1 (model {trained.name})" in infos


@pytest.mark.slow
def test_the_registry_is_read_without_mlflow_and_agrees_with_it(finished_project: Path):
    """Every `movielens-sbr` call asks the registry for the champion: a local SQLite store
    is read directly (MLflow's import costs about 2 s of CPU), with the answers MLflow's
    client gives; a store of another schema is read through MLflow."""
    import sqlite3

    store = finished_project / "mlflow.db"
    uri = f"sqlite:///{store}"
    name = model_registry.registered_name("ml-1m", "gru4rec")
    with sqlite3.connect(store) as connection:
        (schema,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert schema == model_registry.SQLITE_SCHEMA  # else update the reader for that schema
    for alias, version in [("champion", None), (None, "1"), ("nope", None), (None, "7")]:
        direct = model_registry._read_sqlite(uri, name, alias, version)
        through_mlflow = model_registry._read_with_mlflow(uri, name, alias, version)
        assert direct == through_mlflow, (alias, version)
    assert model_registry._read_sqlite(uri, "no-such-model", "champion", None) is None
    champion = model_registry.choose(uri, name)
    assert champion.version == "1" and champion.aliases == ("champion",)
    assert set(champion.test_metrics) == {"recall@20", "mrr@20"}
    with pytest.raises(LookupError, match="no registry version '7'"):
        model_registry.choose(uri, name, "7")

    # The command line answers from the champion without importing MLflow.
    probe = (
        "import json, sys\n"
        "from click.testing import CliRunner\n"
        "from movielens_sbr.console import main\n"
        "args = ['--project', sys.argv[1], 'recommend', '-m', '1', '-n', '3', '--json']\n"
        "result = CliRunner().invoke(main, args)\n"
        "assert result.exit_code == 0, result.output\n"
        "imported = sorted(m for m in ('mlflow', 'kedro_mlflow') if m in sys.modules)\n"
        "print(json.dumps({'answer': json.loads(result.stdout), 'imported': imported}))\n"
    )
    report = json_of_python("-c", probe, str(finished_project), timeout=300)
    assert report["imported"] == []
    assert report["answer"]["model"]["registered_model"] == name
    assert report["answer"]["model"]["aliases"] == ["champion"]
