"""Peak memory of ingesting an ML-32M-sized ratings.csv, read from the zip member.

Writes a zip in the ml-32m layout (``ml-32m/ratings.csv`` with ``--rows`` ratings of
``--users`` users over ``--items`` movies, half stars, no repeated user-movie pair, and a
``movies.csv`` with quoted titles) into ``--workdir``, then, in a fresh process, runs the
ingestion nodes on it exactly as ``kedro run --env ml-32m`` does and reports the peak RSS
and the time of each step. The data is random: it measures memory and speed, nothing else.

    python scripts/ingestion_memory.py --workdir /tmp/ml32 [--rows 32000204]

Delete the work folder afterwards (about 1.2 GB); never commit it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv


def write_archive(folder: Path, rows: int, users: int, items: int, seed: int) -> Path:
    """The ml-32m.zip layout with a random ratings.csv, written in slices."""
    rng = np.random.default_rng(seed)
    user = np.sort(rng.integers(1, users + 1, rows)).astype(np.int32)
    # Distinct movies within a user: a user-specific offset plus the position in the user.
    position = np.arange(rows) - np.searchsorted(user, user, side="left")
    item = ((user.astype(np.int64) * 7919 + position) % items + 1).astype(np.int32)
    del position
    rating = (rng.integers(1, 11, rows) / 2).astype(np.float32)
    timestamp = rng.integers(789_000_000, 1_697_000_000, rows).astype(np.int64)
    unpacked = folder / "ml-32m"
    unpacked.mkdir(parents=True, exist_ok=True)
    schema = pa.schema(
        [
            ("userId", pa.int32()),
            ("movieId", pa.int32()),
            ("rating", pa.float32()),
            ("timestamp", pa.int64()),
        ]
    )
    options = pacsv.WriteOptions(quoting_style="none")
    with pacsv.CSVWriter(unpacked / "ratings.csv", schema, write_options=options) as writer:
        for start in range(0, rows, 2_000_000):
            stop = start + 2_000_000
            writer.write_table(
                pa.table(
                    [user[start:stop], item[start:stop], rating[start:stop], timestamp[start:stop]],
                    schema=schema,
                )
            )
    titles = [f'{i},"Movie {i}, The ({1900 + i % 120})",Drama|Comedy' for i in range(1, items + 1)]
    (unpacked / "movies.csv").write_text("movieId,title,genres\n" + "\n".join(titles) + "\n")
    archive = folder / "ml-32m.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for name in ("ratings.csv", "movies.csv"):
            out.write(unpacked / name, f"ml-32m/{name}")
            (unpacked / name).unlink()
    return archive


def measure(archive: Path) -> dict:
    """Runs in its own process, so the peak RSS is ingestion's alone."""
    from movielens_sbr.data.movielens import read_archive
    from movielens_sbr.params import base_section
    from movielens_sbr.pipelines.ingestion.nodes import (
        describe_archive,
        parse_movies_node,
        parse_ratings_node,
    )
    from movielens_sbr.provenance import peak_rss_mb

    times = {}
    started = time.perf_counter()
    raw = read_archive(archive, "ml-32m")
    times["read_archive_s"] = time.perf_counter() - started
    started = time.perf_counter()
    movies, movies_report = parse_movies_node(raw, base_section("ingestion", dataset="ml-32m"))
    ratings, ratings_report = parse_ratings_node(
        raw, movies, base_section("ingestion", dataset="ml-32m")
    )
    times["parse_ratings_s"] = time.perf_counter() - started
    started = time.perf_counter()
    summary = describe_archive(raw, ratings, movies, ratings_report, movies_report)
    times["parse_movies_and_summary_s"] = time.perf_counter() - started
    started = time.perf_counter()
    ratings.to_parquet(archive.with_name("ratings.parquet"))  # as the catalog saves it
    times["save_parquet_s"] = time.perf_counter() - started
    return {
        "ratings": summary["ratings"],
        "users": summary["users"],
        "movies": summary["movies"],
        "dtypes": {name: str(dtype) for name, dtype in ratings.dtypes.items()},
        "frame_mib": round(ratings.memory_usage(deep=True).sum() / 2**20, 1),
        **{name: round(value, 1) for name, value in times.items()},
        "peak_rss_mib": round(peak_rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=32_000_204)  # ML-32M's README count
    parser.add_argument("--users", type=int, default=200_948)
    parser.add_argument("--items", type=int, default=84_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    archive = args.workdir / "ml-32m.zip"
    if not archive.exists():
        started = time.perf_counter()
        archive = write_archive(args.workdir, args.rows, args.users, args.items, args.seed)
        print(
            f"wrote {archive} ({archive.stat().st_size / 2**20:.0f} MiB) in "
            f"{time.perf_counter() - started:.0f} s"
        )
    result = subprocess.run(
        [sys.executable, __file__, "--workdir", str(args.workdir), "--measure", str(archive)],
        check=True,
        capture_output=True,
        text=True,
    )
    print(json.dumps(json.loads(result.stdout.strip().splitlines()[-1]), indent=2))


if __name__ == "__main__":
    main()
