"""A Kedro project's catalog and parameters, read from outside ``kedro run``.

Used by ``Recommender.load`` (and the recommender benchmark): Kedro is imported only when
a project is opened, and its log lines are kept off stdout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def quiet_kedro():
    """Keep Kedro's log lines off stdout while it loads (the CLI prints JSON there).

    Kedro configures its loggers (INFO, to the console) while a session starts, so lower
    levels alone do not hold; its console handler writes to the current ``sys.stdout``,
    which points at stderr meanwhile.
    """
    names = ("kedro", "kedro_telemetry", "movielens_sbr.hooks")
    levels = [logging.getLogger(name).level for name in names]
    for name in names:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for name, level in zip(names, levels, strict=True):
            logging.getLogger(name).setLevel(level)


def try_load(catalog: Any, name: str, version: str | None = None):
    """``name`` from the catalog (at ``version``), or None when it cannot be loaded."""
    try:
        return catalog.load(name, version=version) if version else catalog.load(name)
    except Exception:
        return None


def saved_model_file(catalog: Any, version: str | None) -> tuple[Path, str] | None:
    """The local ``.keras`` file of ``gru4rec_model`` at ``version`` (default: latest) and
    its version, from the catalog's configuration (creating the dataset would import
    TensorFlow). None when the entry is not a versioned local file: Kedro loads it then.

    Versions are folders ``<filepath>/<version>/<file name>``; the latest is the last
    in name order that holds the file, as Kedro resolves it.
    """
    config = catalog.to_config()[0].get("gru4rec_model") or {}
    filepath = str(config.get("filepath", ""))
    if not config.get("versioned") or not filepath.endswith(".keras"):
        return None
    if "://" in filepath:
        if not filepath.startswith("file://"):
            return None  # remote storage: through Kedro's dataset
        filepath = filepath[len("file://") :]
    folder = Path(filepath)
    if version is not None:
        path = folder / version / folder.name
        if not path.is_file():
            found = sorted(p.parent.name for p in folder.glob(f"*/{folder.name}"))
            raise FileNotFoundError(f"no model version {version} in {folder} (found {found})")
        return path, version
    versions = sorted(p for p in folder.glob(f"*/{folder.name}") if p.is_file())
    if not versions:
        raise FileNotFoundError(f"no saved model in {folder}")
    return versions[-1], versions[-1].parent.name


def project_catalog(path: Path, env: str | None) -> tuple[Any, dict]:
    """The catalog and parameters of the Kedro project at ``path``."""
    # The project keeps Kedro telemetry off (see the Makefile); a copy may lack .telemetry.
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    path = path.resolve()
    if not (path / "pyproject.toml").exists():
        from movielens_sbr.recommend import RecommendError  # here: recommend imports this module

        raise RecommendError(f"{path} is not a Kedro project (no pyproject.toml)")
    with quiet_kedro():  # importing Kedro already logs its logging setup
        from kedro.framework.session import KedroSession
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(path)
        with KedroSession.create(project_path=path, env=env) as session:
            context = session.load_context()
            return context.catalog, context.params
