"""SASRec training nodes: splits -> a trained SASRec (``.keras``) and its history."""

from __future__ import annotations

from typing import Any

import pandas as pd

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.params import SASRecParams, validate_section


def train_sasrec(
    train_sessions: pd.DataFrame,
    valid_sessions: pd.DataFrame,
    item_index: pd.DataFrame,
    params: dict,
    seed: int,
    checkpoint_dir: str | None = None,
) -> tuple[Any, dict]:
    """Train on the train split, keep the epoch with the best validation metric (stopping
    after ``patience`` epochs without one): returns the model and the history."""
    # TensorFlow is imported here: Kedro imports every pipeline whenever a session loads
    # its context, and the recommender CLI should not pay for it.
    from movielens_sbr.model.sasrec import model_config, train, validator

    config: SASRecParams = validate_section("sasrec", params)
    n_items = len(item_index)
    valid = SessionArrays.from_frame(valid_sessions)
    result = train(
        SessionArrays.from_frame(train_sessions),
        n_items,
        model_config(config, seed),
        validator(valid, n_items, config) if valid.n_sessions else None,
        checkpoint_dir=checkpoint_dir,
        resume=config.resume,
    )
    history = {
        "config": result.config,
        "best_epoch": result.best_epoch,
        "train_events": len(train_sessions),
        "epochs": result.history,
    }
    return result.model, history
