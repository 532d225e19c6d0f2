"""Cold start of ``movielens-sbr`` at another git revision against the working tree.

Usage (after ``kedro run``, from the project folder):
    python scripts/cold_start_ab.py --before REV [--runs 3] [--movie 2571]

Extracts ``src/`` of REV (``git archive``) to a temporary folder and runs
``movielens-sbr --project . recommend --movie ID --json`` alternately with that code
(first on ``PYTHONPATH``) and with the installed one, on the same project, model and
data, so both see the same machine load. Prints wall and CPU (user + system) seconds
per run and their medians, and checks that both print the same recommendations.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="git revision to compare with")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--movie", default="2571")
    parser.add_argument("--project", type=Path, default=ROOT)
    args = parser.parse_args()
    project = args.project.resolve()
    script = Path(sys.executable).with_name("movielens-sbr")
    command = [str(script), "--project", str(project), "recommend", "--movie", args.movie]
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", args.before, "src"], capture_output=True, check=True
    ).stdout
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        environments = {
            args.before: dict(os.environ, PYTHONPATH=str(Path(folder) / "src")),
            "working tree": dict(os.environ),
        }
        results: dict[str, list[dict]] = {label: [] for label in environments}
        answers = {}
        for _ in range(args.runs):
            for label, env in environments.items():
                started, cpu = time.perf_counter(), _children_cpu()
                done = subprocess.run(
                    [*command, "--json"], capture_output=True, text=True, env=env, check=True
                )
                row = {
                    "wall_s": time.perf_counter() - started,
                    "cpu_s": _children_cpu() - cpu,
                    "load": os.getloadavg()[0],
                }
                results[label].append(row)
                answers[label] = [r["item"] for r in json.loads(done.stdout)["recommendations"]]
                print(
                    f"{label:>14}: wall {row['wall_s']:6.2f} s, CPU {row['cpu_s']:5.2f} s, "
                    f"load {row['load']:.1f}",
                    flush=True,
                )
    for label, rows in results.items():
        print(
            f"{label:>14}: median wall {statistics.median(r['wall_s'] for r in rows):.2f} s, "
            f"median CPU {statistics.median(r['cpu_s'] for r in rows):.2f} s"
        )
    same = len({tuple(items) for items in answers.values()}) == 1
    print("same recommendations:", same)


if __name__ == "__main__":
    main()
