"""Experiment nodes: one summary per variant, then the comparison report."""

from typing import Any

from movielens_sbr import experiments

# A matplotlib Figure: pyplot is imported only when a plot node runs.
Figure = Any


def summarise_variant(
    metrics: dict, training_history: dict, training_params: dict, sessions_params: dict
) -> dict:
    """Parameters, metrics and training time of one variant."""
    return experiments.summarise_variant(
        metrics, training_history, training_params, sessions_params
    )


def report_experiments(
    training: dict, sessions: dict, **summaries: dict
) -> tuple[str, dict, Figure]:
    """Markdown report, the table as JSON, and a plot of every variant (keyword = variant)."""
    from movielens_sbr import plots  # pyplot loads only when this node runs

    defaults = {"training": training, "sessions": sessions}
    k = experiments.largest_k(summaries)
    table = experiments.comparison_table(summaries, defaults, k)
    baselines = experiments.baselines_table(summaries, defaults, k)
    comparison = {
        "k": k,
        "variants": table.to_dict(orient="records"),
        "baselines": baselines.to_dict(orient="records"),
        "parameters": {
            name: {"sessions": s["sessions"], "training": s["training"]}
            for name, s in summaries.items()
        },
    }
    report = experiments.markdown_report(table, baselines, k)
    return report, comparison, plots.experiment_comparison(table, k)
