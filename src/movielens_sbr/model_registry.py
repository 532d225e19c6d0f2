"""The model registry: which trained model answers, and why (no Kedro imports).

Every evaluated model of a trained method (``movielens_sbr.methods.trained()``: GRU4Rec,
and any method registered there later) is registered in the project's MLflow store as a
version of ``movielens-sbr-<dataset>-<method>``, tagged with the Kedro version of its
``.keras`` file and its test metrics. Each registered model has its own ``champion``: the
alias moves to a version only when the evaluation of that very version passes the
promotion rule (``registry`` parameters) for that method; the recommender, the notebooks
and the ``recommending`` pipeline answer from the champion of the method they use.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHAMPION = "champion"
KEDRO_VERSION_TAG = "kedro_version"  # the Kedro dataset version of the model file
METHOD_TAG = "method"  # the trained method of movielens_sbr.methods
_REGISTRY_VERSION = re.compile(r"^v?(\d+)$")
_KEDRO_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}\.\d{3}Z$")
# Metrics that every answer quotes, and that each registered version carries as tags.
HEADLINE = ("recall@20", "mrr@20")


def registered_name(dataset: str, method: str) -> str:
    """``movielens-sbr-ml-1m-gru4rec``: one registered model per dataset and trained method."""
    return f"movielens-sbr-{dataset}-{method}"


def default_method() -> str:
    """The trained method answering when none is named: the first one of the registry."""
    from movielens_sbr import methods

    return methods.trained()[0].name


def promotion(metrics: dict, metric: str, min_gain: float, method: str) -> tuple[bool, str]:
    """Whether the trained ``method``'s test ``metric`` beats the best baseline's (the
    best fitted method's; other trained methods have champions of their own) by more than
    ``min_gain``, and a sentence saying so (logged for every version)."""
    from movielens_sbr import methods

    value = metrics[method][metric]
    baselines = {
        name: section[metric]
        for name, section in metrics.items()
        if isinstance(section, dict)
        and metric in section
        and (found := methods.find(name)) is not None
        and not found.trained
    }
    if not baselines:
        return min_gain < 0, f"no baseline was evaluated on {metric}"
    best = max(baselines, key=baselines.get)
    gain = value - baselines[best]
    verdict = "beats" if gain > min_gain else "does not beat"
    return gain > min_gain, (
        f"{method} {metric} {value:.4f} {verdict} the best baseline {best} "
        f"{baselines[best]:.4f} by more than {min_gain:g} (gain {gain:+.4f})"
    )


@dataclass(frozen=True)
class ModelChoice:
    """The registered version that answers, with what the registry knows of it."""

    name: str
    version: str
    kedro_version: str | None
    aliases: tuple[str, ...]
    test_metrics: dict[str, float]

    def describe(self) -> dict[str, Any]:
        """For the CLI's answers: which model answered and how well it tested."""
        return {
            "registered_model": self.name,
            "version": self.version,
            "aliases": list(self.aliases),
            "kedro_version": self.kedro_version,
            **{f"test_{name}": value for name, value in self.test_metrics.items()},
        }


def tag_name(metric: str) -> str:
    return f"test.{metric.replace('@', '_at_')}"


def kind_of(model: str) -> str:
    """``--model`` is a registry version (``3``, ``v3``), a Kedro dataset version
    (``2026-12-02T19.59.49.111Z``) or an alias (``champion``)."""
    if _REGISTRY_VERSION.match(model):
        return "registry_version"
    if _KEDRO_VERSION.match(model):
        return "kedro_version"
    return "alias"


def _client(tracking_uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def choose(tracking_uri: str, name: str, model: str | None = None) -> ModelChoice | None:
    """The version ``model`` names (default: the champion); None when the registry has no
    champion yet and ``model`` was not given, so the caller falls back to its own rule.

    A local SQLite store of the schema this MLflow writes is read directly (read-only, no
    MLflow import: every ``movielens-sbr`` call asks); any other store through MLflow.
    """
    wanted = model or CHAMPION
    kind = kind_of(wanted)
    number = _REGISTRY_VERSION.match(wanted).group(1) if kind == "registry_version" else None
    alias = None if number else wanted
    try:
        found = _read_sqlite(tracking_uri, name, alias, number)
    except _NotReadable:
        found = _read_with_mlflow(tracking_uri, name, alias, number)
    if found is None:
        if model is None:
            return None
        raise LookupError(
            f"no {kind.replace('_', ' ')} {wanted!r} of registered model {name!r} in "
            f"{tracking_uri}: run `kedro run --pipelines evaluation` to register one, or "
            "pass a Kedro model version"
        )
    version, tags, aliases = found
    return ModelChoice(
        name=name,
        version=version,
        kedro_version=tags.get(KEDRO_VERSION_TAG),
        aliases=tuple(sorted(aliases)),
        test_metrics={
            metric: float(tags[tag_name(metric)]) for metric in HEADLINE if tag_name(metric) in tags
        },
    )


Found = tuple[str, dict[str, str], list[str]]  # version, its tags, its aliases


def _read_with_mlflow(uri: str, name: str, alias: str | None, version: str | None) -> Found | None:
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    try:
        if version is not None:
            found = client.get_model_version(name, version)
        else:
            found = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    return str(found.version), dict(found.tags), list(found.aliases)


class _NotReadable(Exception):
    """Not a SQLite store of the known schema: ask MLflow."""


# The SQLite schema (MLflow's alembic revision) that ``_read_sqlite`` knows: MLflow 3.17's.
# Another revision is read through MLflow (tests/test_model_registry.py checks both agree).
SQLITE_SCHEMA = "dc11669786a5"
_WORKSPACE = "default"  # MLflow's registry without workspaces


def _read_sqlite(uri: str, name: str, alias: str | None, version: str | None) -> Found | None:
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        raise _NotReadable(uri)
    path = Path(uri[len(prefix) :])
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise _NotReadable(uri) from error
    try:
        (schema,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        if schema != SQLITE_SCHEMA:
            raise _NotReadable(schema)
        live = (
            "SELECT version FROM model_versions WHERE name = ? AND workspace = ? "
            "AND current_stage != 'Deleted_Internal'"
        )
        if version is not None:
            row = connection.execute(f"{live} AND version = ?", (name, _WORKSPACE, int(version)))
        else:
            row = connection.execute(
                f"{live} AND version = (SELECT version FROM registered_model_aliases "
                "WHERE name = ? AND workspace = ? AND alias = ?)",
                (name, _WORKSPACE, name, _WORKSPACE, alias),
            )
        found = row.fetchone()
        if found is None:
            return None
        (number,) = found
        where = "WHERE name = ? AND workspace = ? AND version = ?"
        tags = dict(
            connection.execute(
                f"SELECT key, value FROM model_version_tags {where}", (name, _WORKSPACE, number)
            )
        )
        aliases = [
            alias
            for (alias,) in connection.execute(
                f"SELECT alias FROM registered_model_aliases {where}", (name, _WORKSPACE, number)
            )
        ]
    except (sqlite3.Error, TypeError, ValueError) as error:
        raise _NotReadable(uri) from error
    finally:
        connection.close()
    return str(number), tags, aliases


_STORES: dict[Path, str] = {}  # project folder -> its tracking URI (conf/base/mlflow.yml)
_LAST_STORE: list[str] = []  # of the project whose context was created last


def remember_store(project: Path, uri: str | None) -> None:
    """Record the tracking store of ``project``'s configuration (called when a Kedro
    context is created, so that the registry is found without importing MLflow)."""
    if uri:
        _STORES[Path(project).resolve()] = uri
        _LAST_STORE[:] = [uri]


def store_uri(project: Path | None = None) -> str | None:
    """The tracking store of ``project`` as ``conf/base/mlflow.yml`` configures it (without
    ``project``: of the project opened last, else MLflow's configured one), with a relative
    SQLite path read from the project; None when there is none yet (no run logged, or no
    project opened in this process)."""
    uri = _STORES.get(Path(project).resolve()) if project is not None else None
    if uri is None and project is None and _LAST_STORE:
        uri = _LAST_STORE[0]
    if uri is None and "mlflow" in sys.modules:  # configured by the caller, e.g. a notebook
        import mlflow
        from mlflow.tracking._tracking_service.utils import is_tracking_uri_set

        uri = mlflow.get_tracking_uri() if is_tracking_uri_set() else None
    if uri is None:
        return None
    prefix = "sqlite:///"
    if uri.startswith(prefix):
        path = Path(uri[len(prefix) :])
        if not path.is_absolute() and project is not None:
            path = Path(project) / path
        if not path.is_file():
            return None  # no run logged yet: do not create an empty store by looking
        return prefix + str(path.resolve())
    return uri


def resolve(
    project: Path | None, dataset: str | None, model: str | None, method: str | None = None
) -> ModelChoice | None:
    """What ``--model`` (or its absence) means in the registry of the trained ``method``
    (default: the first trained method): the chosen version, or None when the project's
    registry has no champion (the caller's latest-model rule applies)."""
    if model is not None and kind_of(model) == "kedro_version":
        return None
    uri = store_uri(project)
    if uri is None or dataset is None:
        if model is None:
            return None
        raise LookupError(
            f"--model {model!r} names a registered model, but the project has no model "
            "registry yet: run `kedro run` first, or pass a Kedro model version"
        )
    return choose(uri, registered_name(dataset, method or default_method()), model)
