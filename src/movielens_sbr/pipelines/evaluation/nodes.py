"""Evaluation nodes: the trained models and baselines on the test split, plots, examples."""

from typing import Any

import numpy as np
import pandas as pd

from movielens_sbr import methods
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation import protocol, report
from movielens_sbr.params import EvaluationParams, validate_section

# TensorFlow and pyplot are imported inside the nodes that use them: Kedro imports every
# pipeline to validate parameters whenever a session loads its context, and the
# recommender (`movielens-sbr`) should not pay for them. Models are Keras step models.
Figure = Any  # a matplotlib Figure


def evaluate_methods(
    train_sessions: pd.DataFrame,
    test_sessions: pd.DataFrame,
    item_index: pd.DataFrame,
    split_statistics: dict,
    archive_summary: dict,
    params: dict,
    seed: int,
    **models: Any,
) -> tuple[dict, pd.DataFrame]:
    """Every trained method and the baselines on the same test predictions: metrics and
    breakdowns. ``models`` holds each trained method's model by its dataset name
    (``<name>_model``, see ``movielens_sbr.methods``).

    Returns ``metrics`` (method -> metrics with intervals, plus ``protocol`` and
    ``dataset``) and the table by prediction position and session length.
    """
    config: EvaluationParams = validate_section("evaluation", params)
    n_items = len(item_index)
    train = SessionArrays.from_frame(train_sessions)
    test = SessionArrays.from_frame(test_sessions)
    trained = [method.from_model(models[method.model_dataset]) for method in methods.trained()]
    baselines, fit_seconds = protocol.fit_baselines(train, n_items, config.baselines, seed)
    metrics, breakdown = protocol.evaluate_all(
        [*trained, *baselines], train, test, n_items, config, seed
    )
    metrics["protocol"]["seconds"].update(fit_seconds)
    metrics["dataset"] = {
        "n_items": n_items,
        "train_events": split_statistics["train"]["events"],
        "valid_events": split_statistics["valid"]["events"],
        "test_events": split_statistics["test"]["events"],
        "train_sessions": split_statistics["train"]["sessions"],
        "valid_sessions": split_statistics["valid"]["sessions"],
        "test_sessions": split_statistics["test"]["sessions"],
        "test_predictions": int(np.maximum(test.lengths - 1, 0).sum()),
        "ties": config.ties,
        "exclude_seen": config.exclude_seen,
        "archive": archive_summary["source"],
        "archive_md5": archive_summary["md5"],
    }
    return metrics, breakdown


def plot_metrics(metrics: dict, params: dict) -> Figure:
    """Bars of Recall@K, MRR@K and NDCG@K (largest K) per method, with their intervals."""
    from movielens_sbr import plots

    k = max(validate_section("evaluation", params).ks)
    return plots.method_comparison(metrics, [f"recall@{k}", f"mrr@{k}", f"ndcg@{k}"])


def plot_breakdown(evaluation_breakdown: pd.DataFrame, params: dict) -> Figure:
    """Recall@K by prediction position and by session length, one line per method."""
    from movielens_sbr import plots

    k = max(validate_section("evaluation", params).ks)
    return plots.metric_breakdown(evaluation_breakdown, f"recall@{k}")


def write_report(metrics: dict, evaluation_breakdown: pd.DataFrame, split_statistics: dict) -> str:
    """The Markdown evaluation report (plots linked from the same run's versions)."""
    return report.render(metrics, evaluation_breakdown, split_statistics)


def recommend_examples(
    model: Any,
    test_sessions: pd.DataFrame,
    item_index: pd.DataFrame,
    movies: pd.DataFrame,
    params: dict,
    seed: int,
) -> pd.DataFrame:
    """Top-N next movies of the first trained method (``model``, see
    ``movielens_sbr.methods``), with titles, for a few test sessions (seeded choice).

    Each example shows the session's first half as the history and its true next movie.
    """
    from movielens_sbr.recommend import Recommender  # here: keeps this edit to one function

    config: EvaluationParams = validate_section("evaluation", params)
    lengths = test_sessions.groupby("session_id").size()
    candidates = lengths.index[lengths >= 4].to_numpy()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(candidates, size=min(config.n_examples, len(candidates)), replace=False)
    recommender = Recommender(model, item_index, movies)
    titles = recommender.titles
    rows = []
    for session_id in np.sort(chosen):
        session = test_sessions[test_sessions["session_id"] == session_id]
        history = session["item"].to_numpy()[: len(session) // 2].tolist()
        target = int(session["item"].to_numpy()[len(history)])
        result = recommender.recommend(
            history, config.n_recommendations, exclude_seen=config.exclude_seen
        )
        history_titles = " | ".join(titles.get(i, str(i)) for i in history[-3:])
        for recommended in result.table.itertuples(index=False):
            rows.append(
                {
                    "session_id": int(session_id),
                    "user": int(session["user"].iloc[0]),
                    "history_length": len(history),
                    "last_watched": history_titles,
                    "next_watched": titles.get(target, str(target)),
                    "rank": int(recommended.rank),
                    "recommended": recommended.title,
                    "score": float(recommended.score),
                    "is_next": int(recommended.item) == target,
                }
            )
    return pd.DataFrame(rows)
