"""Evaluation nodes."""

from movielens_sbr.pipelines.evaluation.nodes import (
    evaluate_methods,
    plot_metrics,
    recommend_examples,
)
from movielens_sbr.pipelines.training.nodes import train_gru4rec

PARAMS = {"ks": [1, 10], "n_examples": 2, "n_recommendations": 3}


def test_evaluation_outputs(splits, movies):
    train, valid, test, item_index, statistics = splits
    model, _ = train_gru4rec(
        train, valid, item_index, {"epochs": 1, "layers": [8], "batch_size": 4}, seed=0
    )
    metrics = evaluate_methods(
        model, train, test, item_index, statistics, {"source": "x.zip", "md5": "m"}, PARAMS
    )
    assert set(metrics) == {"gru4rec", "pop", "markov", "dataset"}
    assert set(metrics["pop"]) == {"recall@1", "mrr@1", "ndcg@1", "recall@10", "mrr@10", "ndcg@10"}
    assert metrics["dataset"]["test_events"] == len(test)
    assert metrics["dataset"]["archive_md5"] == "m"
    assert plot_metrics(metrics, PARAMS).axes

    examples = recommend_examples(model, test, item_index, movies, PARAMS, seed=0)
    assert examples["session_id"].nunique() == 2
    assert (examples.groupby("session_id")["rank"].max() == 3).all()
    assert examples["recommended"].isin(movies["title"]).all()
