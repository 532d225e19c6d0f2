"""SASRec: ``train_sessions`` + ``valid_sessions`` -> ``sasrec_model``, ``sasrec_history``.

A pipeline of its own beside ``training`` (GRU4Rec), so that the ``experiments`` variants,
built from ``training``, vary GRU4Rec alone and evaluate the one SASRec of the default run.
"""

from kedro.pipeline import Node, Pipeline

from movielens_sbr.pipelines.sasrec.nodes import train_sasrec
from movielens_sbr.pipelines.training.nodes import plot_training_history


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
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
                ["sasrec_model", "sasrec_history"],
                name="train_sasrec",
            ),
            Node(
                plot_training_history,
                "sasrec_history",
                "sasrec_history_plot",
                name="plot_sasrec_history",
                tags="plots",
            ),
        ],
        tags="sasrec",
    )
