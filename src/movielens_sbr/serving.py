"""The recommender as an MLflow pyfunc model: sessions in, top-N movies with titles out.

The model's artifacts are the files the CLI reads (the ``.keras`` step model, the item
index and the movie table), and ``predict`` calls the CLI's code (``Recommender.recommend``
and ``Recommendations.to_dict``), so ``mlflow models serve`` answers a request with the list
``movielens-sbr recommend --json`` prints for the same session. A request row is
``{"session": [ids or titles], "n": 10, "exclude_seen": true, "method": "gru4rec",
"genres": []}``; only ``session`` is required (``method`` defaults to the trained method
whose registered model this is).
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

ARTIFACTS = ("model", "item_index", "movies")


class RecommenderModel(mlflow.pyfunc.PythonModel):
    """``predict`` answers one JSON-ready dict per request row."""

    def load_context(self, context) -> None:
        from movielens_sbr.model_registry import default_method
        from movielens_sbr.recommend import Recommender

        artifacts = context.artifacts
        config = context.model_config or {}
        if "method" not in config and len(config) == 1:  # {method: {"kedro_version": ...}}
            (method, config) = next(iter(config.items()))
            config = {**config, "method": method}
        self.method = config.get("method") or default_method()
        model, weights = _read_model(artifacts["model"], self.method)
        self.recommender = Recommender(
            model,
            pd.read_parquet(artifacts["item_index"]),
            pd.read_parquet(artifacts["movies"]),
            weights=weights,
            model_version=config.get("kedro_version"),
            model_method=self.method,
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
                method=request.get("method") or self.method,
                genres=list(request.get("genres") or []),
            )
            answers.append(result.to_dict(self.recommender.titles))
        return answers


def _read_model(path: str, method: str) -> tuple[Any, Any]:
    """``(model, weights)`` for ``Recommender``: the weights read from the ``.keras`` file
    without TensorFlow when they can be, else the Keras model (the method's module is
    imported first, so that its custom layers are known)."""
    from movielens_sbr import methods
    from movielens_sbr.model.weights import StepWeights

    try:
        return None, StepWeights.read(path)
    except (NotImplementedError, KeyError, OSError, ValueError):
        import keras

        methods.get(method).build  # noqa: B018 - imports the module of its layers
        return keras.saving.load_model(path), None


def log_model(
    model_file: str, item_index_file: str, movies_file: str, kedro_version: str, method: str
) -> Any:
    """Log the pyfunc model of the trained ``method`` in the active MLflow run; returns
    MLflow's ModelInfo."""
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
        # Keyed by the method: MLflow logs the config as parameters of the run too, and
        # a run logs one model per trained method.
        model_config={method: {"kedro_version": kedro_version}},
        pip_requirements=requirements,
    )
