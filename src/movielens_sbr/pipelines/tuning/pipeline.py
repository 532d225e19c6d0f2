"""Tuning: ``train_sessions`` + ``valid_sessions`` -> ``tuning_trials``, ``tuning_best``.

Not part of ``__default__``: run it on purpose with ``kedro run --pipelines tuning`` (the
method searched is ``tuning.method``).
"""

from kedro.pipeline import Node, Pipeline

from movielens_sbr.pipelines.tuning.nodes import plot_tuning, search_hyperparameters


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                search_hyperparameters,
                [
                    "train_sessions",
                    "valid_sessions",
                    "item_index",
                    "parameters",
                    "params:tuning",
                    "params:seed",
                ],
                ["tuning_trials", "tuning_best"],
                name="search_hyperparameters",
            ),
            Node(plot_tuning, "tuning_trials", "tuning_plot", name="plot_tuning", tags="plots"),
        ],
        tags="tuning",
    )
