"""Run records for experiment tracking, and a table comparing runs (no Kedro imports).

Every `kedro run` leaves one record: when it ran, which pipelines, the git commit, the
parameters, the metrics it produced and where its model was saved. Records are plain JSON,
so runs can be compared without a tracking server.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from movielens_sbr.provenance import git_state  # the same commit/dirty state as the run manifest

__all__ = ["flatten", "git_state", "run_record", "runs_markdown", "runs_table"]


def flatten(values: dict, prefix: str = "") -> dict[str, Any]:
    """``{"training": {"loss": "x"}}`` -> ``{"training.loss": "x"}`` (lists stay values)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def run_record(
    run_id: str,
    started: str,
    finished: str,
    pipelines: list[str],
    parameters: dict,
    metrics: dict[str, dict],
    models: dict[str, str],
    git: dict[str, Any],
    runtime_params: dict | None = None,
) -> dict[str, Any]:
    """One run: ``metrics`` maps each metrics dataset to its content, ``models`` each model
    dataset to the file it was saved to."""
    return {
        "run_id": run_id,
        "started": started,
        "finished": finished,
        "pipelines": pipelines,
        "git": git,
        "runtime_params": runtime_params or {},
        "parameters": parameters,
        "metrics": metrics,
        "models": models,
    }


def runs_table(records: list[dict], metric_names: tuple[str, ...] = ("recall@20", "mrr@20")):
    """One row per (run, metrics dataset, method): the run's parameters that differ between
    runs, and the chosen metrics."""
    params = [flatten(r["parameters"]) for r in records]
    keys = sorted({k for p in params for k in p})
    varying = [k for k in keys if len({repr(p.get(k)) for p in params}) > 1]
    rows = []
    for record, flat in zip(records, params, strict=True):
        for dataset, methods in sorted(record["metrics"].items()):
            for method, values in methods.items():
                if not isinstance(values, dict) or not any(n in values for n in metric_names):
                    continue  # "dataset", protocol notes: not a method
                rows.append(
                    {
                        "run": record["run_id"],
                        "commit": (record["git"].get("commit") or "")[:8]
                        + ("+" if record["git"].get("dirty") else ""),
                        "pipelines": ",".join(record["pipelines"]) or "__default__",
                        "metrics": dataset,
                        "method": method,
                        **{name: values.get(name) for name in metric_names},
                        **{k: flat.get(k) for k in varying},
                    }
                )
    return pd.DataFrame(rows)


def runs_markdown(records: list[dict]) -> str:
    """All recorded runs as a Markdown table, newest first."""
    table = runs_table(records)
    lines = [
        "# Recorded runs",
        "",
        "One row per run, metrics dataset and method; the columns after the metrics are the",
        "parameters that differ between runs. Records: `runs/<run id>.json`.",
        "",
    ]
    if table.empty:
        return "\n".join([*lines, "(no run with metrics yet)", ""])
    table = table.sort_values("run", ascending=False, kind="stable")
    cells = (
        table.astype(object)
        .where(table.notna(), "")
        .map(lambda v: f"{v:.4f}" if isinstance(v, float) else str(v).replace("|", "\\|"))
    )
    lines.append("| " + " | ".join(cells.columns) + " |")
    lines.append("| " + " | ".join("---" for _ in cells.columns) + " |")
    lines.extend("| " + " | ".join(row) + " |" for row in cells.to_numpy().tolist())
    return "\n".join(lines) + "\n"
