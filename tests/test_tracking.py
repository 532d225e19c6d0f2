"""Run tracking: every run leaves a record, and the records compare side by side."""

from __future__ import annotations

import json
from pathlib import Path

from movielens_sbr import tracking


def record(run_id: str, epochs: int, recall: float) -> dict:
    return tracking.run_record(
        run_id=run_id,
        started="2026-11-23T10:00:00+00:00",
        finished="2026-11-23T10:01:00+00:00",
        pipelines=["training", "evaluation"],
        parameters={"seed": 42, "training": {"epochs": epochs, "layers": [16]}},
        metrics={"metrics": {"gru4rec": {"recall@20": recall, "mrr@20": 0.05}, "dataset": {}}},
        models={"gru4rec_model": f"data/06_models/gru4rec.keras/{run_id}/gru4rec.keras"},
        git={"commit": "0123456789abcdef", "dirty": True},
    )


def test_flatten_joins_nested_keys():
    assert tracking.flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": {}}) == {
        "a.b": 1,
        "a.c.d": [1, 2],
        "e": {},
    }


def test_runs_table_shows_only_the_parameters_that_differ():
    table = tracking.runs_table([record("r1", 2, 0.2), record("r2", 8, 0.25)])
    assert table["run"].tolist() == ["r1", "r2"]
    assert table["training.epochs"].tolist() == [2, 8]
    assert "seed" not in table and "training.layers" not in table
    assert table["commit"].tolist() == ["01234567+", "01234567+"]
    markdown = tracking.runs_markdown([record("r1", 2, 0.2), record("r2", 8, 0.25)])
    assert markdown.index("| r2 |") < markdown.index("| r1 |")  # newest first
    assert "0.2500" in markdown


def test_every_run_is_recorded(finished_project: Path):
    runs = sorted((finished_project / "data/09_tracking/runs").glob("*.json"))
    assert runs
    first = json.loads(runs[0].read_text())
    assert first["pipelines"] == ["__default__"]
    assert first["parameters"]["training"]["epochs"] == 1  # the runtime override
    assert set(first["metrics"]["metrics"]) >= {"gru4rec", "pop", "dataset"}
    assert Path(first["models"]["gru4rec_model"]).is_file()
    assert first["started"] <= first["finished"]
    assert "| gru4rec |" in (finished_project / "data/09_tracking/runs.md").read_text()
