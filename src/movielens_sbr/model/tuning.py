"""Hyperparameter search for a trained method on the validation split, with Optuna (no
Kedro).

A search space maps a training option (a field of the method's configuration dataclass,
or ``layer_size`` for a single layer of that size when it has ``layers``) to either
``{"choices": [...]}`` or ``{"low": a, "high": b}`` with optional ``"log": true``;
integer bounds give an integer option (``movielens_sbr.params.TuningParams`` checks the
space before a run). Each trial trains with its sampled options and is scored by its
best epoch's validation metric; trials that trail the median of earlier trials at the
same epoch are pruned. The test split never enters here.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import optuna
import pandas as pd

from movielens_sbr.data.session_arrays import SessionArrays

logger = logging.getLogger(__name__)


def suggest(trial: optuna.Trial, space: dict[str, dict]) -> dict[str, Any]:
    """Sample one value per option of ``space``."""
    values: dict[str, Any] = {}
    for name, spec in space.items():
        if "choices" in spec:
            values[name] = trial.suggest_categorical(name, spec["choices"])
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int):
            values[name] = trial.suggest_int(
                name, spec["low"], spec["high"], log=spec.get("log", False)
            )
        else:
            values[name] = trial.suggest_float(
                name, float(spec["low"]), float(spec["high"]), log=spec.get("log", False)
            )
    return values


def apply(base: Any, values: dict[str, Any]) -> Any:
    """``base`` with the sampled options; ``layer_size`` becomes one layer of that size."""
    values = dict(values)
    if "layer_size" in values:
        values["layers"] = (int(values.pop("layer_size")),)
    return dataclasses.replace(base, **values)


def base_values(base: Any, space: dict[str, dict]) -> dict[str, Any]:
    """The options of ``base`` that ``space`` searches, where they lie inside it."""
    values: dict[str, Any] = {}
    for name, spec in space.items():
        if name == "layer_size":
            if len(base.layers) != 1:
                continue
            value = base.layers[0]
        else:
            value = getattr(base, name)
        inside = (
            value in spec["choices"] if "choices" in spec else spec["low"] <= value <= spec["high"]
        )
        if inside:
            values[name] = value
    return values


def tune(
    train_sessions: SessionArrays,
    n_items: int,
    base: Any,
    space: dict[str, dict],
    validate: Callable[[keras.Model], dict[str, float]],
    *,
    train: Callable[..., Any],
    n_trials: int,
    time_budget_s: float,
    seed: int,
) -> pd.DataFrame:
    """Search ``space`` around ``base`` (a method's configuration dataclass) with the
    method's ``train(train_sessions, n_items, config, validate)``; one row per trial with
    its options and scores.

    Trial 0 is ``base`` itself (its searched options, where inside the space), so the best
    trial is never worse on validation than the settings the search started from. Stops
    after ``n_trials`` or once ``time_budget_s`` has passed (a running trial is finished
    first), so with a time budget the number of trials depends on the machine.
    """
    metric = base.selection_metric
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own line per trial instead
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(8, n_trials))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    study.enqueue_trial(base_values(base, space), skip_if_exists=True)

    def objective(trial: optuna.Trial) -> float:
        config = apply(base, suggest(trial, space))
        epoch = 0

        def report(model: keras.Model) -> dict[str, float]:
            nonlocal epoch
            epoch += 1
            scores = validate(model)
            trial.report(scores[metric], epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"epoch {epoch}: {metric} {scores[metric]:.4f}")
            return scores

        started = time.perf_counter()
        result = train(train_sessions, n_items, config, report)
        best = result.history[result.best_epoch - 1]
        trial.set_user_attr("train_s", time.perf_counter() - started)
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr(
            "events_per_s", float(np.mean([h["events_per_second"] for h in result.history]))
        )
        return float(best[f"valid_{metric}"])

    study.optimize(
        objective,
        n_trials=n_trials,
        timeout=time_budget_s,
        callbacks=[_log_trial],
        gc_after_trial=True,
    )
    return trials_frame(study, metric)


def _log_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    best = study.best_trial if any(t.value is not None for t in study.trials) else None
    logger.info(
        "trial %d %s: %s%s; best so far %s",
        trial.number,
        trial.state.name.lower(),
        ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items()
        ),
        f" -> {trial.value:.4f}" if trial.value is not None else "",
        f"{best.value:.4f} (trial {best.number})" if best else "none",
    )


def trials_frame(study: optuna.Study, metric: str) -> pd.DataFrame:
    """Every trial: number, state, the validation metric, options and timings."""
    rows = []
    for trial in study.trials:
        intermediate = trial.intermediate_values
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name.lower(),
                f"valid_{metric}": trial.value
                if trial.value is not None
                else (max(intermediate.values()) if intermediate else np.nan),
                "epochs_run": max(intermediate, default=0),
                "seconds": trial.duration.total_seconds() if trial.duration else np.nan,
                **{f"param_{k}": v for k, v in trial.params.items()},
            }
        )
    return pd.DataFrame(rows)


def best_options(trials: pd.DataFrame, metric: str) -> dict[str, Any]:
    """The options of the best completed trial, as training parameters."""
    complete = trials[trials["state"] == "complete"]
    if complete.empty:
        raise ValueError("no tuning trial completed: raise the time budget or n_trials")
    best = complete.loc[complete[f"valid_{metric}"].idxmax()]
    options = {
        column.removeprefix("param_"): _plain(best[column])
        for column in trials.columns
        if column.startswith("param_") and not pd.isna(best[column])
    }
    if "layer_size" in options:
        options["layers"] = [int(options.pop("layer_size"))]
    return options


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
