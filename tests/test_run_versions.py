"""Which versions belong to complete runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from movielens_sbr.run_versions import (
    IncompleteRunError,
    complete_versions,
    latest_complete_version,
    lineage_version,
    read_manifest,
)

OLD, NEW, KILLED = (
    "2026-01-01T00.00.00.000Z",
    "2026-01-02T00.00.00.000Z",
    "2026-01-03T00.00.00.000Z",
)


def save(folder: Path, version: str, text: str = "x") -> None:
    (folder / version).mkdir(parents=True)
    (folder / version / folder.name).write_text(text)


@pytest.fixture
def data(tmp_path: Path) -> dict[str, Path]:
    model = tmp_path / "gru4rec.keras"
    manifests = tmp_path / "run_manifest.json"
    for version in (OLD, NEW, KILLED):
        save(model, version)
    save(manifests, OLD, json.dumps({"outputs": {"gru4rec_model": OLD, "item_index": OLD}}))
    save(
        manifests,
        NEW,
        json.dumps({"outputs": {"gru4rec_model": NEW}, "inputs": {"item_index": OLD}}),
    )
    (model / "2026-01-04T00.00.00.000Z").mkdir()  # a version folder whose save never finished
    return {"model": model, "manifests": manifests}


def test_the_latest_complete_version_skips_killed_and_unfinished_runs(data):
    assert complete_versions(data["manifests"]) == {OLD, NEW}
    assert latest_complete_version(data["model"], data["manifests"]) == NEW
    assert latest_complete_version(data["model"], None) == KILLED  # plain Kedro's rule


def test_an_explicit_version_must_be_a_saved_version_of_a_complete_run(data):
    assert latest_complete_version(data["model"], data["manifests"], OLD) == OLD
    with pytest.raises(IncompleteRunError, match="saved by a run that did not finish"):
        latest_complete_version(data["model"], data["manifests"], KILLED)
    # Names only: a path never reaches the filesystem.
    for bad in ("../../../../evil", "..", "/etc", "nonsense"):
        with pytest.raises(IncompleteRunError, match="is not saved; complete versions"):
            latest_complete_version(data["model"], data["manifests"], bad)


def test_nothing_complete_says_what_to_run(tmp_path: Path):
    save(tmp_path / "gru4rec.keras", KILLED)
    with pytest.raises(IncompleteRunError, match=r"1 version\(s\) of runs that did not finish"):
        latest_complete_version(tmp_path / "gru4rec.keras", tmp_path / "run_manifest.json")


def test_lineage_names_what_a_run_saved_or_loaded(data):
    assert lineage_version(read_manifest(data["manifests"], OLD), "item_index") == OLD
    assert lineage_version(read_manifest(data["manifests"], NEW), "item_index") == OLD
    assert lineage_version(read_manifest(data["manifests"], NEW), "movies") is None
    assert read_manifest(data["manifests"], KILLED) is None
