"""Recommending speed on a trained project: cold start, warm latency, batch throughput.

Usage (after ``kedro run``, from the project folder; one command, a few minutes):
    python scripts/benchmark_recommend.py [--project .] [--sessions 1000] [-n 10] [--seed 0]

- cold start: wall time of ``movielens-sbr recommend --movie ID --json`` as a new process,
  from process start to the printed answer (median of ``--cold-runs`` runs), and the CPU
  time (user + system) the process used;
- warm latency: ``Recommender.recommend(session, n)`` for ``--sessions`` test sessions
  drawn at random (whole sessions, seeded), after a warm-up: p50 / p90 / p99 / max;
- batch: ``Recommender.recommend_sessions`` on the whole test split (best of 3): sessions/s;
- similar: the first ``Recommender.similar`` per method (item-kNN and ALS fit then).

Wall times depend on what else the machine runs; the CPU times much less, so both are
reported, with the load average before and after. Prints a summary and the figures as
JSON, and writes the JSON to data/08_reporting/benchmarks/recommend_<UTC time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cold_start(project: Path, movie: int, runs: int) -> dict:
    """Seconds from starting the console script to its answer, as a user sees it."""
    script = Path(sys.executable).with_name("movielens-sbr")
    command = [str(script), "--project", str(project), "recommend", "--movie", str(movie)]
    wall, cpu = [], []
    for _ in range(runs):
        started, cpu_before = time.perf_counter(), _children_cpu()
        done = subprocess.run([*command, "--json"], capture_output=True, text=True, check=True)
        wall.append(time.perf_counter() - started)
        cpu.append(_children_cpu() - cpu_before)
        json.loads(done.stdout)  # a complete answer was printed
    return {
        "command": " ".join([*command, "--json"]),
        "runs": runs,
        "median_s": statistics.median(wall),
        "min_s": min(wall),
        "cpu_median_s": statistics.median(cpu),
    }


def percentiles(values: np.ndarray) -> dict:
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p90_ms": float(np.percentile(values, 90)),
        "p99_ms": float(np.percentile(values, 99)),
        "max_ms": float(values.max()),
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
    load_before = os.getloadavg()

    from movielens_sbr.kedro_project import project_catalog, quiet_kedro
    from movielens_sbr.provenance import git_commit
    from movielens_sbr.recommend import Recommender

    started = time.perf_counter()
    recommender = Recommender.load(project)
    load_seconds = time.perf_counter() - started
    catalog, _ = project_catalog(project, None)
    with quiet_kedro():
        test = catalog.load("test_sessions")[["session_id", "item"]]

    groups = test.groupby("session_id", sort=True)["item"]
    sessions = [items.to_numpy().tolist() for _, items in groups]
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(sessions), size=args.sessions, replace=args.sessions > len(sessions))
    for i in chosen[:20]:  # warm-up: first calls allocate and fill caches
        recommender.recommend(sessions[i], n=args.n)
    wall, cpu = [], []
    for i in chosen:
        begin, cpu_begin = time.perf_counter(), time.process_time()
        recommender.recommend(sessions[i], n=args.n)
        wall.append(time.perf_counter() - begin)
        cpu.append(time.process_time() - cpu_begin)
    lengths = np.array([len(sessions[i]) for i in chosen])

    batch_wall, batch_cpu = [], []
    for _ in range(3):
        begin, cpu_begin = time.perf_counter(), time.process_time()
        table = recommender.recommend_sessions(test, n=args.n)
        batch_wall.append(time.perf_counter() - begin)
        batch_cpu.append(time.process_time() - cpu_begin)
    if table["session_id"].nunique() != len(sessions):
        raise RuntimeError("the batch answer misses sessions")
    best = min(batch_wall)

    similar = {}
    for method in ("embedding", "iknn", "als"):
        begin = time.perf_counter()
        recommender.similar(sessions[0][0], n=args.n, method=method)
        similar[f"{method}_first_s"] = time.perf_counter() - begin

    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "project": str(project),
        "model_version": recommender.model_version,
        "git_commit": git_commit(ROOT, short=True),
        "cores": os.cpu_count(),
        "load_average_at_start": load_before[0],
        "in_process_load_s": load_seconds,
        "cold_start": cold_start(project, int(sessions[0][0]), args.cold_runs),
        "warm": {
            "requests": args.sessions,
            "n": args.n,
            "session_length_median": float(np.median(lengths)),
            "session_length_p99": float(np.percentile(lengths, 99)),
            "session_length_max": int(lengths.max()),
            **percentiles(np.array(wall) * 1000),
            "cpu": percentiles(np.array(cpu) * 1000),
        },
        "batch": {
            "sessions": len(sessions),
            "events": len(test),
            "n": args.n,
            "best_s": best,
            "sessions_per_s": len(sessions) / best,
            "events_per_s": len(test) / best,
            "cpu_best_s": min(batch_cpu),
            "sessions_per_cpu_s": len(sessions) / min(batch_cpu),
        },
        "similar": similar,
        "load_average_at_end": os.getloadavg()[0],
    }
    text = json.dumps(result, indent=2)
    folder = project / "data" / "08_reporting" / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"recommend_{stamp}.json"
    path.write_text(text + "\n")
    cold, warm, batch = result["cold_start"], result["warm"], result["batch"]
    print(text)
    print(
        f"\nload average {result['load_average_at_start']:.1f} -> "
        f"{result['load_average_at_end']:.1f} on {result['cores']} cores; model "
        f"{result['model_version']}\n"
        f"cold start  median {cold['median_s']:.2f} s (min {cold['min_s']:.2f} s, "
        f"CPU {cold['cpu_median_s']:.2f} s) of {cold['runs']} runs\n"
        f"warm        p50 {warm['p50_ms']:.2f} / p90 {warm['p90_ms']:.2f} / "
        f"p99 {warm['p99_ms']:.2f} ms (CPU p99 {warm['cpu']['p99_ms']:.2f} ms; "
        f"target p99 < 20 ms)\n"
        f"batch       {batch['sessions']} sessions in {batch['best_s']:.3f} s: "
        f"{batch['sessions_per_s']:,.0f} sessions/s (CPU {batch['cpu_best_s']:.3f} s: "
        f"{batch['sessions_per_cpu_s']:,.0f}/s; target > 2,000/s)\n"
        f"similar     first call: "
        + ", ".join(f"{k[:-8]} {v:.2f} s" for k, v in similar.items())
        + f"\nwritten to {path}"
    )


if __name__ == "__main__":
    main()
