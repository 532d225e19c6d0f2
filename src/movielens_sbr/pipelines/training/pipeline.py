"""Training: ``train_sessions`` + ``valid_sessions`` -> ``gru4rec_model``, ``training_history``."""

from kedro.pipeline import Node, Pipeline

from movielens_sbr.pipelines.training.nodes import plot_training_history, train_gru4rec


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_gru4rec,
                [
                    "train_sessions",
                    "valid_sessions",
                    "item_index",
                    "params:training",
                    "params:seed",
                    "gru4rec_checkpoints",
                ],
                ["gru4rec_model", "training_history"],
                name="train_gru4rec",
            ),
            Node(
                plot_training_history,
                "training_history",
                "training_history_plot",
                name="plot_training_history",
                tags="plots",
            ),
        ],
        tags="training",
    )
