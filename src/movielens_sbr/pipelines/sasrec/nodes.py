"""SASRec training nodes: splits -> a trained SASRec (``.keras``) and its history."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.evaluator import evaluate
from movielens_sbr.params import SASRecParams, validate_section

# TensorFlow is imported inside the nodes: Kedro imports every pipeline whenever a
# session loads its context, and the recommender CLI should not pay for it.
if TYPE_CHECKING:
    from movielens_sbr.model.sasrec import SASRec, SASRecConfig


def sasrec_config(params: SASRecParams, seed: int) -> SASRecConfig:
    """The model's configuration from the validated ``sasrec`` parameters."""
    from movielens_sbr.model.sasrec import SASRecConfig

    return SASRecConfig(**params.model_dump(exclude={"eval_batch_size", "resume"}), seed=seed)


def sasrec_validator(
    valid: SessionArrays, n_items: int, params: SASRecParams
) -> Callable[[SASRec], dict[str, float]]:
    """Scores a model on the validation sessions at the selection metric's cutoff, with
    the test evaluation's protocol (every position, pessimistic ties, seen items excluded)."""
    k = int(params.selection_metric.split("@")[1])

    def validate(model: SASRec) -> dict[str, float]:
        from movielens_sbr.model.sasrec import SASRecScorer

        predictions = evaluate(
            SASRecScorer(model), valid, n_items, batch_size=params.eval_batch_size
        )
        return predictions.metrics([k])

    return validate


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
    from movielens_sbr.model.sasrec import train

    config: SASRecParams = validate_section("sasrec", params)
    n_items = len(item_index)
    valid = SessionArrays.from_frame(valid_sessions)
    result = train(
        SessionArrays.from_frame(train_sessions),
        n_items,
        sasrec_config(config, seed),
        sasrec_validator(valid, n_items, config) if valid.n_sessions else None,
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
