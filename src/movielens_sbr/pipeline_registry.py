"""The project's pipelines: ``kedro run --pipeline NAME``; ``__default__`` runs all four."""

from kedro.pipeline import Pipeline

from movielens_sbr.pipelines import evaluation, ingestion, sessions, training


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {
        "ingestion": ingestion.create_pipeline(),
        "sessions": sessions.create_pipeline(),
        "training": training.create_pipeline(),
        "evaluation": evaluation.create_pipeline(),
    }
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    return pipelines
