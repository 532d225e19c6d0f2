"""Tuning nodes: a hyperparameter search on the validation split, and its plot."""

import dataclasses
from typing import Any

import pandas as pd

from movielens_sbr import methods
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.params import TuningParams, validate_section

# A matplotlib Figure: pyplot is imported only when a plot node runs.
Figure = Any


def search_hyperparameters(
    train_sessions: pd.DataFrame,
    valid_sessions: pd.DataFrame,
    item_index: pd.DataFrame,
    parameters: dict,
    tuning_params: dict,
    seed: int,
) -> tuple[pd.DataFrame, dict]:
    """Trials of the search of ``tuning.method`` (one row each) and the best options
    found, for review; ``parameters`` are the run's, with the method's section.

    The best options are not applied automatically: copy them into the method's
    parameter file after reading the trials.
    """
    # Here, not at the top: Optuna and TensorFlow load only when the search runs.
    from movielens_sbr.model.tuning import best_options, tune

    tuning: TuningParams = validate_section("tuning", tuning_params)
    method = methods.get(tuning.method)
    options = validate_section(method.section, parameters[method.section])
    valid = SessionArrays.from_frame(valid_sessions)
    if not valid.n_sessions:
        raise ValueError(
            "tuning needs a validation split, but valid_sessions is empty: set "
            "sessions.valid_fraction above 0 in conf/base/parameters_sessions.yml"
        )
    n_items = len(item_index)
    setup = method.training_setup
    base = setup.model_config(options, seed)
    trials = tune(
        SessionArrays.from_frame(train_sessions),
        n_items,
        dataclasses.replace(base, epochs=tuning.epochs),
        tuning.search_space[method.name],
        setup.validator(valid, n_items, options),
        train=setup.train,
        n_trials=tuning.n_trials,
        time_budget_s=tuning.time_budget_minutes * 60,
        seed=seed,
    )
    metric = options.selection_metric
    best = trials[trials["state"] == "complete"][f"valid_{metric}"].max()
    return trials, {
        "method": method.name,
        "section": method.section,
        "selection_metric": f"valid_{metric}",
        "best_value": float(best),
        "best_options": best_options(trials, metric),
        "trials": {state: int(n) for state, n in trials["state"].value_counts().items()},
        "epochs_per_trial": tuning.epochs,
    }


def plot_tuning(tuning_trials: pd.DataFrame) -> Figure:
    """Validation metric per trial with the best so far, and against each option."""
    from movielens_sbr import plots

    return plots.tuning_trials(tuning_trials)
