"""Figures for the reports (matplotlib, headless; no Kedro imports)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def session_length_distribution(lengths: np.ndarray) -> plt.Figure:
    """Histogram of session lengths (log bins) with the cumulative share of events."""
    lengths = np.sort(np.asarray(lengths))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    top = max(lengths.max(), 2)
    # The longest session is an edge of its own: truncating 10**log10(top) (7.99.. for 8)
    # would leave it out of the last bin.
    bins = np.unique(np.append(np.logspace(0, np.log10(top), 40).astype(int), top))
    ax.hist(lengths, bins=bins, color="tab:blue", alpha=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("session length (events)")
    ax.set_ylabel("sessions")
    share = ax.twinx()
    share.plot(lengths, np.cumsum(lengths) / lengths.sum(), color="tab:red")
    share.set_ylabel("cumulative share of events", color="tab:red")
    share.set_ylim(0, 1)
    ax.set_title(f"{len(lengths):,} sessions, median length {np.median(lengths):.0f}")
    fig.tight_layout()
    return fig


def events_per_day(timestamps: pd.Series, boundaries: dict[str, str]) -> plt.Figure:
    """Events per day with the train/valid/test boundaries marked."""
    days = pd.to_datetime(timestamps).dt.floor("D").value_counts().sort_index()
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(days.index, days.to_numpy(), lw=0.8)
    ax.set_yscale("log")
    for label, when in boundaries.items():
        ax.axvline(pd.Timestamp(when), color="k", ls="--", lw=1)
        ax.annotate(label, (pd.Timestamp(when), days.max()), rotation=90, va="top", ha="right")
    ax.set_ylabel("events per day")
    ax.set_title("Events per day and split boundaries")
    fig.tight_layout()
    return fig


def training_history(history: list[dict]) -> plt.Figure:
    """Training loss and validation metrics per epoch."""
    frame = pd.DataFrame(history)
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(frame["epoch"], frame["loss"], marker="o")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("training loss")
    for column in [c for c in frame.columns if c.startswith("valid_")]:
        metric_ax.plot(frame["epoch"], frame[column], marker="o", label=column)
    metric_ax.set_xlabel("epoch")
    metric_ax.set_ylabel("validation metric")
    if metric_ax.lines:
        metric_ax.legend()
    fig.tight_layout()
    return fig


def method_comparison(metrics: dict[str, dict], names: list[str]) -> plt.Figure:
    """Grouped bars: one panel per metric, one bar per method, with the 95 % interval.

    Intervals are drawn when the metrics carry ``<name>_ci_low`` / ``<name>_ci_high``.
    """
    methods = [
        m
        for m, values in metrics.items()
        if isinstance(values, dict) and m not in ("dataset", "protocol")
    ]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        values = np.array([metrics[m].get(name, np.nan) for m in methods], dtype=float)
        low = np.array([metrics[m].get(f"{name}_ci_low", np.nan) for m in methods], dtype=float)
        high = np.array([metrics[m].get(f"{name}_ci_high", np.nan) for m in methods], dtype=float)
        errors = None
        if np.isfinite(low).all() and np.isfinite(high).all():
            errors = np.vstack([values - low, high - values])
        ax.bar(
            methods,
            values,
            yerr=errors,
            capsize=3,
            color=plt.cm.tab10(np.arange(len(methods)) % 10),
        )
        ax.set_title(name + (" (95 % CI)" if errors is not None else ""))
        ax.tick_params(axis="x", rotation=30)
        for x, value in enumerate(values):
            top = high[x] if errors is not None else value
            ax.annotate(f"{value:.3f}", (x, top), ha="center", va="bottom", fontsize=7)
    fig.tight_layout()
    return fig


def metric_breakdown(table: pd.DataFrame, metric: str) -> plt.Figure:
    """``metric`` by prediction position and by session length bucket, a line per method.

    Grey bars (right axis) show how many predictions each bucket holds.
    """
    groups = [
        ("position", "prediction position (events seen)"),
        ("session_length", "session length"),
    ]
    methods = list(dict.fromkeys(table["method"]))  # one colour per method in both panels
    colours = dict(zip(methods, plt.cm.tab10(np.arange(len(methods)) % 10), strict=True))
    values = table.pivot_table(index=["by", "order"], columns="method", values=metric)
    same_as = {
        method: earlier
        for i, method in enumerate(methods)
        for earlier in methods[:i][::-1]
        if np.allclose(values[method], values[earlier], equal_nan=True)
    }
    fig, axes = plt.subplots(1, len(groups), figsize=(12, 5), squeeze=False)
    for ax, (by, label) in zip(axes[0], groups, strict=True):
        part = table[table["by"] == by].sort_values("order", kind="stable")
        buckets = part.drop_duplicates("order")
        counts = ax.twinx()
        counts.bar(buckets["order"], buckets["predictions"], color="0.85", width=0.6, zorder=0)
        counts.set_ylabel("predictions", color="0.5")
        ax.set_zorder(counts.get_zorder() + 1)
        ax.patch.set_visible(False)
        for method in methods:
            rows = part[part["method"] == method]
            twin = same_as.get(method)
            ax.plot(
                rows["order"],
                rows[metric],
                marker="o",
                label=method if twin is None else f"{method} (= {twin})",
                color=colours[method],
                # A line identical to an earlier one (S-POP is POP once seen items are
                # excluded) is dashed over it, so that neither seems to be missing.
                linestyle="-" if twin is None else "--",
                markerfacecolor=None if twin is None else "none",
            )
        ax.set_xticks(buckets["order"], buckets["bucket"])
        ax.set_xlabel(label)
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} by {label}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(methods), 9), fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def tuning_trials(trials: pd.DataFrame) -> plt.Figure:
    """Search history (each trial and the best so far) and the metric against each option."""
    metric = next(column for column in trials.columns if column.startswith("valid_"))
    options = [column for column in trials.columns if column.startswith("param_")]
    n_cols = 4
    n_rows = 1 + -(-len(options) // n_cols)
    fig = plt.figure(figsize=(12, 3 * n_rows))
    grid = fig.add_gridspec(n_rows, n_cols)
    history = fig.add_subplot(grid[0, :])
    done = trials["state"] == "complete"
    history.scatter(trials["trial"][done], trials[metric][done], label="complete", s=18)
    history.scatter(
        trials["trial"][~done],
        trials[metric][~done],
        label="pruned (best epoch reached)",
        marker="x",
        color="tab:gray",
        s=18,
    )
    history.step(
        trials["trial"],
        trials[metric].where(done).cummax().ffill(),  # pruned trials keep the best so far
        where="post",
        color="tab:red",
        label="best so far",
    )
    history.set_xlabel("trial")
    history.set_ylabel(metric)
    history.legend(loc="lower right")
    history.set_title(f"{len(trials)} trials, best {trials[metric][done].max():.4f}")
    for i, column in enumerate(options):
        ax = fig.add_subplot(grid[1 + i // n_cols, i % n_cols])
        values = trials[column]
        if pd.api.types.is_numeric_dtype(values):
            ax.scatter(
                values, trials[metric], s=12, c=done.map({True: "tab:blue", False: "tab:gray"})
            )
        else:
            labels = sorted(values.dropna().astype(str).unique())
            positions = values.astype(str).map({label: j for j, label in enumerate(labels)})
            ax.scatter(
                positions, trials[metric], s=12, c=done.map({True: "tab:blue", False: "tab:gray"})
            )
            ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
        ax.set_title(column.removeprefix("param_"), fontsize=9)
    fig.tight_layout()
    return fig


def experiment_comparison(table: pd.DataFrame, k: int) -> plt.Figure:
    """Recall@K and MRR@K with 95 % intervals, and training time, one bar per variant and
    method it trained."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    x = np.arange(len(table))
    colors = plt.cm.tab10(x % 10)
    for ax, name in zip(axes[:2], (f"recall@{k}", f"mrr@{k}"), strict=True):
        values = table[name].to_numpy()
        errors = np.vstack([values - table[f"{name}_low"], table[f"{name}_high"] - values])
        ax.bar(x, values, yerr=errors, capsize=4, color=colors)
        ax.set_title(f"{name} (95 % interval)")
    axes[2].bar(x, table["train_seconds"], color=colors)
    axes[2].set_title("training time (s)")
    labels = table["variant"] + " (" + table["method"] + ")"
    for ax in axes:
        ax.set_xticks(x, labels, rotation=30, ha="right")
    fig.tight_layout()
    return fig
