"""Grid search of one baseline's options on the validation split (never on test).

Usage:
    python scripts/tune_baseline.py als --grid factors=32,64,128 --grid alpha=1,5
        [--archive PATH] [--set SECTION.KEY=VALUE ...]

Builds the splits with the parameters in conf/base (plus --set overrides), fits the
baseline on train for every combination of the grid and prints validation Recall@20 and
MRR@20 (pessimistic ties, seen items excluded, as configured), best first, as a Markdown
table.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import yaml

from benchmark import CONF, DEFAULT_ARCHIVE
from movielens_sbr.data.dat_format import parse_ratings
from movielens_sbr.data.movielens import read_archive
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation import protocol
from movielens_sbr.evaluation.evaluator import evaluate
from movielens_sbr.params import load_parameters
from movielens_sbr.pipelines.sessions.nodes import build_session_events, split_sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("baseline")
    parser.add_argument("--grid", action="append", default=[], metavar="OPTION=V1,V2,...")
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()

    params = load_parameters(CONF, args.set)
    seed = params["seed"]
    evaluation = params["evaluation"]

    ratings = parse_ratings(read_archive(args.archive).ratings)
    events, log = build_session_events(ratings, params["sessions"], seed)
    train_df, valid_df, _test, item_index, _ = split_sessions(events, log, params["sessions"])
    train, valid = SessionArrays.from_frame(train_df), SessionArrays.from_frame(valid_df)
    n_items = len(item_index)

    grid = {}
    for entry in args.grid:
        option, values = entry.split("=", 1)
        grid[option] = [yaml.safe_load(v) for v in values.split(",")]
    rows = []
    for combination in itertools.product(*grid.values()):
        options = dict(zip(grid, combination, strict=True))
        started = time.perf_counter()
        (scorer,), _ = protocol.fit_baselines(train, n_items, {args.baseline: options}, seed)
        predictions = evaluate(
            scorer,
            valid,
            n_items,
            batch_size=evaluation["batch_size"],
            exclude_seen=evaluation["exclude_seen"],
        )
        metrics = predictions.metrics([20], evaluation["ties"])
        rows.append(
            (metrics["recall@20"], metrics["mrr@20"], options, time.perf_counter() - started)
        )
        print(f"{options}: {metrics} ({rows[-1][3]:.1f} s)", flush=True)
    print(f"\n{args.baseline} on the validation split ({len(valid_df):,} events)\n")
    print("| options | valid Recall@20 | valid MRR@20 | fit + eval s |")
    print("| --- | ---: | ---: | ---: |")
    for recall, mrr, options, seconds in sorted(rows, key=lambda row: -row[0]):
        print(f"| `{options}` | {recall:.4f} | {mrr:.4f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
