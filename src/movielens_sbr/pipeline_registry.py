"""The project's pipelines: ``kedro run --pipelines NAME``; ``__default__`` runs the main
ones: ingestion, sessions, the training pipeline of every trained method of
``movielens_sbr.methods`` (named after its parameter section: ``training``, ``sasrec``),
evaluation and recommending; ``tuning`` and ``experiments`` (variants side by side) run
only on request."""

from kedro.pipeline import Pipeline

from movielens_sbr import methods
from movielens_sbr.pipelines import (
    evaluation,
    experiments,
    ingestion,
    recommending,
    sessions,
    training_pipeline,
    tuning,
)


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {
        "ingestion": ingestion.create_pipeline(),
        "sessions": sessions.create_pipeline(),
        **{method.section: training_pipeline(method) for method in methods.trained()},
        "evaluation": evaluation.create_pipeline(),
        "recommending": recommending.create_pipeline(),
    }
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    pipelines["tuning"] = tuning.create_pipeline()
    pipelines["experiments"] = experiments.create_pipeline()
    return pipelines
