"""scripts/benchmark_scale.py on a small synthetic log: every step runs, the table says so."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "benchmark_scale.py"
_spec = importlib.util.spec_from_file_location("benchmark_scale", SCRIPT)
benchmark_scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(benchmark_scale)


def test_the_ml32m_environment_sets_what_the_benchmark_trains():
    overrides = dict(o.split("=", 1) for o in benchmark_scale.env_overrides())
    assert overrides["training.loss"] == '"sampled_cross_entropy"'
    assert overrides["training.sparse_updates"] == "true"
    assert overrides["sasrec.loss"] == '"sampled_cross_entropy"'


def test_every_step_runs_at_a_small_size_and_fills_the_table(tmp_path):
    results = tmp_path / "scale.json"
    command = [sys.executable, str(SCRIPT), "--sizes", "60K", "--train-steps", "128"]
    command += ["--eval-predictions", "500", "--no-table", "--results", str(results)]
    command += ["--work-root", str(tmp_path / "work")]
    subprocess.run(command, check=True, cwd=ROOT, timeout=600)
    entry = json.loads(results.read_text())["0.06M"]
    assert entry["ingest"]["ratings"] == 60_000
    n_items = entry["sessions"]["n_items"]
    for step in ("train", "train_sasrec"):
        trained = entry[step]
        assert trained["n_items"] == n_items and trained["events_per_second"] > 0
        assert trained["epoch_seconds_extrapolated"] > trained["seconds_per_step"]
    assert entry["train"]["config"]["sparse_updates"] is True
    assert entry["train_sasrec"]["config"]["loss"] == "sampled_cross_entropy"
    evaluation = entry["evaluate"]
    assert evaluation["sampled_predictions"] <= evaluation["test_predictions"]
    for model in ("gru4rec", "sasrec"):
        assert 0.0 <= evaluation["parts"][model]["recall@20"] <= 1.0
    table = benchmark_scale.table_block(json.loads(results.read_text()))
    for row in (
        "| ingestion (zip -> frames) |",
        "| training: 1 epoch (extrapolated) |",
        "| SASRec training: 1 epoch (extrapolated) |",
        "| evaluation: GRU4Rec vs all items (extrapolated) |",
        "| evaluation: SASRec vs all items (extrapolated) |",
        "| evaluation: markov, fit + all items (extrapolated) |",
    ):
        assert row in table
