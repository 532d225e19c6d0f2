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

import pandas as pd

from movielens_sbr.run_versions import IncompleteRunError, latest_complete_version, lineage_version


@contextlib.contextmanager
def quiet_kedro():
    """Keep Kedro's log lines off stdout while it loads (the CLI prints JSON there).

    Kedro configures its loggers (INFO, to the console) while a session starts, so lower
    levels alone do not hold; its console handler writes to the current ``sys.stdout``,
    which points at stderr meanwhile.
    """
    names = ("kedro", "kedro_telemetry", "kedro_mlflow", "mlflow", "movielens_sbr.hooks")
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


def saved_model_file(catalog: Any, version: str | None, dataset: str) -> tuple[Path, str] | None:
    """The local ``.keras`` file of the model ``dataset`` at ``version`` (default: the latest
    of a complete run) and its version, from the catalog's configuration (creating the
    dataset would import TensorFlow). None when the entry is not a versioned local file:
    Kedro loads it then. Versions are folders ``<filepath>/<version>/<file name>``.
    """
    config = catalog.to_config()[0].get(dataset) or {}
    filepath = str(config.get("filepath", ""))
    if not config.get("versioned") or not filepath.endswith(".keras"):
        return None
    if "://" in filepath:
        if not filepath.startswith("file://"):
            return None  # remote storage: through Kedro's dataset
        filepath = filepath[len("file://") :]
    folder = Path(filepath)
    manifests = (catalog.to_config()[0].get("run_manifest") or {}).get("filepath")
    # Only names of saved versions are accepted, so a version can never be a path.
    try:
        version = latest_complete_version(folder, manifests, version)
    except IncompleteRunError as error:
        raise FileNotFoundError(f"no model: {error}") from None
    return folder / version / folder.name, version


def trained_item_index(catalog: Any, model_version: str) -> pd.DataFrame:
    """The item index the model of ``model_version`` was trained with: saved or loaded by
    that run, as its manifest says; a manifest without that record (older runs) falls back
    to the item index of the same version, else the latest one."""
    manifest = try_load(catalog, "run_manifest", model_version)
    trained = lineage_version(manifest, "item_index") if manifest else None
    if trained is not None:
        return catalog.load("item_index", version=trained)
    item_index = try_load(catalog, "item_index", model_version)
    return item_index if item_index is not None else catalog.load("item_index")


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
