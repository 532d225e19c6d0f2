"""Recommending nodes: batch top-N next movies for many sessions."""

from typing import Any

import pandas as pd

from movielens_sbr import methods
from movielens_sbr.params import RecommendingParams, validate_section
from movielens_sbr.recommend import Recommender


def recommend_batch(
    item_index: pd.DataFrame,
    movies: pd.DataFrame,
    train_sessions: pd.DataFrame,
    sessions: pd.DataFrame,
    params: dict,
    evaluation_params: dict,
    seed: int,
    **models: Any,
) -> pd.DataFrame:
    """Top-N next movies after each whole session (``session_id, item`` events in order)
    from ``recommending.method``: a trained model (``models`` holds every trained method's
    by dataset name, ``<name>_model``; Keras is not imported here) or a baseline fitted
    with the evaluation's options and the run's seed, as in the evaluation."""
    config: RecommendingParams = validate_section("recommending", params)
    chosen = methods.get(config.method)
    holder = chosen if chosen.trained else methods.trained()[0]  # cold start, item index
    recommender = Recommender(
        models[holder.model_dataset],
        item_index,
        movies,
        train_sessions=train_sessions,
        baseline_options=validate_section("evaluation", evaluation_params).baselines,
        seed=seed,
        model_method=holder.name,
    )
    return recommender.recommend_sessions(
        sessions,
        config.n,
        exclude_seen=config.exclude_seen,
        method=config.method,
        genres=config.genres,
    )
