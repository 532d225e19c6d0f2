"""SASRec beside GRU4Rec on the shared real data: accuracy with intervals, and speed.

Usage:
    python scripts/benchmark_sasrec.py [--archive PATH] [--set SECTION.KEY=VALUE ...]
        [--methods sasrec,gru4rec] [--export-splits DIR] [--reference NAME=PREDICTIONS.npz ...]

Builds the splits with the parameters in conf/base (and ``--set`` overrides), trains SASRec
(conf/base/parameters_sasrec.yml) and GRU4Rec (parameters_training.yml) on the train split
with validation-based epoch selection, and scores both on the validation and test splits
with the pipeline's evaluator: Recall@20 and MRR@20 with session-bootstrap intervals, and
the paired difference SASRec minus each other method. Training events/s (after the first
epoch), time to the kept epoch and the test scoring time go beside them. The JSON lands
in data/08_reporting/benchmarks/.

``--export-splits DIR`` writes the three splits (session_id, item_idx) as parquet files
and stops: input for an external implementation, whose test predictions, scored by
``movielens_sbr.evaluation.evaluator.evaluate`` and saved with ``np.savez(path,
session=..., position=..., greater=..., equal=...)``, join the comparison with
``--reference NAME=path``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark import DEFAULT_ARCHIVE, throughput  # noqa: E402
from movielens_sbr.data.dat_format import parse_ratings  # noqa: E402
from movielens_sbr.data.movielens import read_archive  # noqa: E402
from movielens_sbr.data.session_arrays import SessionArrays  # noqa: E402
from movielens_sbr.evaluation.evaluator import Predictions, evaluate  # noqa: E402
from movielens_sbr.evaluation.protocol import MethodRun, summarise  # noqa: E402
from movielens_sbr.model import gru4rec, sasrec  # noqa: E402
from movielens_sbr.model.training_setup import model_config  # noqa: E402
from movielens_sbr.params import load_parameters, validate_section  # noqa: E402
from movielens_sbr.pipelines.sessions.nodes import build_session_events, split_sessions  # noqa: E402
from movielens_sbr.provenance import git_commit  # noqa: E402

KS = [20]


def sasrec_parameters(overrides: list[str]) -> dict:
    """conf/base/parameters_sasrec.yml with ``sasrec.KEY=VALUE`` overrides (YAML values)."""
    section = yaml.safe_load((ROOT / "conf" / "base" / "parameters_sasrec.yml").read_text())
    values = dict(section["sasrec"])
    for override in overrides:
        key, value = override.removeprefix("sasrec.").split("=", 1)
        if key not in values:
            raise SystemExit(f"--set sasrec.{key}: no such key in parameters_sasrec.yml")
        values[key] = yaml.safe_load(value)
    return values


def sasrec_config(values: dict, seed: int) -> sasrec.SASRecConfig:
    options = {k: v for k, v in values.items() if k not in ("eval_batch_size", "resume")}
    return sasrec.SASRecConfig(**options, seed=seed)


def run_predictions(scorer, sessions: SessionArrays, n_items: int, params: dict):
    started = time.perf_counter()
    predictions = evaluate(
        scorer,
        sessions,
        n_items,
        batch_size=params["evaluation"]["batch_size"],
        exclude_seen=params["evaluation"]["exclude_seen"],
    )
    return predictions, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument(
        "--methods", default="sasrec,gru4rec", help="which models to train (comma-separated)"
    )
    parser.add_argument("--export-splits", type=Path, default=None, metavar="DIR")
    parser.add_argument("--reference", action="append", default=[], metavar="NAME=NPZ")
    parser.add_argument("--save-predictions", type=Path, default=None, metavar="DIR")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    sasrec_overrides = [s for s in args.set if s.startswith("sasrec.")]
    params = load_parameters(overrides=[s for s in args.set if not s.startswith("sasrec.")])
    seed = params["seed"]
    raw = read_archive(args.archive)
    events, log = build_session_events(parse_ratings(raw.ratings), params["sessions"], seed)
    train_df, valid_df, test_df, item_index, stats = split_sessions(events, log, params["sessions"])
    n_items = len(item_index)
    if args.export_splits is not None:
        args.export_splits.mkdir(parents=True, exist_ok=True)
        for name, frame in (("train", train_df), ("valid", valid_df), ("test", test_df)):
            frame[["session_id", "item_idx"]].to_parquet(args.export_splits / f"{name}.parquet")
        (args.export_splits / "n_items.json").write_text(json.dumps({"n_items": n_items}))
        print(f"splits written to {args.export_splits} ({n_items} items)")
        return
    splits = {
        name: SessionArrays.from_frame(frame)
        for name, frame in (("train", train_df), ("valid", valid_df), ("test", test_df))
    }
    sasrec_values = sasrec_parameters(sasrec_overrides)
    result: dict = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python " + " ".join(["scripts/benchmark_sasrec.py", *sys.argv[1:]]),
        "git_commit": git_commit(),
        "load_average": os.getloadavg(),
        "dataset": {
            "n_items": n_items,
            **{f"{name}_events": stats[name]["events"] for name in ("train", "valid", "test")},
        },
        "sasrec_parameters": sasrec_values,
    }

    def validate_with(make_scorer):
        def validate(model) -> dict[str, float]:
            return evaluate(make_scorer(model), splits["valid"], n_items).metrics(KS)

        return validate

    methods = args.methods.split(",")
    trained = {}
    if "sasrec" in methods:
        started = time.perf_counter()
        sasrec_result = sasrec.train(
            splits["train"],
            n_items,
            sasrec_config(sasrec_values, seed),
            validate_with(sasrec.SASRecScorer),
        )
        trained["sasrec"] = (sasrec_result, sasrec.SASRecScorer(sasrec_result.model))
        result["sasrec_wall_s"] = time.perf_counter() - started
    if "gru4rec" in methods:
        config = model_config(validate_section("training", params["training"]), seed)
        started = time.perf_counter()
        gru_result = gru4rec.train(
            splits["train"], n_items, config, validate_with(gru4rec.GRU4RecScorer)
        )
        trained["gru4rec"] = (gru_result, gru4rec.GRU4RecScorer(gru_result.model))
        result["gru4rec_wall_s"] = time.perf_counter() - started

    runs: dict[str, dict[str, MethodRun]] = {"valid": {}, "test": {}}
    for name, (training, scorer) in trained.items():
        entry = {
            **throughput(training.history),
            "best_epoch": training.best_epoch,
            "epochs_run": len(training.history),
            "time_to_best_s": sum(
                h["train_seconds"] for h in training.history[: training.best_epoch]
            ),
            "train_s": sum(h["train_seconds"] for h in training.history),
            "history": training.history,
        }
        for split in ("valid", "test"):
            predictions, seconds = run_predictions(scorer, splits[split], n_items, params)
            runs[split][name] = MethodRun(name, predictions, seconds)
            entry[f"{split}_eval_s"] = seconds
        result[name] = entry
    for reference in args.reference:
        name, path = reference.split("=", 1)
        with np.load(path) as data:
            predictions = Predictions(
                data["session"], data["position"], data["greater"], data["equal"]
            )
        runs["test"][name] = MethodRun(name, predictions, 0.0)
        result[name] = {"predictions": path}
    if args.save_predictions is not None:
        args.save_predictions.mkdir(parents=True, exist_ok=True)
        for split, split_runs in runs.items():
            for name, run in split_runs.items():
                p = run.predictions
                np.savez(
                    args.save_predictions / f"{name}_{split}.npz",
                    session=p.session,
                    position=p.position,
                    greater=p.greater,
                    equal=p.equal,
                )
    evaluation = params["evaluation"]
    item_counts = np.bincount(splits["train"].items, minlength=n_items)
    for split, split_runs in runs.items():
        metrics, _ = summarise(
            list(split_runs.values()),
            ks=KS,
            ties=evaluation["ties"],
            item_counts=item_counts,
            n_bootstrap=evaluation["n_bootstrap"],
            seed=seed,
            confidence=evaluation["confidence"],
        )
        comparisons = {}
        for other in split_runs:
            if other == "sasrec" or "sasrec" not in split_runs:
                continue
            _, comparison = summarise(
                [split_runs["sasrec"], split_runs[other]],
                ks=KS,
                ties=evaluation["ties"],
                item_counts=item_counts,
                n_bootstrap=evaluation["n_bootstrap"],
                seed=seed,
                confidence=evaluation["confidence"],
                reference="sasrec",
            )
            comparisons[f"sasrec_minus_{other}"] = comparison
        result[f"{split}_metrics"] = metrics
        result[f"{split}_comparisons"] = comparisons
    out_dir = ROOT / "data" / "08_reporting" / "benchmarks"
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / f"sasrec_{result['date'].replace(':', '')}.json"
    out_path.write_text(json.dumps(result, indent=2, default=float))
    summary = {
        key: value
        for key, value in result.items()
        if key.endswith(("_metrics", "_comparisons", "_wall_s")) or key == "load_average"
    }
    for name in trained:
        summary[name] = {k: v for k, v in result[name].items() if k != "history"}
    print(json.dumps(summary, indent=2, default=float))
    print(f"written {out_path}")


if __name__ == "__main__":
    main()
