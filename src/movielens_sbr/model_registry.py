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
    champion yet and ``model`` was not given, so the caller falls back to its own rule."""
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    wanted = model or CHAMPION
    kind = kind_of(wanted)
    try:
        if kind == "registry_version":
            found = client.get_model_version(name, _REGISTRY_VERSION.match(wanted).group(1))
        else:
            found = client.get_model_version_by_alias(name, wanted)
    except MlflowException:
        if model is None:
            return None
        raise LookupError(
            f"no {kind.replace('_', ' ')} {wanted!r} of registered model {name!r} in "
            f"{tracking_uri}: run `kedro run --pipelines evaluation` to register one, or "
            "pass a Kedro model version"
        ) from None
    return ModelChoice(
        name=name,
        version=str(found.version),
        kedro_version=found.tags.get(KEDRO_VERSION_TAG),
        aliases=tuple(found.aliases),
        test_metrics={
            metric: float(found.tags[tag_name(metric)])
            for metric in HEADLINE
            if tag_name(metric) in found.tags
        },
    )


def store_uri(project: Path | None = None) -> str | None:
    """The tracking store that kedro-mlflow configured (``conf/base/mlflow.yml``), with a
    relative SQLite path read from ``project``; None when there is none yet (no run logged,
    or MLflow was never configured in this process)."""
    import mlflow
    from mlflow.tracking._tracking_service.utils import is_tracking_uri_set

    if not is_tracking_uri_set():
        return None
    uri = mlflow.get_tracking_uri()
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
