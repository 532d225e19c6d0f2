"""Training of one trained method of ``movielens_sbr.methods``: ``train_sessions`` +
``valid_sessions`` -> ``<name>_model`` and its history (``training_history`` for GRU4Rec,
``sasrec_history`` for SASRec).

``pipeline_registry`` registers one such pipeline per trained method, named after its
parameter section (``training``, ``sasrec``), so that ``kedro run --pipelines sasrec``
trains SASRec alone and the ``experiments`` variants vary one method at a time.
"""

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from movielens_sbr import methods
from movielens_sbr.pipelines.training.nodes import plot_training_history, train_model


def create_pipeline(method: str = "gru4rec", **kwargs) -> Pipeline:
    trained = methods.get(method)
    # A named partial: kedro-viz shows train_model's code for every method's node.
    train = update_wrapper(partial(train_model, method=trained.name), train_model)
    history = trained.history_dataset
    return Pipeline(
        [
            Node(
                train,
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
