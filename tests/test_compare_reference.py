"""scripts/compare_reference.py: export the splits, compare saved predictions."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from movielens_sbr import methods
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.evaluator import Predictions, evaluate
from movielens_sbr.kedro_project import project_catalog

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_reference.py"


def run_script(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--project", str(project), *args],
        capture_output=True,
        text=True,
        cwd=project,
        check=False,
    )


def test_export_writes_the_runs_splits(finished_project: Path, tmp_path: Path):
    done = run_script(finished_project, "export", str(tmp_path / "splits"))
    assert done.returncode == 0, done.stderr
    catalog, _ = project_catalog(finished_project, None)
    for split in ("train", "valid", "test"):
        exported = pd.read_parquet(tmp_path / "splits" / f"{split}.parquet")
        expected = catalog.load(f"{split}_sessions")[["session_id", "item_idx"]]
        pd.testing.assert_frame_equal(exported, expected)
    item_index = pd.read_parquet(tmp_path / "splits" / "item_index.parquet")
    assert len(item_index) == len(catalog.load("item_index"))


def test_a_reference_equal_to_gru4rec_differs_from_it_by_zero(finished_project, tmp_path):
    catalog, params = project_catalog(finished_project, None)
    model = catalog.load("gru4rec_model")
    predictions = evaluate(
        methods.get("gru4rec").from_model(model),
        SessionArrays.from_frame(catalog.load("test_sessions")),
        len(catalog.load("item_index")),
        exclude_seen=params["evaluation"]["exclude_seen"],
    )
    path = tmp_path / "same.npz"
    predictions.save(path)
    done = run_script(finished_project, "compare", f"copy={path}")
    assert done.returncode == 0, done.stderr
    written = finished_project / done.stdout.strip().splitlines()[-1].removeprefix("written ")
    result = json.loads(written.read_text())
    assert result["test_predictions"] == len(predictions.greater)
    assert result["metrics"]["copy"]["recall@20"] == result["metrics"]["gru4rec"]["recall@20"]
    same = result["comparisons"]["gru4rec_vs_copy"]
    assert same["recall@20"] == same["recall@20_ci_low"] == same["recall@20_ci_high"] == 0
    assert set(result["comparisons"]) == {"gru4rec_vs_copy", "sasrec_vs_copy", "gru4rec_vs_sasrec"}


def test_predictions_of_another_split_are_refused(finished_project: Path, tmp_path: Path):
    path = tmp_path / "short.npz"
    Predictions(*(np.zeros(1, dtype=np.int64),) * 4).save(path)
    done = run_script(finished_project, "compare", f"other={path}")
    assert done.returncode != 0
    assert "1 predictions" in done.stderr and "export the splits" in done.stderr
