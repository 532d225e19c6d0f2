"""What a run logs to MLflow, under which names (no Kedro imports).

MLflow metric names cannot hold ``@``, so ``recall@20`` is logged as ``recall_at_20``;
nested sections join with dots: ``gru4rec.recall_at_20``, ``gru4rec.recall_at_20_ci_low``,
``dataset.test_predictions``. Every number of a metrics file is logged, so the run in the
MLflow UI holds exactly what ``metrics.json`` holds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real
from typing import Any

import pandas as pd


def metric_name(*parts: str) -> str:
    """``("gru4rec", "recall@20")`` -> ``"gru4rec.recall_at_20"``."""
    return ".".join(part.replace("@", "_at_") for part in parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def flatten(values: dict, prefix: str = "") -> dict[str, Any]:
    """``{"training": {"loss": "x"}}`` -> ``{"training.loss": "x"}`` (lists stay values)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def metrics_to_log(metrics: dict) -> dict[str, float]:
    """Every finite number of a metrics file under its readable name (lists, text and
    booleans are not metrics: the protocol's ``ks`` and ``ties`` are parameters)."""
    return {
        metric_name(*name.split(".")): float(value)
        for name, value in flatten(metrics).items()
        if _is_number(value)
    }


def history_steps(history: dict) -> list[tuple[str, float, int]]:
    """Per-epoch values of a training history as ``(name, value, epoch)``:
    ``training.loss``, ``training.valid_recall_at_20``, ``training.events_per_second``."""
    steps = []
    for epoch in history.get("epochs", []):
        for key, value in epoch.items():
            if key != "epoch" and _is_number(value):
                steps.append((metric_name("training", key), float(value), int(epoch["epoch"])))
    return steps


def trial_runs(trials: pd.DataFrame) -> Iterable[tuple[str, dict[str, Any], dict[str, float]]]:
    """One ``(run name, params, metrics)`` per tuning trial: its options as
    ``training.<option>``, its validation metric, epochs run and seconds."""
    for row in trials.to_dict("records"):
        params = {
            f"training.{column.removeprefix('param_')}": value
            for column, value in row.items()
            if column.startswith("param_") and not pd.isna(value)
        }
        params["state"] = row["state"]
        metrics = {
            metric_name(column): float(value)
            for column, value in row.items()
            if not column.startswith("param_") and column != "trial" and _is_number(value)
        }
        yield f"trial {int(row['trial'])}", params, metrics


def param_value(value: Any) -> str:
    """A parameter as MLflow stores it: ``str(value)``, as kedro-mlflow's hook logs the
    same parameter again when a node reads it (MLflow refuses a different value)."""
    return str(value)


# --- writing to the tracking store of the active configuration (set by kedro-mlflow) -----


def _client():
    from mlflow.tracking import MlflowClient

    return MlflowClient()


def log(
    run_id: str,
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
    step: int = 0,
) -> None:
    """Parameters, metrics and tags of one run in one batch (the client splits it)."""
    import time

    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    _client().log_batch(
        run_id,
        metrics=[Metric(k, v, now, step) for k, v in (metrics or {}).items()],
        params=[Param(k, param_value(v)) for k, v in (params or {}).items()],
        tags=[RunTag(k, str(v)) for k, v in (tags or {}).items()],
    )


def log_steps(run_id: str, steps: list[tuple[str, float, int]]) -> None:
    """Stepped metrics ``(name, value, step)``: one curve per name in the UI."""
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    _client().log_batch(run_id, metrics=[Metric(n, v, now, s) for n, v, s in steps])


def start_child(parent_run_id: str, name: str, params: dict[str, Any], tags: dict[str, str]) -> str:
    """A run nested under ``parent_run_id`` (same experiment); returns its id."""
    client = _client()
    parent = client.get_run(parent_run_id)
    child = client.create_run(
        parent.info.experiment_id,
        run_name=name,
        tags={"mlflow.parentRunId": parent_run_id, **tags},
    )
    log(child.info.run_id, params=params)
    return child.info.run_id


def end(run_id: str, status: str = "FINISHED") -> None:
    _client().set_terminated(run_id, status)


def log_trials(parent_run_id: str, trials: pd.DataFrame) -> None:
    """Each tuning trial as its own finished run under the tuning run."""
    for name, params, metrics in trial_runs(trials):
        child = start_child(parent_run_id, name, params, {"tuning.trial": name.split()[-1]})
        log(child, metrics=metrics)
        end(child, "FINISHED" if params["state"] == "complete" else "KILLED")


def log_artifact(run_id: str, local_path: str, artifact_path: str = "") -> None:
    _client().log_artifact(run_id, local_path, artifact_path or None)
