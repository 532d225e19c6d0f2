"""The recommender as an MLflow pyfunc model: sessions in, top-N movies with titles out.

The model's artifacts are the files the CLI reads (the ``.keras`` step model, the item
index and the movie table), and ``predict`` calls the CLI's code (``Recommender.recommend``
and ``Recommendations.to_dict``), so ``mlflow models serve`` answers a request with the list
``movielens-sbr recommend --json`` prints for the same session. A request row is
``{"session": [ids or titles], "n": 10, "exclude_seen": true, "method": "gru4rec",
"genres": []}``; only ``session`` is required.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

ARTIFACTS = ("model", "item_index", "movies")


class RecommenderModel(mlflow.pyfunc.PythonModel):
    """``predict`` answers one JSON-ready dict per request row."""

    def load_context(self, context) -> None:
        from movielens_sbr.model.weights import StepWeights
        from movielens_sbr.recommend import Recommender

        artifacts = context.artifacts
        self.recommender = Recommender(
            None,
            pd.read_parquet(artifacts["item_index"]),
            pd.read_parquet(artifacts["movies"]),
            weights=StepWeights.read(artifacts["model"]),
            model_version=(context.model_config or {}).get("kedro_version"),
        )

    def predict(self, context, model_input: pd.DataFrame, params=None) -> list[dict[str, Any]]:
        answers = []
        for request in model_input.to_dict("records"):
            session = request.get("session")
            if session is None or isinstance(session, str):
                session = [] if session is None else [session]
            result = self.recommender.recommend(
                [int(m) if str(m).strip().isdigit() else m for m in list(session)],
                int(request.get("n") or 10),
                exclude_seen=bool(request.get("exclude_seen", True)),
                method=request.get("method") or "gru4rec",
                genres=list(request.get("genres") or []),
            )
            answers.append(result.to_dict(self.recommender.titles))
        return answers


def log_model(model_file: str, item_index_file: str, movies_file: str, kedro_version: str) -> Any:
    """Log the pyfunc model in the active MLflow run; returns MLflow's ModelInfo."""
    from movielens_sbr.provenance import package_versions

    requirements = [
        f"{name}=={version}"
        for name, version in package_versions().items()
        if version and name != "movielens-sbr"
    ]
    return mlflow.pyfunc.log_model(
        name="recommender",
        python_model=RecommenderModel(),
        artifacts=dict(zip(ARTIFACTS, (model_file, item_index_file, movies_file), strict=True)),
        model_config={"kedro_version": kedro_version},
        pip_requirements=requirements,
    )
