"""Evaluation: the model and the splits -> ``metrics``, breakdowns, plots, a report and
example recommendations."""

from kedro.pipeline import Node, Pipeline

from movielens_sbr import methods
from movielens_sbr.pipelines.evaluation.nodes import (
    evaluate_methods,
    plot_breakdown,
    plot_metrics,
    recommend_examples,
    write_report,
)


def create_pipeline(**kwargs) -> Pipeline:
    models = [method.model_dataset for method in methods.trained()]
    return Pipeline(
        [
            Node(
                evaluate_methods,
                {
                    "train_sessions": "train_sessions",
                    "test_sessions": "test_sessions",
                    "item_index": "item_index",
                    "split_statistics": "split_statistics",
                    "archive_summary": "archive_summary",
                    "params": "params:evaluation",
                    "seed": "params:seed",
                    # Every trained method's model (movielens_sbr.methods).
                    **{model: model for model in models},
                },
                ["metrics", "evaluation_breakdown"],
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
                plot_breakdown,
                ["evaluation_breakdown", "params:evaluation"],
                "breakdown_plot",
                name="plot_breakdown",
                tags="plots",
            ),
            Node(
                write_report,
                ["metrics", "evaluation_breakdown", "split_statistics"],
                "evaluation_report",
                name="write_report",
            ),
            Node(
                recommend_examples,
                [
                    models[0],  # the first trained method
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
