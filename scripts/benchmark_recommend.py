"""Recommending speed on a trained project: cold start, warm latency, batch throughput.

Usage (after ``kedro run``, from the project folder):
    python scripts/benchmark_recommend.py [--project .] [--sessions 1000] [-n 10] [--seed 0]

- cold start: wall time of ``movielens-sbr recommend --movie ID --json`` as a new process,
  from process start to the printed answer (median of ``--cold-runs`` runs);
- warm latency: ``Recommender.recommend(session, n)`` for ``--sessions`` test sessions
  drawn at random (whole sessions, seeded), after a warm-up: p50 / p90 / p99 / max;
- batch: ``Recommender.recommend_sessions`` on the whole test split (best of 3): sessions/s.

Prints the figures as JSON and writes them to data/08_reporting/benchmarks/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def cold_start(project: Path, movie: int, runs: int) -> dict:
    """Seconds from starting the console script to its answer, as a user sees it."""
    script = Path(sys.executable).with_name("movielens-sbr")
    command = [str(script), "--project", str(project), "recommend", "--movie", str(movie)]
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([*command, "--json"], capture_output=True, text=True, check=True)
        seconds.append(time.perf_counter() - started)
        json.loads(done.stdout)  # a complete answer was printed
    return {
        "command": " ".join([*command, "--json"]),
        "runs": runs,
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--project", type=Path, default=ROOT)
    parser.add_argument("--sessions", type=int, default=1000, help="warm requests")
    parser.add_argument("-n", type=int, default=10, help="movies per request")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()
    project = args.project.resolve()

    started = time.perf_counter()
    from movielens_sbr.recommend import Recommender, _project_catalog, _quiet_kedro

    recommender = Recommender.load(project)
    catalog, _ = _project_catalog(project, None)
    with _quiet_kedro():
        test = catalog.load("test_sessions")[["session_id", "item"]]
    load_seconds = time.perf_counter() - started

    groups = test.groupby("session_id", sort=True)["item"]
    sessions = [items.to_numpy().tolist() for _, items in groups]
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(sessions), size=args.sessions, replace=args.sessions > len(sessions))
    for i in chosen[:20]:  # warm-up: first calls allocate and fill caches
        recommender.recommend(sessions[i], n=args.n)
    latencies = []
    for i in chosen:
        begin = time.perf_counter()
        recommender.recommend(sessions[i], n=args.n)
        latencies.append(time.perf_counter() - begin)
    ms = np.array(latencies) * 1000
    lengths = np.array([len(sessions[i]) for i in chosen])

    batch_seconds = []
    for _ in range(3):
        begin = time.perf_counter()
        table = recommender.recommend_sessions(test, n=args.n)
        batch_seconds.append(time.perf_counter() - begin)
    assert table["session_id"].nunique() == len(sessions)
    best = min(batch_seconds)

    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "project": str(project),
        "model_version": recommender.model_version,
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
        "in_process_load_s": load_seconds,
        "cold_start": cold_start(project, int(sessions[0][0]), args.cold_runs),
        "warm": {
            "requests": args.sessions,
            "n": args.n,
            "session_length_median": float(np.median(lengths)),
            "session_length_p99": float(np.percentile(lengths, 99)),
            "session_length_max": int(lengths.max()),
            "p50_ms": float(np.percentile(ms, 50)),
            "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()),
        },
        "batch": {
            "sessions": len(sessions),
            "events": len(test),
            "n": args.n,
            "best_s": best,
            "sessions_per_s": len(sessions) / best,
            "events_per_s": len(test) / best,
        },
    }
    print(json.dumps(result, indent=2))
    folder = project / "data" / "08_reporting" / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    (folder / f"recommend_{stamp}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
