"""Evaluation: the model and the splits -> ``metrics``, plots and example recommendations."""

from kedro.pipeline import Node, Pipeline

from movielens_sbr.pipelines.evaluation.nodes import (
    evaluate_methods,
    plot_metrics,
    recommend_examples,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                evaluate_methods,
                [
                    "gru4rec_model",
                    "train_sessions",
                    "test_sessions",
                    "item_index",
                    "split_statistics",
                    "archive_summary",
                    "params:evaluation",
                ],
                "metrics",
                name="evaluate_methods",
            ),
            Node(
                plot_metrics,
                ["metrics", "params:evaluation"],
                "metrics_plot",
                name="plot_metrics",
                tags="plots",
            ),
            Node(
                recommend_examples,
                [
                    "gru4rec_model",
                    "test_sessions",
                    "item_index",
                    "movies",
                    "params:evaluation",
                    "params:seed",
                ],
                "example_recommendations",
                name="recommend_examples",
            ),
        ],
        tags="evaluation",
    )
