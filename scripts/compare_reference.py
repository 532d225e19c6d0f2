"""The project's trained models beside a reference implementation, on the same split.

Usage (after ``kedro run``, from the project folder):
    python scripts/compare_reference.py export DIR
    python scripts/compare_reference.py [--env ENV] compare NAME=PREDICTIONS.npz [NAME=...]

``export`` writes the latest run's splits (``train``, ``valid``, ``test``: ``session_id``,
``item_idx``) and ``item_index`` as parquet files to DIR: the input of an external
implementation (``scripts/reference_sasrec.py`` runs one).

``compare`` scores every trained model of the latest run on its test split with the
evaluation's parameters (conf/base/parameters_evaluation.yml), adds each reference's
predictions on the same split, scored by ``movielens_sbr.evaluation.evaluator.evaluate``
and saved with ``Predictions.save``, and prints the
metrics with bootstrap intervals and every trained model minus every reference (paired,
the same resamples). The JSON lands in data/08_reporting/benchmarks/reference_<UTC>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

import numpy as np

from movielens_sbr import methods
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.evaluator import Predictions
from movielens_sbr.evaluation.protocol import MethodRun, run_methods, summarise
from movielens_sbr.kedro_project import project_catalog
from movielens_sbr.provenance import git_commit

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("train", "valid", "test")


def export_splits(catalog, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        frame = catalog.load(f"{split}_sessions")
        frame[["session_id", "item_idx"]].to_parquet(out / f"{split}.parquet")
    catalog.load("item_index").to_parquet(out / "item_index.parquet")
    print(f"splits written to {out}")


def compare(catalog, params: dict, references: list[str], env: str | None) -> dict:
    evaluation = params["evaluation"]
    test = SessionArrays.from_frame(catalog.load("test_sessions"))
    train = SessionArrays.from_frame(catalog.load("train_sessions"))
    n_items = len(catalog.load("item_index"))
    scorers = [m.from_model(catalog.load(m.model_dataset)) for m in methods.trained()]
    runs = run_methods(
        scorers,
        test,
        n_items,
        batch_size=evaluation["batch_size"],
        exclude_seen=evaluation["exclude_seen"],
    )
    for reference in references:
        name, path = reference.split("=", 1)
        predictions = Predictions.load(path)
        if len(predictions.greater) != len(runs[0].predictions.greater):
            raise SystemExit(
                f"{path} holds {len(predictions.greater):,} predictions; the test split "
                f"of this run has {len(runs[0].predictions.greater):,}: export the splits "
                "of this run and score the reference on them"
            )
        runs.append(MethodRun(name, predictions, 0.0))
    metrics, comparisons = summarise(
        runs,
        ks=[20],
        ties=evaluation["ties"],
        item_counts=np.bincount(train.items, minlength=n_items),
        n_bootstrap=evaluation["n_bootstrap"],
        seed=params["seed"],
        confidence=evaluation["confidence"],
    )
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python scripts/compare_reference.py", *sys.argv[1:]]),
        "git_commit": git_commit(ROOT),
        "env": env or "base",
        "exclude_seen": evaluation["exclude_seen"],
        "test_predictions": len(runs[0].predictions.greater),
        "references": dict(r.split("=", 1) for r in references),
        "metrics": metrics,
        "comparisons": comparisons,
        "scoring_s": {run.name: run.seconds for run in runs if run.seconds},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--project", type=Path, default=ROOT, help="the Kedro project")
    parser.add_argument("--env", default=None, help="Kedro environment (default: base)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("export").add_argument("out", type=Path)
    commands.add_parser("compare").add_argument("references", nargs="+", metavar="NAME=NPZ")
    args = parser.parse_args()
    project = args.project.resolve()
    os.chdir(project)
    catalog, params = project_catalog(project, args.env)
    if args.command == "export":
        export_splits(catalog, args.out)
        return
    result = compare(catalog, params, args.references, args.env)
    out_dir = project / "data" / "08_reporting" / "benchmarks"
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / f"reference_{result['date'].replace(':', '')}.json"
    out_path.write_text(json.dumps(result, indent=2))
    for name, values in result["metrics"].items():
        print(
            f"{name:>20}  Recall@20 {values['recall@20']:.4f} "
            f"[{values['recall@20_ci_low']:.4f}, {values['recall@20_ci_high']:.4f}]  "
            f"MRR@20 {values['mrr@20']:.4f}"
        )
    for key, c in result["comparisons"].items():
        print(
            f"{key:>32}  Recall@20 {c['recall@20']:+.4f} "
            f"[{c['recall@20_ci_low']:+.4f}, {c['recall@20_ci_high']:+.4f}]  "
            f"MRR@20 {c['mrr@20']:+.4f} [{c['mrr@20_ci_low']:+.4f}, {c['mrr@20_ci_high']:+.4f}]"
        )
    print(f"written {out_path.relative_to(project)}")


if __name__ == "__main__":
    main()
