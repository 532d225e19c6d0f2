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
    training,
    tuning,
)


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {
        "ingestion": ingestion.create_pipeline(),
        "sessions": sessions.create_pipeline(),
        "evaluation": evaluation.create_pipeline(),
        "recommending": recommending.create_pipeline(),
    }
    for method in methods.trained():
        # The section names the training pipeline and the history dataset: a shared one
        # would silently replace a pipeline here and give two nodes one output.
        if method.section in {*pipelines, "tuning", "experiments", "__default__"}:
            raise ValueError(
                f"The trained method {method.name!r} has the parameter section "
                f"{method.section!r}, which already names a pipeline: give it a section of "
                "its own (conf/base/parameters_<section>.yml) in movielens_sbr/methods.py"
            )
        pipelines[method.section] = training.create_pipeline(method.name)
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    pipelines["tuning"] = tuning.create_pipeline()
    pipelines["experiments"] = experiments.create_pipeline()
    return pipelines
