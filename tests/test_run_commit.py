"""A run commits as a whole: failed or killed runs leave what readers see as it was."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io.core import AbstractVersionedDataset

from conftest import (
    TINY_SASREC,
    make_movies_lines,
    make_project_copy,
    make_ratings_lines,
    write_archive,
)
from movielens_sbr.recommend import Recommender
from movielens_sbr.run_commit import LineageError, check_model_lineage, retrain_command

TINY = {
    "training": {"epochs": 1, "layers": [8], "embedding_dim": 8, "batch_size": 8},
    "sasrec": TINY_SASREC,
    "evaluation": {"n_examples": 2, "n_bootstrap": 0},
}


class Failure(Exception):
    """Stands for any error of a node."""


class FailAfter:
    """Raises as soon as the named node has finished (its outputs saved), as a failing next
    node would. (Kedro calls ``after_node_run`` before it saves the outputs.)"""

    def __init__(self, node_name: str):
        self.node_name = node_name
        self.unsaved: set[str] | None = None

    @hook_impl
    def after_node_run(self, node) -> None:
        if node.name == self.node_name:
            self.unsaved = set(node.outputs)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        if self.unsaved is not None:
            self.unsaved.discard(dataset_name)
            if not self.unsaved:
                raise Failure(f"injected after {self.node_name}")


def run(project: Path, pipeline: str | None = None, params: dict | None = None, hook=None):
    with KedroSession.create(project_path=project, runtime_params=params or TINY) as session:
        if hook is not None:
            session._hook_manager.register(hook)
        return session.run(pipeline_names=[pipeline] if pipeline else None)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` with the hash of its bytes, except the training
    checkpoint: it is the state to resume from, kept on purpose when a run fails."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "checkpoints" not in path.parts
    }


def catalog_of(project: Path):
    with KedroSession.create(project_path=project) as session:
        return session.load_context().catalog


def loaded_versions(project: Path) -> dict[str, str]:
    catalog = catalog_of(project)
    versions = {}
    for name in sorted(pipelines["__default__"].datasets()):
        dataset = catalog.get(name, fallback_to_runtime_pattern=True)
        if isinstance(dataset, AbstractVersionedDataset):
            versions[name] = dataset.resolve_load_version()
    return versions


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    archive = write_archive(tmp_path / "input" / "ml-1m.zip")
    return make_project_copy(tmp_path / "project", archive, monkeypatch)


@pytest.fixture
def completed(tmp_path: Path, finished_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project on which a whole `kedro run` has completed (saves a run)."""
    project = tmp_path / "project"
    shutil.copytree(finished_project, project, ignore=shutil.ignore_patterns("kedro-viz*"))
    monkeypatch.setenv("MOVIELENS_ARCHIVE", str(finished_project.parent / "input" / "ml-1m.zip"))
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    monkeypatch.chdir(project)
    bootstrap_project(project)
    return project


def test_every_file_a_pipeline_writes_is_versioned(project: Path):
    """Unversioned files would be replaced by a run that fails later: none may exist."""
    catalog = catalog_of(project)
    for name in sorted(pipelines["__default__"].all_outputs()):
        dataset = catalog.get(name, fallback_to_runtime_pattern=True)
        if type(dataset).__name__ != "MemoryDataset":
            assert isinstance(dataset, AbstractVersionedDataset), name


@pytest.mark.slow
def test_a_failure_between_nodes_leaves_the_data_folder_as_it_was(completed: Path):
    project = completed
    before = snapshot(project / "data")
    versions = loaded_versions(project)

    # Fails after parse_movies and parse_ratings have saved: nothing of it may remain.
    with pytest.raises(Failure):
        run(project, "ingestion", hook=FailAfter("parse_ratings"))
    with pytest.raises(Failure):
        run(project, hook=FailAfter("evaluate_methods"))
    assert snapshot(project / "data") == before
    assert loaded_versions(project) == versions


@pytest.mark.slow
def test_a_bad_ratings_file_keeps_the_previous_movies(tmp_path: Path, monkeypatch):
    """The reported case: movies.dat parses, ratings.dat does not; movies stay the old ones."""
    archive = write_archive(tmp_path / "input" / "ml-1m.zip")
    project = make_project_copy(tmp_path / "project", archive, monkeypatch)
    run(project, "ingestion")
    movies = catalog_of(project).load("movies")

    write_archive(
        archive,
        [*make_ratings_lines(), "1::2::oops::975000000"],
        make_movies_lines()[1:],  # valid, but movie 1 is gone
    )
    with pytest.raises(Exception, match="Rating 'oops'"):
        run(project, "ingestion")
    pd.testing.assert_frame_equal(catalog_of(project).load("movies"), movies)


def loaded_versions_and_recommendations(project: Path) -> tuple[dict[str, str], str, list]:
    bootstrap_project(project)
    recommender = Recommender.load(project)
    return loaded_versions(project), recommender.model_version, recommender.recommend([3, 4]).items


@pytest.mark.slow
def test_sigkill_at_any_node_boundary_leaves_the_previous_complete_run(
    tmp_path: Path, completed: Path
):
    project = completed
    complete = loaded_versions(project)
    assert len(set(complete.values())) == 1  # one run, one version
    metrics = catalog_of(project).load("metrics")
    recommender = Recommender.load(project)
    expected = (complete, recommender.model_version, recommender.recommend([3, 4]).items)

    # The next run reads another archive, so whatever it saves differs from the above. It
    # is captured at every node boundary and SIGKILLed after its last node.
    other = write_archive(
        tmp_path / "other" / "ml-1m.zip", make_ratings_lines(n_users=70, seed=5), None
    )
    script = Path(__file__).with_name("snapshot_node_boundaries.py")
    done = subprocess.run(
        [sys.executable, str(script), str(project), str(tmp_path / "at"), json.dumps(TINY)],
        capture_output=True,
        text=True,
        env={**os.environ, "MOVIELENS_ARCHIVE": str(other)},
        timeout=900,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    snapshots = sorted((tmp_path / "at").iterdir())
    nodes = [node.name for node in pipelines["__default__"].nodes]
    assert [path.name.split("-", 1)[1] for path in snapshots] == nodes
    for snapshot in snapshots:  # the project as a SIGKILL after that node leaves it
        assert loaded_versions_and_recommendations(snapshot) == expected, snapshot.name
    bootstrap_project(project)

    # The project itself, after the real kill: every dataset loads, the recommender answers
    # as before, and the next run works on the complete run.
    assert loaded_versions_and_recommendations(project) == expected
    catalog = catalog_of(project)
    for name in complete:
        if name.endswith("_plot"):  # Kedro cannot load a saved figure back
            assert catalog.exists(name), name
        else:
            assert catalog.load(name) is not None, name
    assert catalog.load("metrics") == metrics
    # The killed run's files stay, unread, until the next run deletes them.
    (killed,) = incomplete_versions(project)
    assert (project / "data/06_models/gru4rec.keras" / killed).is_dir()
    run(project, "evaluation")
    assert catalog_of(project).load("metrics")["dataset"] == metrics["dataset"]
    assert incomplete_versions(project) == set()
    assert not (project / "data/06_models/gru4rec.keras" / killed).exists()


def incomplete_versions(project: Path) -> set[str]:
    """Versions saved under data/ by runs without a manifest."""
    data = project / "data"
    saved = {
        path.parent.name
        for path in data.rglob("*")
        if path.parent.parent.name == path.name and "checkpoints" not in path.parts
    }
    manifests = {p.name for p in (data / "08_reporting/run_manifest.json").iterdir()}
    return saved - manifests


@pytest.mark.slow
def test_a_model_is_not_used_with_an_item_index_it_was_not_trained_with(completed: Path):
    project = completed
    # Same parameters: a bit-identical item index, so the model still fits it.
    run(project, "sessions")
    check_model_lineage(catalog_of(project))
    run(project, "evaluation")

    fewer_items = {**TINY, "sessions": {"min_item_support": 15}}  # 39 items instead of 40
    run(project, "sessions", fewer_items)
    with pytest.raises(LineageError, match=r"kedro run --pipelines training`"):
        check_model_lineage(catalog_of(project))
    with pytest.raises(LineageError, match=r"kedro run --pipelines sasrec`"):
        check_model_lineage(catalog_of(project), "sasrec_model")
    with pytest.raises(LineageError, match="trained with item_index"):
        run(project, "evaluation")

    # Train on the smaller index, then split again with the defaults: the latest item index
    # is now the larger one, but the model's run recorded the index it was trained with.
    run(project, "training", fewer_items)
    trained_with = catalog_of(project).load("item_index")
    run(project, "sessions")
    assert len(catalog_of(project).load("item_index")) > len(trained_with)
    # The champion (evaluated earlier) answers by default; ask for the model just trained.
    latest_model = sorted(p.name for p in (project / "data/06_models/gru4rec.keras").iterdir())[-1]
    recommender = Recommender.load(project, model_version=latest_model)
    assert recommender.item_of_idx.tolist() == trained_with.sort_values("item_idx")["item"].tolist()
    assert recommender.recommend([3, 4], n=3).items


def hold_marker(folder: Path, version: str) -> subprocess.Popen:
    """A process that marks the run ``version`` as running (as a `kedro run` does) and
    lives until it is killed."""
    code = (
        "import sys, time\n"
        "from movielens_sbr.run_versions import RunMarker\n"
        "marker = RunMarker(sys.argv[1], sys.argv[2])\n"
        "print('marked', flush=True)\n"
        "time.sleep(600)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(folder), version], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "marked"
    return process


def test_killed_runs_are_cleaned_up_and_running_ones_left_alone(tmp_path: Path):
    """The next run deletes what a SIGKILLed run saved; a run still going (another
    process), complete runs and unmarked versions (runs of an older project) are kept."""
    from kedro.io import DataCatalog

    from movielens_sbr.run_commit import markers_folder, remove_killed_runs

    data = tmp_path / "data"

    def entry(path: str) -> dict:
        return {"type": "json.JSONDataset", "filepath": str(data / path), "versioned": True}

    config = {
        "metrics": entry("08_reporting/metrics.json"),
        "item_index": entry("05_model_input/item_index.json"),
        "run_manifest": entry("08_reporting/run_manifest.json"),
        "experiments.{variant}.metrics": entry("08_reporting/experiments/{variant}/metrics.json"),
    }
    old, complete, killed, running, own = (f"2026-12-03T04.00.0{i}.000Z" for i in range(5))

    def save(version: str, *names: str) -> None:
        catalog = DataCatalog.from_config(config, save_version=version)
        for name in names:
            catalog.save(name, {"version": version})

    save(old, "metrics")  # no marker, no manifest: left as it is
    save(complete, "metrics", "item_index", "run_manifest")
    folder = markers_folder(DataCatalog.from_config(config))
    assert folder == data / "08_reporting" / "runs_in_progress"
    killed_process = hold_marker(folder, killed)
    save(killed, "metrics", "experiments.bpr.metrics")
    killed_process.send_signal(signal.SIGKILL)
    killed_process.wait()
    running_process = hold_marker(folder, running)
    try:
        save(running, "metrics", "item_index")
        catalog = DataCatalog.from_config(config, save_version=own)
        assert remove_killed_runs(catalog, own=own) == [killed]

        def versions(path: str) -> list[str]:
            return sorted(p.name for p in (data / path).iterdir())

        assert versions("08_reporting/metrics.json") == [old, complete, running]
        assert versions("05_model_input/item_index.json") == [complete, running]
        assert not (data / "08_reporting/experiments/bpr/metrics.json").exists()
        assert sorted(p.name for p in folder.iterdir()) == [running]
        assert remove_killed_runs(catalog, own=own) == []  # nothing left to do
    finally:
        running_process.send_signal(signal.SIGKILL)
        running_process.wait()
    # Once its process is gone, that run was killed too.
    assert remove_killed_runs(catalog, own=own) == [running]
    assert versions("08_reporting/metrics.json") == [old, complete]
    assert list(folder.iterdir()) == []


def test_the_retrain_command_names_the_pipeline_of_the_model():
    assert retrain_command("gru4rec_model") == "`kedro run --pipelines training`"
    assert retrain_command("sasrec_model") == "`kedro run --pipelines sasrec`"
    assert retrain_command("experiments.loss_bpr_max.gru4rec_model") == (
        "`kedro run --pipelines experiments --namespaces experiments.loss_bpr_max`"
    )
    with pytest.raises(ValueError, match="not the model dataset of a trained method"):
        retrain_command("movies")
