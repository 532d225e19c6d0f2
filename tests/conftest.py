"""Shared fixtures: small MovieLens-format archives that the tests build themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from movielens_sbr.params import base_section

SHARED_ARCHIVE = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ml-1m-users-1-2999.zip"
)

# What the real-data tests expect of the archives they know, by MD5: the official
# ml-1m.zip, and its first 2,999 users (the development copy beside the project).
KNOWN_ARCHIVES = {
    "c4d9eecfca2ab87c1945afe126590906": {"ratings": 1_000_209, "users": 6_040, "movies": 3_883},
    "de6cf0baa65d646c1e8a83c7072f3433": {"ratings": 487_650, "users": 2_999, "movies": 3_883},
}

GENRES = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"]

# The model tests' GRU4Rec: small and plain (Adam, a separate embedding, no dropout), so
# that a few epochs on a toy catalogue learn it. The project's values are in conf/base.
MODEL_TEST_OPTIONS = {
    "layers": (256,),
    "embedding": "embedding",
    "embedding_dim": 256,
    "dropout_embedding": 0.0,
    "dropout_hidden": 0.0,
    "loss": "cross_entropy",
    "n_sample": 2048,
    "sample_alpha": 0.5,
    "logq": 1.0,
    "bpreg": 1.0,
    "optimizer": "adam",
    "learning_rate": 0.001,
    "momentum": 0.0,
    "batch_size": 128,
    "epochs": 10,
    "steps_per_call": 64,
    "jit_compile": False,
    "sparse_updates": False,
    "selection_metric": "recall@20",
    "seed": 42,
}


def json_of_python(*args: str, timeout: float) -> dict:
    """Run ``python *args`` in a fresh process (e.g. a script that must set up TensorFlow
    first); the JSON of its last printed line. A failure shows the end of its stderr."""
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def gru4rec_config(**options):
    """A ``GRU4RecConfig`` of ``MODEL_TEST_OPTIONS`` with ``options`` changed."""
    from movielens_sbr.model.gru4rec import GRU4RecConfig

    return GRU4RecConfig(**{**MODEL_TEST_OPTIONS, **options})


def make_ratings_lines(n_users: int = 60, n_items: int = 40, seed: int = 0) -> list[str]:
    """Ratings in the official ``UserID::MovieID::Rating::Timestamp`` format.

    Users watch movies along a noisy chain (item i is often followed by i + 1), in bursts
    with several ratings in the same second, over about three months, so every pipeline
    step (gaps, ties, a time split, learnable transitions) has something to do.
    """
    rng = np.random.default_rng(seed)
    lines = []
    start = 975_000_000  # 2000-11-23
    for user in range(1, n_users + 1):
        time = start + int(rng.integers(0, 90 * 86_400))
        item = int(rng.integers(1, n_items + 1))
        seen: set[int] = set()
        for _ in range(int(rng.integers(8, 30))):
            if item not in seen:
                seen.add(item)
                lines.append(f"{user}::{item}::{int(rng.integers(1, 6))}::{time}")
            item = item % n_items + 1 if rng.random() < 0.8 else int(rng.integers(1, n_items + 1))
            gap = rng.choice([0, 0, 30, 200, 7_200 * 3])  # same second, minutes, or a new session
            time += int(gap)
    return lines


def make_movies_lines(n_items: int = 40) -> list[str]:
    """Movies in the official ``MovieID::Title::Genres`` format (ISO-8859-1 titles)."""
    lines = []
    for item in range(1, n_items + 1):
        title = f"Movie {item} (19{50 + item % 50})"
        if item == 1:
            title = "Amélie (2001)"
        if item == 2:
            title = "Matrix, The (1999)"
        genres = "|".join(GENRES[(item + k) % len(GENRES)] for k in range(1 + item % 3))
        lines.append(f"{item}::{title}::{genres}")
    return lines


def write_archive(
    path: Path,
    ratings_lines: list[str] | None = None,
    movies_lines: list[str] | None = None,
    folder: str = "ml-1m",
) -> Path:
    """Write a zip laid out like the official ml-1m.zip."""
    ratings_lines = make_ratings_lines() if ratings_lines is None else ratings_lines
    movies_lines = make_movies_lines() if movies_lines is None else movies_lines
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f"{folder}/" if folder else ""  # "" puts the files at the root of the zip
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"{prefix}ratings.dat", ("\n".join(ratings_lines) + "\n").encode("latin-1")
        )
        archive.writestr(f"{prefix}movies.dat", ("\n".join(movies_lines) + "\n").encode("latin-1"))
    return path


@pytest.fixture
def tiny_archive(tmp_path: Path) -> Path:
    """A small valid archive in the official format."""
    return write_archive(tmp_path / "ml-1m.zip")


def real_archive_path() -> Path:
    """The real ml-1m archive: ``MOVIELENS_ARCHIVE`` when set, else the development copy."""
    configured = os.environ.get("MOVIELENS_ARCHIVE")
    return Path(configured) if configured else SHARED_ARCHIVE


@pytest.fixture
def shared_archive() -> Path:
    """The real ml-1m archive (``MOVIELENS_ARCHIVE`` or the development copy), or a skip."""
    path = real_archive_path()
    if not path.exists():
        pytest.skip(f"real MovieLens 1M data not found at {path.resolve()} (set MOVIELENS_ARCHIVE)")
    return path.resolve()


SESSIONS_PARAMS = base_section("sessions", session_mode="gap", gap_minutes=60, min_item_support=2)


@pytest.fixture
def ratings():
    """Parsed ratings of the generated archive lines."""
    from movielens_sbr.data.dat_format import parse_ratings

    return parse_ratings(("\n".join(make_ratings_lines(n_users=80)) + "\n").encode())


@pytest.fixture
def movies():
    """Parsed movies of the generated archive lines."""
    from movielens_sbr.data.dat_format import parse_movies

    return parse_movies(("\n".join(make_movies_lines()) + "\n").encode("latin-1"))


@pytest.fixture
def splits(ratings):
    """Train, valid, test, item index and statistics from the sessions nodes."""
    from movielens_sbr.pipelines.sessions.nodes import build_session_events, split_sessions

    events, log = build_session_events(ratings, SESSIONS_PARAMS, seed=1)
    return split_sessions(events, log, SESSIONS_PARAMS)


def make_project_copy(path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away Kedro project at ``path`` (the repo's conf and metadata) reading ``archive``.

    Runs there write to ``path/data``, never to the repository's data/.
    """
    import shutil

    from kedro.framework.startup import bootstrap_project

    root = Path(__file__).resolve().parents[1]
    shutil.copytree(root / "conf", path / "conf")
    shutil.copy(root / "pyproject.toml", path / "pyproject.toml")
    (path / "src").mkdir()  # the package itself is installed (editable)
    (path / "data").mkdir()
    monkeypatch.setenv("MOVIELENS_ARCHIVE", str(archive))
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    monkeypatch.chdir(path)
    bootstrap_project(path)
    return path


# A small SASRec for the runs of the tests (conf/base's sees 200 items with 2 blocks).
TINY_SASREC = {"epochs": 1, "max_len": 10, "hidden_size": 8, "n_blocks": 1, "batch_size": 16}

# A small model, so that a full `kedro run` on the tiny archive takes seconds.
TINY_RUN_PARAMS = {
    "training": {"epochs": 1, "layers": [16], "embedding_dim": 16, "batch_size": 8},
    "sasrec": TINY_SASREC,
    "evaluation": {"n_examples": 3},
    # A tiny model rarely beats the baselines: promote it anyway, so that the finished
    # project has a champion in its model registry.
    "registry": {"min_gain_over_best_baseline": -1.0},
}


@pytest.fixture(scope="session")
def finished_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy on which `kedro run` (all four pipelines) has finished once.

    Shared by the tests that only read the outputs (notebooks, kedro-viz). The working
    folder and the environment are restored after the run; users of the fixture set what
    their subprocesses need themselves.
    """
    from kedro.framework.session import KedroSession

    root = tmp_path_factory.mktemp("finished")
    archive = write_archive(root / "input" / "ml-1m.zip")
    with pytest.MonkeyPatch.context() as monkeypatch:
        project = make_project_copy(root / "project", archive, monkeypatch)
        with KedroSession.create(project_path=project, runtime_params=TINY_RUN_PARAMS) as session:
            session.run()
    return project


# ---------------------------------------------------------------------------------------------
# Small datasets in the exact layout of every supported release (tests/data/test_formats.py,
# tests/test_datasets_run.py). The events are the ml-1m fixture's, rewritten per format.

# Titles with commas (quoted in the CSV releases), an accent and no genre at all.
CSV_TITLES = {
    1: ("Amélie (2001)", "Comedy|Romance"),
    2: ("Matrix, The (1999)", "Action|Sci-Fi|Thriller"),
    3: ("American President, The (1995)", "Comedy|Drama|Romance"),
    4: ("Untitled Project (2020)", "(no genres listed)"),
}
ARCHIVE_FOLDERS = {
    "ml-100k": "ml-100k",
    "ml-10m": "ml-10M100K",
    "ml-latest-small": "ml-latest-small",
    "ml-20m": "ml-20m",
    "ml-25m": "ml-25m",
    "ml-32m": "ml-32m",
}


def _events(n_users: int, seed: int) -> list[tuple[int, int, int, int]]:
    return [
        tuple(int(v) for v in line.split("::"))
        for line in make_ratings_lines(n_users=n_users, seed=seed)
    ]


def _half(user: int, item: int, rating: int) -> str:
    """Half stars for about half the ratings: 5 -> 4.5 and so on (never below 0.5)."""
    return f"{rating - 0.5:.1f}" if (user + item) % 2 else f"{rating:.1f}"


def dataset_files(dataset: str, n_users: int = 60, seed: int = 0) -> dict[str, bytes]:
    """Member name -> bytes of a small copy of ``dataset`` in its official format."""
    events = _events(n_users, seed)
    if dataset == "ml-100k":
        flags = ["0"] * 19
        items = []
        for item in range(1, 41):
            row = list(flags)
            row[1 + item % 18] = "1"
            title = "Misérables, Les (1995)" if item == 1 else f"Movie {item} (19{50 + item})"
            if item == 2:
                title = "unknown"  # as ML-100K's item 267: no year in the title
            items.append(f"{item}|{title}|01-Jan-19{50 + item}||http://x/{item}|" + "|".join(row))
        return {
            "u.data": "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in events).encode(),
            "u.item": ("\n".join(items) + "\n").encode("latin-1"),
        }
    if dataset == "ml-10m":
        ratings = "".join(f"{u}::{i}::{_half(u, i, r)}::{t}\n" for u, i, r, t in events)
        return {"ratings.dat": ratings.encode(), "movies.dat": movies_dat_bytes()}
    if dataset.startswith("ml-") and dataset != "ml-1m":
        ratings = "userId,movieId,rating,timestamp\n" + "".join(
            f"{u},{i},{_half(u, i, r)},{t}\n" for u, i, r, t in events
        )
        movies = ["movieId,title,genres"]
        for item in range(1, 41):
            title, genres = CSV_TITLES.get(item, (f"Movie {item} (19{50 + item})", "Drama"))
            quoted = f'"{title}"' if "," in title else title
            movies.append(f"{item},{quoted},{genres}")
        return {
            "ratings.csv": ratings.encode(),
            "movies.csv": ("\n".join(movies) + "\n").encode("utf-8"),
        }
    if dataset == "yoochoose":
        return {"yoochoose-clicks.dat": yoochoose_clicks_bytes(events)}
    raise ValueError(dataset)


def movies_dat_bytes() -> bytes:
    return ("\n".join(make_movies_lines()) + "\n").encode("latin-1")


def yoochoose_clicks_bytes(events) -> bytes:
    """``session,ISO time,item,category``: each fixture user-session becomes a click session."""
    import datetime as dt

    lines = []
    for n, (user, item, _, stamp) in enumerate(events):
        moment = dt.datetime.fromtimestamp(stamp, dt.UTC) + dt.timedelta(milliseconds=n % 997)
        category = ["0", "S", "3", "2053821460"][item % 4]
        lines.append(
            f"{user},{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z,"
            f"{214536500 + item},{category}"
        )
    return ("\n".join(lines) + "\n").encode()


def write_dataset(path: Path, dataset: str, n_users: int = 60, seed: int = 0) -> Path:
    """A zip laid out like the official archive of ``dataset``; for YOOCHOOSE a folder
    holding yoochoose-clicks.dat, as unpacked from yoochoose-data.7z."""
    files = dataset_files(dataset, n_users, seed)
    if dataset == "yoochoose":
        path.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (path / name).write_bytes(data)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"{ARCHIVE_FOLDERS[dataset]}/{name}", data)
    return path
