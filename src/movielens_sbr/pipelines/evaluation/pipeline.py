"""Evaluation: the model and the splits -> ``metrics``, breakdowns, plots, a report and
example recommendations."""

from kedro.pipeline import Node, Pipeline

from movielens_sbr.pipelines.evaluation.nodes import (
    evaluate_methods,
    plot_breakdown,
    plot_metrics,
    recommend_examples,
    write_report,
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
                    "params:seed",
                ],
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
