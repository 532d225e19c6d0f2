"""GRU4Rec settings under both ranking protocols: seen items excluded, and kept.

Usage:
    python scripts/gru4rec_protocols.py [--archive PATH] [--seeds 42 43] [--epochs N]
        [--variant NAME ...] [--set SECTION.KEY=VALUE ...]

Builds the splits of `kedro run` once (conf/base parameters, the global seed), then, for
every training seed, trains GRU4Rec with the default `training` parameters and with the
`training` of each named experiments variant (`experiments.<NAME>.training` in
conf/base/parameters_experiments.yml, resolved by Kedro's config loader; default
`gru4rec_original`, the original implementation's recipe). Each model keeps its best
validation epoch as in `kedro run` (validation always excludes seen items), and the same
model is scored on the validation and test splits twice: `evaluation.exclude_seen` true
and false. Per protocol and seed: validation Recall@20 and MRR@20, test Recall@20 and
MRR@20 with 95 % bootstrap intervals over test sessions, and the paired difference
variant - defaults from the same resamples. The training seed changes only the model
(weights, dropout, lane order), not the splits.

Writes data/08_reporting/benchmarks/gru4rec_protocols_<UTC time>.json after every seed
and prints a Markdown table. Epoch times are only comparable within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from movielens_sbr.data.dat_format import parse_ratings  # noqa: E402
from movielens_sbr.data.movielens import read_archive  # noqa: E402
from movielens_sbr.evaluation import protocol  # noqa: E402
from movielens_sbr.evaluation.baselines import item_counts  # noqa: E402
from movielens_sbr.evaluation.evaluator import evaluate  # noqa: E402
from movielens_sbr.model.batching import SessionArrays  # noqa: E402
from movielens_sbr.model.gru4rec import GRU4RecScorer, train  # noqa: E402
from movielens_sbr.params import validate_parameters, validate_section  # noqa: E402
from movielens_sbr.pipelines.sessions.nodes import build_session_events, split_sessions  # noqa: E402
from movielens_sbr.pipelines.training.nodes import model_config  # noqa: E402

DEFAULT_ARCHIVE = ROOT.parent / "shared" / "data" / "ml-1m-users-1-2999.zip"
METRICS = ("recall@20", "mrr@20")


def load_parameters(overrides: list[str]) -> dict:
    """conf/base parameters as `kedro run` sees them (interpolations resolved), with
    ``SECTION.KEY=VALUE`` overrides (YAML values) applied to the section and every variant."""
    import yaml
    from kedro.config import OmegaConfigLoader

    from movielens_sbr.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(
        conf_source=str(ROOT / "conf"), **{**CONFIG_LOADER_ARGS, "default_run_env": "base"}
    )
    params = loader["parameters"]
    for override in overrides:
        key, value = override.split("=", 1)
        section, name = key.split(".", 1)
        params[section][name] = yaml.safe_load(value)
        for variant in params["experiments"].values():
            if isinstance(variant, dict) and section in variant:
                variant[section][name] = yaml.safe_load(value)
    validate_parameters(params)
    return params


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def changed_keys(base: dict, variant: dict) -> dict:
    return {key: value for key, value in variant.items() if base.get(key) != value}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="training seeds")
    parser.add_argument("--epochs", type=int, default=None, help="default: parameters_training.yml")
    parser.add_argument(
        "--variant",
        action="append",
        default=None,
        help="experiments variant compared with the defaults (repeatable)",
    )
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    params = load_parameters(args.set)
    if args.epochs:
        params["training"]["epochs"] = args.epochs
    variants = args.variant or ["gru4rec_original"]
    settings = {"defaults": params["training"]}
    for name in variants:
        if name not in params["experiments"]:
            sys.exit(f"no experiments variant {name!r} in conf/base/parameters_experiments.yml")
        settings[name] = {**params["experiments"][name]["training"]}
        if args.epochs:
            settings[name]["epochs"] = args.epochs
    configs = {name: validate_section("training", s) for name, s in settings.items()}
    evaluation = validate_section("evaluation", params["evaluation"])
    seed = params["seed"]
    seeds = args.seeds or [seed]

    date = dt.datetime.now(dt.UTC)
    result: dict = {
        "date": date.isoformat(timespec="seconds"),
        "command": "python " + " ".join(["scripts/gru4rec_protocols.py", *sys.argv[1:]]),
        "git_commit": git_commit(),
        "cores": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "split_seed": seed,
        "settings": {
            name: changed_keys(settings["defaults"], s) if name != "defaults" else s
            for name, s in settings.items()
        },
        "runs": [],
    }
    out_dir = ROOT / "data" / "08_reporting" / "benchmarks"
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / f"gru4rec_protocols_{result['date'].replace(':', '')}.json"

    ratings = parse_ratings(read_archive(args.archive).ratings)
    events, log = build_session_events(ratings, params["sessions"], seed)
    train_df, valid_df, test_df, item_index, _stats = split_sessions(
        events, log, params["sessions"]
    )
    n_items = len(item_index)
    train_s, valid_s, test_s = (SessionArrays.from_frame(f) for f in (train_df, valid_df, test_df))
    counts = item_counts(train_s, n_items)
    k = int(configs["defaults"].selection_metric.split("@")[1])

    def validate(model) -> dict[str, float]:
        return evaluate(GRU4RecScorer(model), valid_s, n_items).metrics([k])

    for training_seed in seeds:
        models = {}
        run: dict = {"training_seed": training_seed, "training": {}, "protocols": {}}
        for name, config in configs.items():
            started = time.perf_counter()
            trained = train(train_s, n_items, model_config(config, training_seed), validate)
            warm = trained.history[1:] or trained.history
            run["training"][name] = {
                "best_epoch": trained.best_epoch,
                "epochs": len(trained.history),
                "seconds": time.perf_counter() - started,
                "epoch_s": sum(h["train_seconds"] for h in warm) / len(warm),
                "validation": [h.get(f"valid_{config.selection_metric}") for h in trained.history],
            }
            # The kept epoch on the validation split under both protocols: a choice of
            # setting per protocol that does not read the test split.
            run["training"][name]["validation_kept_epoch"] = {
                f"exclude_seen={str(exclude).lower()}": evaluate(
                    GRU4RecScorer(trained.model), valid_s, n_items, exclude_seen=exclude
                ).metrics([20])
                for exclude in (True, False)
            }
            models[name] = trained.model
        for exclude_seen in (True, False):
            runs = protocol.run_methods(
                [GRU4RecScorer(models[name]) for name in configs],
                test_s,
                n_items,
                batch_size=evaluation.batch_size,
                exclude_seen=exclude_seen,
            )
            runs = [
                protocol.MethodRun(name, r.predictions, r.seconds)
                for name, r in zip(configs, runs, strict=True)
            ]
            entry: dict = {}
            for variant in variants:
                pair = [r for r in runs if r.name in ("defaults", variant)]
                metrics, comparison = protocol.summarise(
                    pair,
                    ks=[20],
                    ties=evaluation.ties,
                    item_counts=counts,
                    n_bootstrap=evaluation.n_bootstrap,
                    seed=seed,
                    confidence=evaluation.confidence,
                    reference=variant,
                )
                entry.setdefault("metrics", {}).update(metrics)
                entry.setdefault("difference", {})[variant] = comparison
            run["protocols"][f"exclude_seen={str(exclude_seen).lower()}"] = entry
        result["runs"].append(run)
        tmp = out_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=2))
        os.replace(tmp, out_path)
    print(json.dumps(result, indent=2))
    print(markdown(result, variants))
    print(f"\nwritten to {out_path.relative_to(ROOT)}")


def _ci(values: dict, metric: str) -> str:
    return (
        f"{values[metric]:.4f} [{values[metric + '_ci_low']:.4f}, "
        f"{values[metric + '_ci_high']:.4f}]"
    )


def _signed_ci(values: dict, metric: str) -> str:
    return (
        f"{values[metric]:+.4f} [{values[metric + '_ci_low']:+.4f}, "
        f"{values[metric + '_ci_high']:+.4f}]"
    )


def markdown(result: dict, variants: list[str]) -> str:
    """One row per (protocol, training seed, setting); differences against the defaults."""
    lines = [
        "| exclude_seen | seed | setting | best epoch | epoch s / defaults | valid R@20 / MRR@20 "
        "| Recall@20 | MRR@20 | Recall@20 - defaults | MRR@20 - defaults |",
        "| --- | ---: | --- | ---: | ---: | --- | --- | --- | --- | --- |",
    ]
    for protocol_key in ("exclude_seen=true", "exclude_seen=false"):
        for run in result["runs"]:
            entry = run["protocols"][protocol_key]
            base_epoch = run["training"]["defaults"]["epoch_s"]
            for name in ["defaults", *variants]:
                training = run["training"][name]
                values = entry["metrics"][name]
                diff = entry["difference"].get(name)
                valid = training.get("validation_kept_epoch", {}).get(protocol_key)
                valid_text = f"{valid['recall@20']:.4f} / {valid['mrr@20']:.4f}" if valid else "-"
                lines.append(
                    f"| {protocol_key.split('=')[1]} | {run['training_seed']} | {name} "
                    f"| {training['best_epoch']}/{training['epochs']} "
                    f"| {training['epoch_s'] / base_epoch:.2f} | {valid_text} "
                    f"| {_ci(values, METRICS[0])} | {_ci(values, METRICS[1])} "
                    f"| {_signed_ci(diff, METRICS[0]) if diff else '-'} "
                    f"| {_signed_ci(diff, METRICS[1]) if diff else '-'} |"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
