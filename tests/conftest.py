"""Shared fixtures: small MovieLens-format archives that the tests build themselves."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

SHARED_ARCHIVE = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ml-1m-users-1-2999.zip"
)

GENRES = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"]


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


@pytest.fixture
def shared_archive() -> Path:
    """The shared real data, or a skip that says why."""
    if not SHARED_ARCHIVE.exists():
        pytest.skip(f"shared MovieLens data not found at {SHARED_ARCHIVE.resolve()}")
    return SHARED_ARCHIVE.resolve()


SESSIONS_PARAMS = {"session_mode": "gap", "gap_minutes": 60, "min_item_support": 2}


@pytest.fixture
def ratings():
    """Parsed ratings of the generated archive lines."""
    from movielens_sbr.data.movielens import parse_ratings

    return parse_ratings(("\n".join(make_ratings_lines(n_users=80)) + "\n").encode())


@pytest.fixture
def movies():
    """Parsed movies of the generated archive lines."""
    from movielens_sbr.data.movielens import parse_movies

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


# A small model, so that a full `kedro run` on the tiny archive takes seconds.
TINY_RUN_PARAMS = {
    "training": {"epochs": 1, "layers": [16], "embedding_dim": 16, "batch_size": 8},
    "evaluation": {"n_examples": 3},
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
