"""Training nodes: splits -> a trained GRU4Rec step model and its history."""

from __future__ import annotations

from typing import Any

import pandas as pd

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.model.training_setup import model_config, validator
from movielens_sbr.params import TrainingParams, validate_section

# TensorFlow and pyplot are imported inside the nodes that use them: Kedro imports
# every pipeline to validate parameters whenever a session loads its context, and the
# recommender (`movielens-sbr`) should not pay for them.
Figure = Any  # a matplotlib Figure


def train_gru4rec(
    train_sessions: pd.DataFrame,
    valid_sessions: pd.DataFrame,
    item_index: pd.DataFrame,
    params: dict,
    seed: int,
    checkpoint_dir: str | None = None,
) -> tuple[Any, dict]:
    """Train on the train split, keep the epoch with the best validation metric: returns
    the Keras step model and the history.

    Every epoch ends with a checkpoint in ``checkpoint_dir``; ``training.resume`` continues
    from the last one.
    """
    from movielens_sbr.model.gru4rec import distribution_strategy, train

    config: TrainingParams = validate_section("training", params)
    n_items = len(item_index)
    valid = SessionArrays.from_frame(valid_sessions)
    # Without a validation split (valid_fraction: 0) the last epoch is kept.
    result = train(
        SessionArrays.from_frame(train_sessions),
        n_items,
        model_config(config, seed),
        validator(valid, n_items, config) if valid.n_sessions else None,
        checkpoint_dir=checkpoint_dir,
        resume=config.resume,
        strategy=distribution_strategy(config.distribute),
    )
    history = {
        "config": result.config,
        "best_epoch": result.best_epoch,
        "train_events": len(train_sessions),
        "epochs": result.history,
    }
    return result.model, history


def plot_training_history(training_history: dict) -> Figure:
    """Loss and validation metrics per epoch."""
    from movielens_sbr import plots

    return plots.training_history(training_history["epochs"])
