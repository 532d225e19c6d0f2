"""Experiments: the training and evaluation pipelines again, once per variant.

Each variant is a namespace ``experiments.<variant>`` wrapping the same pipeline factories
as the default run (no copied code), with its own parameters
(``experiments.<variant>.training`` and, for a session variant, ``...sessions``) from
conf/base/parameters_experiments.yml. Its datasets are ``experiments.<variant>.<name>``,
stored through the catalog's ``experiments.{variant}.*`` patterns. All variants share the
seed and the evaluation settings ``experiments.evaluation``; one node compares them.
"""

from kedro.pipeline import Node, Pipeline

from movielens_sbr.pipelines import evaluation, sessions, training
from movielens_sbr.pipelines.experiments.nodes import report_experiments, summarise_variant

# Variant name -> the parameter sections it sets itself. Variants that do not set
# `sessions` reuse the default splits; the others rebuild the sessions first.
VARIANTS: dict[str, tuple[str, ...]] = {
    "loss_cross_entropy": ("training",),
    "loss_sampled_cross_entropy": ("training",),
    "loss_bpr_max": ("training",),
    "embedding_separate": ("training",),
    "sessions_user": ("sessions", "training"),
    "gru4rec_original": ("training",),
}


def _summary() -> Pipeline:
    return Pipeline(
        [
            Node(
                summarise_variant,
                ["metrics", "training_history", "params:training", "params:sessions"],
                "summary",
                name="summarise_variant",
            )
        ]
    )


def variant_pipeline(name: str, sections: tuple[str, ...]) -> Pipeline:
    """training + evaluation (+ sessions) under the namespace ``experiments.<name>``."""
    base = training.create_pipeline() + evaluation.create_pipeline() + _summary()
    if "sessions" in sections:
        base = sessions.create_pipeline() + base
    free = base.inputs()
    shared_data = {d for d in free if not d.startswith("params:")}
    params = {p.removeprefix("params:") for p in free if p.startswith("params:")}
    shared_params = {p: p for p in params - set(sections) - {"evaluation"}}
    return Pipeline(
        base,
        namespace=f"experiments.{name}",
        inputs=shared_data,
        parameters={**shared_params, "evaluation": "experiments.evaluation"},
        tags="experiments",
    )


def create_pipeline(**kwargs) -> Pipeline:
    report = Node(
        report_experiments,
        {
            "training": "params:training",
            "sessions": "params:sessions",
            **{name: f"experiments.{name}.summary" for name in VARIANTS},
        },
        ["experiments_report", "experiments_comparison", "experiments_plot"],
        name="report_experiments",
        tags=["experiments", "plots"],
        namespace="experiments",
    )
    variants = [variant_pipeline(name, sections) for name, sections in VARIANTS.items()]
    return Pipeline([*variants, report])
