"""Training nodes: splits -> a trained model of a registered method and its history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from movielens_sbr import methods
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.params import validate_section

# TensorFlow and pyplot are imported inside the nodes that use them (through the method's
# training setup): Kedro imports every pipeline to validate parameters whenever a session
# loads its context, and the recommender (`movielens-sbr`) should not pay for them.
Figure = Any  # a matplotlib Figure


@dataclass(frozen=True)
class ModelTrainer:
    """The training node of one trained method of ``movielens_sbr.methods``: the
    pipeline's node is ``ModelTrainer(<name>).train``."""

    method: str

    def train(
        self,
        train_sessions: pd.DataFrame,
        valid_sessions: pd.DataFrame,
        item_index: pd.DataFrame,
        params: dict,
        seed: int,
        checkpoint_dir: str | None = None,
    ) -> tuple[Any, dict]:
        """Train the method on the train split with its parameter section ``params``,
        keeping the epoch with the best validation metric: returns the model and the
        history.

        Every epoch ends with a checkpoint in ``checkpoint_dir``; ``resume: true`` in the
        section continues from the last one. Without a validation split (``valid_fraction:
        0``) the last epoch is kept.
        """
        trained = methods.get(self.method)
        setup = trained.training_setup
        config = validate_section(trained.section, params)
        n_items = len(item_index)
        valid = SessionArrays.from_frame(valid_sessions)
        result = setup.train(
            SessionArrays.from_frame(train_sessions),
            n_items,
            setup.model_config(config, seed),
            setup.validator(valid, n_items, config) if valid.n_sessions else None,
            checkpoint_dir=checkpoint_dir,
            **setup.train_options(config),
        )
        history = {
            "config": result.config,
            "best_epoch": result.best_epoch,
            "train_events": len(train_sessions),
            "epochs": result.history,
        }
        return result.model, history


def plot_training_history(history: dict) -> Figure:
    """Loss and validation metrics per epoch."""
    from movielens_sbr import plots

    return plots.training_history(history["epochs"])
