"""Training: ``train_sessions`` + ``valid_sessions`` -> ``gru4rec_model``, ``training_history``
and ``sasrec_model``, ``sasrec_training_history``."""

from kedro.pipeline import Node, Pipeline

from movielens_sbr.pipelines.training.nodes import plot_training_history, train_gru4rec
from movielens_sbr.pipelines.training.sasrec_nodes import train_sasrec


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
            Node(
                train_sasrec,
                [
                    "train_sessions",
                    "valid_sessions",
                    "item_index",
                    "params:sasrec",
                    "params:seed",
                    "sasrec_checkpoints",
                ],
                ["sasrec_model", "sasrec_training_history"],
                name="train_sasrec",
            ),
            Node(
                plot_training_history,
                "sasrec_training_history",
                "sasrec_training_history_plot",
                name="plot_sasrec_training_history",
                tags="plots",
            ),
        ],
        tags="training",
    )
