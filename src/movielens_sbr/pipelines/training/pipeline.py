"""Training of one trained method of ``movielens_sbr.methods``: ``train_sessions`` +
``valid_sessions`` -> ``<name>_model`` and its history (``training_history`` for GRU4Rec,
``sasrec_history`` for SASRec).

``pipeline_registry`` registers one such pipeline per trained method, named after its
parameter section (``training``, ``sasrec``), so that ``kedro run --pipelines sasrec``
trains SASRec alone and the ``experiments`` variants vary one method at a time.
"""

from kedro.pipeline import Node, Pipeline

from movielens_sbr import methods
from movielens_sbr.pipelines.training.nodes import ModelTrainer, plot_training_history


def create_pipeline(method: str = "gru4rec", **kwargs) -> Pipeline:
    trained = methods.get(method)
    history = trained.history_dataset
    return Pipeline(
        [
            Node(
                ModelTrainer(trained.name).train,
                [
                    "train_sessions",
                    "valid_sessions",
                    "item_index",
                    f"params:{trained.section}",
                    "params:seed",
                    f"{trained.name}_checkpoints",
                ],
                [trained.model_dataset, history],
                name=f"train_{trained.name}",
            ),
            Node(
                plot_training_history,
                history,
                f"{history}_plot",
                name=f"plot_{history}",
                tags="plots",
            ),
        ],
        tags=trained.section,
    )
