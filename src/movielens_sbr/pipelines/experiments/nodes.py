"""Experiment nodes: one summary per variant, then the comparison report."""

from typing import Any

from movielens_sbr import experiments, methods

# A matplotlib Figure: pyplot is imported only when a plot node runs.
Figure = Any


def summarise_variant(metrics: dict, sessions: dict, **trained: dict) -> dict:
    """Parameters, metrics and training time of one variant; ``trained`` holds, for every
    method the variant trained, ``<name>_parameters`` (its section) and ``<name>_history``."""
    return experiments.summarise_variant(
        metrics,
        sessions,
        {
            method.name: (
                {method.section: trained[f"{method.name}_parameters"]},
                trained[f"{method.name}_history"],
            )
            for method in methods.trained()
            if f"{method.name}_history" in trained
        },
    )


def report_experiments(parameters: dict, **summaries: dict) -> tuple[str, dict, Figure]:
    """Markdown report, the table as JSON, and a plot of every variant (keyword = variant);
    ``parameters`` (every parameter of the run) gives the defaults the variants change."""
    from movielens_sbr import plots  # pyplot loads only when this node runs

    sections = ["sessions", *(method.section for method in methods.trained())]
    defaults = {section: parameters[section] for section in sections}
    k = experiments.largest_k(summaries)
    table = experiments.comparison_table(summaries, defaults, k)
    baselines = experiments.baselines_table(summaries, defaults, k)
    comparison = {
        "k": k,
        "variants": table.to_dict(orient="records"),
        "baselines": baselines.to_dict(orient="records"),
        "parameters": {
            name: {
                "sessions": s["sessions"],
                **{
                    section: values
                    for trained in s["trained"].values()
                    for section, values in trained["parameters"].items()
                },
            }
            for name, s in summaries.items()
        },
    }
    report = experiments.markdown_report(table, baselines, k)
    return report, comparison, plots.experiment_comparison(table, k)
