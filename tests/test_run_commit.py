"""A run commits as a whole: failed or killed runs leave what readers see as it was."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.io.core import AbstractVersionedDataset

from conftest import make_movies_lines, make_project_copy, make_ratings_lines, write_archive
from movielens_sbr.recommend import Recommender
from movielens_sbr.run_commit import LineageError, check_model_lineage

TINY = {
    "training": {"epochs": 1, "layers": [8], "embedding_dim": 8, "batch_size": 8},
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


def test_every_file_a_pipeline_writes_is_versioned(project: Path):
    """Unversioned files would be replaced by a run that fails later: none may exist."""
    catalog = catalog_of(project)
    for name in sorted(pipelines["__default__"].all_outputs()):
        dataset = catalog.get(name, fallback_to_runtime_pattern=True)
        if type(dataset).__name__ != "MemoryDataset":
            assert isinstance(dataset, AbstractVersionedDataset), name


@pytest.mark.slow
def test_a_failure_between_nodes_leaves_the_data_folder_as_it_was(project: Path):
    run(project)
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


@pytest.mark.slow
def test_sigkill_after_each_node_leaves_the_previous_complete_run(tmp_path: Path, monkeypatch):
    archive = write_archive(tmp_path / "input" / "ml-1m.zip")
    project = make_project_copy(tmp_path / "project", archive, monkeypatch)
    run(project)
    complete = loaded_versions(project)
    assert len(set(complete.values())) == 1  # one run, one version
    metrics = catalog_of(project).load("metrics")
    recommender = Recommender.load(project)
    expected = recommender.recommend([3, 4], n=5).items

    # The killed runs read another archive, so whatever they saved differs from the above.
    other = write_archive(
        tmp_path / "other" / "ml-1m.zip", make_ratings_lines(n_users=70, seed=5), None
    )
    script = Path(__file__).with_name("kill_at_node_boundaries.py")
    done = subprocess.run(
        [sys.executable, str(script), str(project), json.dumps(TINY)],
        capture_output=True,
        text=True,
        env={**os.environ, "MOVIELENS_ARCHIVE": str(other)},
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["killed_after"] == [node.name for node in pipelines["__default__"].nodes]
    for node, versions in zip(report["killed_after"], report["versions"], strict=True):
        assert versions == complete, f"killed after {node}"

    # Every reader still sees the complete run: catalog, Recommender, the next run.
    catalog = catalog_of(project)
    for name in complete:
        assert catalog.load(name) is not None, name
    assert catalog.load("metrics") == metrics
    reloaded = Recommender.load(project)
    assert reloaded.model_version == recommender.model_version
    assert reloaded.recommend([3, 4], n=5).items == expected

    run(project, "evaluation")  # the next run, on the complete run's splits and model
    assert catalog_of(project).load("metrics")["dataset"] == metrics["dataset"]


@pytest.mark.slow
def test_a_model_is_not_used_with_an_item_index_it_was_not_trained_with(project: Path):
    run(project)
    # Same parameters: a bit-identical item index, so the model still fits it.
    run(project, "sessions")
    check_model_lineage(catalog_of(project))
    run(project, "evaluation")

    run(project, "sessions", {**TINY, "sessions": {"min_item_support": 3}})
    with pytest.raises(LineageError, match="kedro run --pipelines training"):
        check_model_lineage(catalog_of(project))
    with pytest.raises(LineageError, match="trained with item_index"):
        run(project, "evaluation")
    # The CLI's loader takes the item index the model was trained with.
    recommender = Recommender.load(project)
    assert recommender.recommend([3, 4], n=3).items
