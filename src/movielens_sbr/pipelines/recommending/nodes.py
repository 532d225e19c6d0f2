"""Recommending nodes: batch top-N next movies for many sessions."""

from typing import Any

import pandas as pd

from movielens_sbr.params import RecommendingParams, validate_section
from movielens_sbr.recommend import Recommender


def recommend_batch(
    gru4rec_model: Any,
    item_index: pd.DataFrame,
    movies: pd.DataFrame,
    train_sessions: pd.DataFrame,
    sessions: pd.DataFrame,
    params: dict,
    evaluation_params: dict,
    seed: int,
    **other_models: Any,
) -> pd.DataFrame:
    """Top-N next movies after each whole session (``session_id, item`` events in order)
    from the Keras step model (not imported here: it loads TensorFlow), or from a baseline
    fitted with the evaluation's options and the run's seed, as in the evaluation.
    ``other_models`` holds the other trained methods' models by dataset (``sasrec_model``)."""
    config: RecommendingParams = validate_section("recommending", params)
    recommender = Recommender(
        gru4rec_model,
        item_index,
        movies,
        train_sessions=train_sessions,
        baseline_options=validate_section("evaluation", evaluation_params).baselines,
        seed=seed,
        trained_models={name.removesuffix("_model"): model for name, model in other_models.items()},
    )
    return recommender.recommend_sessions(
        sessions,
        config.n,
        exclude_seen=config.exclude_seen,
        method=config.method,
        genres=config.genres,
    )
