"""Side-by-side comparison of experiment variants (no Kedro imports).

A variant is the default parameters with a few keys changed; it is trained and evaluated
like the default model. Here its outputs become one summary, and the summaries one table
and a Markdown report that shows the metrics with intervals, the training time and exactly
the parameters that differ from the defaults.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

Z95 = 1.959964
_RECALL = re.compile(r"^recall@(\d+)$")


def summarise_variant(
    metrics: dict, sessions: dict, trained: dict[str, tuple[dict, dict]]
) -> dict[str, Any]:
    """What the report needs from one variant: its session parameters, its metrics and,
    for every method it trained (``trained``: name -> (its parameter section as
    ``{section: values}``, its training history)), the parameters and the training time."""
    return {
        "sessions": sessions,
        # Methods only: entries with a Recall@K (not "dataset" or other protocol notes).
        "metrics": {
            name: values
            for name, values in metrics.items()
            if isinstance(values, dict) and any(_RECALL.match(key) for key in values)
        },
        "dataset": metrics.get("dataset", {}),
        "trained": {
            name: {
                "parameters": parameters,
                "train_seconds": float(sum(e["train_seconds"] for e in history["epochs"])),
                "epochs": len(history["epochs"]),
                "best_epoch": history["best_epoch"],
            }
            for name, (parameters, history) in trained.items()
        },
    }


def changed_parameters(defaults: dict[str, dict], variant: dict[str, dict]) -> dict[str, Any]:
    """``section.key -> value`` for every key whose value differs from the defaults."""
    return {
        f"{section}.{key}": value
        for section, values in variant.items()
        for key, value in values.items()
        if defaults.get(section, {}).get(key) != value
    }


def wilson_interval(share: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (Recall@K is the share of hits)."""
    if n <= 0:
        return (np.nan, np.nan)
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def bounded_mean_interval(mean: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Normal interval of a mean of values in [0, 1], with the largest possible variance
    for that mean, m (1 - m): conservative for MRR, whose per-prediction values are not kept.
    """
    if n <= 0:
        return (np.nan, np.nan)
    half = z * np.sqrt(mean * (1 - mean) / n)
    return (max(0.0, mean - half), min(1.0, mean + half))


def _intervals(values: dict, k: int, n: int):
    """The evaluation's bootstrap intervals when it wrote them, else the approximations."""
    names = [f"{m}@{k}_ci_{side}" for m in ("recall", "mrr") for side in ("low", "high")]
    if all(name in values for name in names):
        recall_ci = (values[names[0]], values[names[1]])
        return recall_ci, (values[names[2]], values[names[3]]), "bootstrap"
    recall, mrr = values[f"recall@{k}"], values[f"mrr@{k}"]
    return wilson_interval(recall, n), bounded_mean_interval(mrr, n), "approximate"


def largest_k(summaries: dict[str, dict]) -> int:
    """The largest K with a Recall@K for every method each variant trained."""
    per_method = [
        {int(m.group(1)) for name in s["metrics"][method] if (m := _RECALL.match(name))}
        for s in summaries.values()
        for method in s["trained"]
    ]
    return max(set.intersection(*per_method))


def comparison_table(
    summaries: dict[str, dict], defaults: dict[str, dict], k: int | None = None
) -> pd.DataFrame:
    """One row per variant and method it trained: changed parameters (of the sessions and
    of that method's section), Recall@K and MRR@K with 95 % intervals, training time. The
    intervals treat predictions as independent; predictions of the same session are
    correlated, so the true intervals are somewhat wider.
    """
    k = largest_k(summaries) if k is None else k
    rows = []
    for variant, summary in summaries.items():
        n = int(summary["dataset"].get("test_predictions", 0))
        for method, trained in summary["trained"].items():
            values = summary["metrics"][method]
            recall, mrr = values[f"recall@{k}"], values[f"mrr@{k}"]
            recall_ci, mrr_ci, kind = _intervals(values, k, n)
            changes = changed_parameters(
                defaults, {"sessions": summary["sessions"], **trained["parameters"]}
            )
            rows.append(
                {
                    "variant": variant,
                    "method": method,
                    "changed": ", ".join(f"{key}={value}" for key, value in changes.items())
                    or "(defaults)",
                    f"recall@{k}": recall,
                    f"recall@{k}_low": recall_ci[0],
                    f"recall@{k}_high": recall_ci[1],
                    f"mrr@{k}": mrr,
                    f"mrr@{k}_low": mrr_ci[0],
                    f"mrr@{k}_high": mrr_ci[1],
                    "interval": kind,
                    "test_predictions": n,
                    "train_seconds": trained["train_seconds"],
                    "epochs": trained["epochs"],
                    "best_epoch": trained["best_epoch"],
                }
            )
    return pd.DataFrame(rows)


def baselines_table(
    summaries: dict[str, dict], defaults: dict[str, dict], k: int | None = None
) -> pd.DataFrame:
    """Recall@K / MRR@K on each distinct split of the variants of every method a variant
    did not train itself: the baselines, and the default run's models on the default split."""
    k = largest_k(summaries) if k is None else k
    rows = {}
    for summary in summaries.values():
        split = ", ".join(
            f"{key}={value}"
            for key, value in changed_parameters(
                {"sessions": defaults.get("sessions", {})}, {"sessions": summary["sessions"]}
            ).items()
        )
        for method, values in summary["metrics"].items():
            if method not in summary["trained"]:
                rows[(split or "(default split)", method)] = {
                    "split": split or "(default split)",
                    "method": method,
                    f"recall@{k}": values[f"recall@{k}"],
                    f"mrr@{k}": values[f"mrr@{k}"],
                }
    return pd.DataFrame(list(rows.values()))


def _markdown(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.to_numpy()]
    return "\n".join([header, rule, *body])


def _interval_note(table: pd.DataFrame, k: int) -> str:
    if (table["interval"] == "bootstrap").all():
        return "95 % intervals: the evaluation's bootstrap over test sessions."
    return (
        f"95 % intervals: the evaluation's bootstrap over test sessions where it wrote one; "
        f"otherwise Wilson score intervals for Recall@{k} and, for MRR@{k}, the largest "
        "variance a mean of values in [0, 1] can have, both treating predictions as "
        "independent (within a session they are not, so those are lower bounds on the "
        "uncertainty)."
    )


def markdown_report(table: pd.DataFrame, baselines: pd.DataFrame, k: int) -> str:
    """The comparison as Markdown: one row per variant, then the baselines per split."""
    shown = pd.DataFrame(
        {
            "variant": table["variant"],
            "method": table["method"],
            "changed parameters": table["changed"].str.replace("|", "\\|"),
            f"Recall@{k} [95 % CI]": [
                f"{r:.4f} [{lo:.4f}, {hi:.4f}]"
                for r, lo, hi in table[[f"recall@{k}", f"recall@{k}_low", f"recall@{k}_high"]]
                .to_numpy()
                .tolist()
            ],
            f"MRR@{k} [95 % CI]": [
                f"{r:.4f} [{lo:.4f}, {hi:.4f}]"
                for r, lo, hi in table[[f"mrr@{k}", f"mrr@{k}_low", f"mrr@{k}_high"]]
                .to_numpy()
                .tolist()
            ],
            "train s": table["train_seconds"].map("{:.1f}".format),
            "best epoch": [
                f"{b}/{e}" for b, e in zip(table["best_epoch"], table["epochs"], strict=True)
            ],
            "test predictions": table["test_predictions"].map("{:,}".format),
        }
    )
    lines = [
        "# Experiments",
        "",
        "Variants of the trained methods, each trained and evaluated on the test split like "
        f"the default models (`kedro run --pipelines experiments`). {_interval_note(table, k)} "
        "Training time is the sum of the epochs' wall-clock seconds (validation excluded).",
        "",
        _markdown(shown),
        "",
        "## Methods the variants did not train, on each split",
        "",
    ]
    if baselines.empty:
        lines.append("(no baselines evaluated)")
    else:
        lines.append(_markdown(baselines.round(4)))
    return "\n".join(lines) + "\n"
