"""From validated training parameters to what ``train`` and ``tune`` take (no Kedro).

Shared by the training and tuning pipelines and the benchmark scripts; SASRec's module
(``model/sasrec.py``) offers the same four functions. TensorFlow is
imported only when a configuration or a validation is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.evaluator import evaluate
from movielens_sbr.params import TrainingParams

if TYPE_CHECKING:
    import keras

    from movielens_sbr.model.gru4rec import GRU4RecConfig


def model_config(config: TrainingParams, seed: int) -> GRU4RecConfig:
    """The model's configuration from the validated training parameters."""
    from movielens_sbr.model.gru4rec import GRU4RecConfig

    return GRU4RecConfig(
        **config.model_dump(exclude={"layers", "eval_batch_size", "resume", "distribute"}),
        layers=tuple(config.layers),
        seed=seed,
    )


def validator(
    valid: SessionArrays, n_items: int, config: TrainingParams
) -> Callable[[keras.Model], dict[str, float]]:
    """Scores a model on the validation sessions with the selection metric's cutoff.

    Same protocol as the test evaluation: every position, pessimistic ties, seen items
    excluded.
    """
    k = int(config.selection_metric.split("@")[1])

    def validate(model: keras.Model) -> dict[str, float]:
        from movielens_sbr.model.gru4rec import GRU4RecScorer

        predictions = evaluate(
            GRU4RecScorer(model), valid, n_items, batch_size=config.eval_batch_size
        )
        return predictions.metrics([k])

    return validate


def train_options(config: TrainingParams) -> dict:
    """The arguments of ``train`` that come from the parameters but are not the model's
    configuration: resuming and the ``training.distribute`` strategy."""
    from movielens_sbr.model.gru4rec import distribution_strategy

    return {"resume": config.resume, "strategy": distribution_strategy(config.distribute)}


def train(*args, **kwargs):
    """GRU4Rec's ``model.gru4rec.train`` (TensorFlow is imported on the first call)."""
    from movielens_sbr.model.gru4rec import train as train_gru4rec

    return train_gru4rec(*args, **kwargs)
