"""Recommending: the model and a Parquet of sessions -> top-N next movies per session.

The node reads ``sessions_to_recommend``, mapped to the test split here; to score another
Parquet of sessions use ``movielens-sbr batch IN OUT``, or map the input to your own
catalog entry.
"""

from kedro.pipeline import Node, Pipeline

from movielens_sbr import methods
from movielens_sbr.pipelines.recommending.nodes import recommend_batch


def create_pipeline(**kwargs) -> Pipeline:
    nodes = Pipeline(
        [
            Node(
                recommend_batch,
                {
                    "item_index": "item_index",
                    "movies": "movies",
                    "train_sessions": "train_sessions",
                    "sessions": "sessions_to_recommend",
                    "params": "params:recommending",
                    "evaluation_params": "params:evaluation",
                    "seed": "params:seed",
                    # Every trained method's model (movielens_sbr.methods).
                    **{m.model_dataset: m.model_dataset for m in methods.trained()},
                },
                "session_recommendations",
                name="recommend_batch",
            ),
        ],
        tags="recommending",
    )
    return Pipeline(nodes, inputs={"sessions_to_recommend": "test_sessions"})
