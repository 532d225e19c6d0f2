"""The project's pipelines: ``kedro run --pipelines NAME``; ``__default__`` runs the five
main ones (ingestion, sessions, training, evaluation, recommending); ``tuning`` and
``experiments`` (variants side by side) run only on request."""

from kedro.pipeline import Pipeline

from movielens_sbr.pipelines import (
    evaluation,
    experiments,
    ingestion,
    recommending,
    sessions,
    training,
    tuning,
)


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {
        "ingestion": ingestion.create_pipeline(),
        "sessions": sessions.create_pipeline(),
        "training": training.create_pipeline(),
        "evaluation": evaluation.create_pipeline(),
        "recommending": recommending.create_pipeline(),
    }
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    pipelines["tuning"] = tuning.create_pipeline()
    pipelines["experiments"] = experiments.create_pipeline()
    return pipelines
