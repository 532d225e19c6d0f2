"""Experiments: the training and evaluation pipelines again, once per variant.

Each variant is a namespace ``experiments.<variant>`` wrapping the same pipeline factories
as the default run (no copied code), with its own parameters from
conf/base/parameters_experiments.yml: ``experiments.<variant>.<section>`` for the
sections it changes. A variant that changes a trained method's section trains that method
(its training pipeline, ``movielens_sbr.methods``) and evaluates it beside the default
run's other models; a variant that changes ``sessions`` builds new splits and trains every
trained method on them. All variants share the seed and the evaluation settings
``experiments.evaluation``; one node compares them.
"""

import yaml
from kedro.pipeline import Node, Pipeline

from movielens_sbr import methods
from movielens_sbr.params import CONF_BASE
from movielens_sbr.pipelines import evaluation, sessions, training
from movielens_sbr.pipelines.experiments.nodes import report_experiments, summarise_variant


def _variants() -> dict[str, tuple[str, ...]]:
    """Variant name -> the parameter sections it sets itself, from the keys of
    ``experiments`` in conf/base/parameters_experiments.yml (``evaluation`` is shared)."""
    text = (CONF_BASE / "parameters_experiments.yml").read_text(encoding="utf-8")
    variants = yaml.safe_load(text)["experiments"]
    return {name: tuple(sections) for name, sections in variants.items() if name != "evaluation"}


VARIANTS: dict[str, tuple[str, ...]] = _variants()


def trained_by(sections: tuple[str, ...]) -> list[methods.Method]:
    """The trained methods a variant setting ``sections`` trains itself."""
    return [m for m in methods.trained() if "sessions" in sections or m.section in sections]


def _summary(trained: list[methods.Method]) -> Pipeline:
    inputs = {"metrics": "metrics", "sessions": "params:sessions"}
    for method in trained:
        inputs[f"{method.name}_history"] = method.history_dataset
        inputs[f"{method.name}_parameters"] = f"params:{method.section}"
    return Pipeline([Node(summarise_variant, inputs, "summary", name="summarise_variant")])


def variant_pipeline(name: str, sections: tuple[str, ...]) -> Pipeline:
    """The training pipelines of the methods it trains, evaluation (and sessions first when
    it changes them) under the namespace ``experiments.<name>``; the models it does not
    train are the default run's."""
    trained = trained_by(sections)
    base = sum((training.create_pipeline(m.name) for m in trained), Pipeline([]))
    base += evaluation.create_pipeline() + _summary(trained)
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
            "parameters": "parameters",
            **{name: f"experiments.{name}.summary" for name in VARIANTS},
        },
        ["experiments_report", "experiments_comparison", "experiments_plot"],
        name="report_experiments",
        tags=["experiments", "plots"],
        namespace="experiments",
    )
    variants = [variant_pipeline(name, sections) for name, sections in VARIANTS.items()]
    return Pipeline([*variants, report])
