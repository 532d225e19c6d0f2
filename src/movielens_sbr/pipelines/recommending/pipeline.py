"""Recommending: the model and a Parquet of sessions -> top-N next movies per session.

The node reads ``sessions_to_recommend``, mapped to the test split here; to score another
Parquet of sessions use ``movielens-sbr batch IN OUT``, or map the input to your own
catalog entry.
"""

from kedro.pipeline import Node, Pipeline

from movielens_sbr.pipelines.recommending.nodes import recommend_batch


def create_pipeline(**kwargs) -> Pipeline:
    nodes = Pipeline(
        [
            Node(
                recommend_batch,
                [
                    "gru4rec_model",
                    "item_index",
                    "movies",
                    "train_sessions",
                    "sessions_to_recommend",
                    "params:recommending",
                    "params:evaluation",
                    "params:seed",
                ],
                "session_recommendations",
                name="recommend_batch",
            ),
        ],
        tags="recommending",
    )
    return Pipeline(nodes, inputs={"sessions_to_recommend": "test_sessions"})
