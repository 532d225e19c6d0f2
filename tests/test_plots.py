"""Plots: each figure draws the data it was given, labelled so a reader can tell what it is."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from movielens_sbr.plots import (
    events_per_day,
    experiment_comparison,
    method_comparison,
    metric_breakdown,
    session_length_distribution,
    training_history,
    tuning_trials,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def bar_heights(ax) -> list[float]:
    return [patch.get_height() for patch in ax.containers[-1].patches]


def error_bounds(ax) -> np.ndarray:
    """(low, high) of each vertical error bar of the axes' bar chart, left to right."""
    (container,) = [c for c in ax.containers if hasattr(c, "has_yerr")]
    (segments,) = container.lines[2]
    return np.array([(low, high) for (_, low), (_, high) in segments.get_segments()])


def tick_labels(ax) -> list[str]:
    return [label.get_text() for label in ax.get_xticklabels()]


def legend_labels(legend) -> list[str]:
    return [text.get_text() for text in legend.get_texts()]


# session_length_distribution -------------------------------------------------------


@pytest.mark.parametrize("lengths", [[5, 1, 2, 1, 3, 8, 1], [2, 13, 3], [1, 1], [40, 4, 400, 17]])
def test_session_lengths_histogram_counts_every_session_in_its_bin(lengths):
    fig = session_length_distribution(np.array(lengths))
    ax = fig.axes[0]
    bars = ax.patches
    heights = [bar.get_height() for bar in bars]
    edges = [bar.get_x() for bar in bars] + [bars[-1].get_x() + bars[-1].get_width()]

    assert sum(heights) == len(lengths)  # the longest session is not dropped
    expected, _ = np.histogram(lengths, bins=edges)
    assert heights == list(expected)
    assert edges[0] <= min(lengths) and edges[-1] >= max(lengths)
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "session length (events)"
    assert ax.get_ylabel() == "sessions"


def test_session_lengths_cumulative_share_of_events_and_title():
    lengths = np.array([5, 1, 2, 1, 3, 8, 1])
    fig = session_length_distribution(lengths)
    _ax, share = fig.axes
    (line,) = share.get_lines()

    ordered = np.sort(lengths)
    np.testing.assert_array_equal(line.get_xdata(), ordered)
    np.testing.assert_allclose(line.get_ydata(), np.cumsum(ordered) / 21)
    assert line.get_ydata()[-1] == pytest.approx(1.0)
    assert share.get_ylabel() == "cumulative share of events"
    assert share.get_ylim() == (0, 1)
    assert fig.axes[0].get_title() == "7 sessions, median length 2"


# events_per_day -----------------------------------------------------------------------


def test_events_per_day_counts_each_day_and_marks_the_split_boundaries():
    timestamps = pd.Series(
        pd.to_datetime(
            [
                "2000-01-04 02:00",
                "2000-01-01 10:00",
                "2000-01-01 23:59",
                "2000-01-02 00:00",
                "2000-01-04 00:00",
                "2000-01-04 01:00",
            ]
        )
    )
    boundaries = {"valid starts": "2000-01-02", "test starts": "2000-01-04"}
    fig = events_per_day(timestamps, boundaries)
    (ax,) = fig.axes
    counts, *marks = ax.get_lines()

    days = pd.to_datetime(["2000-01-01", "2000-01-02", "2000-01-04"])
    np.testing.assert_array_equal(counts.get_xdata(orig=False), mdates.date2num(days))
    np.testing.assert_array_equal(counts.get_ydata(), [2, 1, 3])

    assert len(marks) == 2
    for mark, when in zip(marks, boundaries.values(), strict=True):
        position = mdates.date2num(pd.Timestamp(when))
        np.testing.assert_array_equal(mark.get_xdata(orig=False), [position, position])
        assert mark.get_linestyle() == "--"
    assert [text.get_text() for text in ax.texts] == list(boundaries)
    assert [mdates.date2num(text.xy[0]) for text in ax.texts] == [
        mdates.date2num(pd.Timestamp(when)) for when in boundaries.values()
    ]
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == "events per day"


# training_history -------------------------------------------------------------------


def test_training_history_draws_the_loss_and_each_validation_metric_per_epoch():
    history = [
        {"epoch": 1, "loss": 5.0, "seconds": 1.0, "valid_recall@20": 0.1, "valid_mrr@20": 0.02},
        {"epoch": 2, "loss": 4.0, "seconds": 1.0, "valid_recall@20": 0.3, "valid_mrr@20": 0.05},
        {"epoch": 3, "loss": 3.5, "seconds": 1.0, "valid_recall@20": 0.2, "valid_mrr@20": 0.04},
    ]
    fig = training_history(history)
    loss_ax, metric_ax = fig.axes

    (loss,) = loss_ax.get_lines()
    np.testing.assert_array_equal(loss.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(loss.get_ydata(), [5.0, 4.0, 3.5])
    assert loss_ax.get_ylabel() == "training loss"
    assert loss_ax.get_xlabel() == "epoch"

    metrics = {line.get_label(): line for line in metric_ax.get_lines()}
    assert set(metrics) == {"valid_recall@20", "valid_mrr@20"}  # not loss or seconds
    np.testing.assert_array_equal(metrics["valid_recall@20"].get_ydata(), [0.1, 0.3, 0.2])
    np.testing.assert_array_equal(metrics["valid_mrr@20"].get_ydata(), [0.02, 0.05, 0.04])
    np.testing.assert_array_equal(metrics["valid_recall@20"].get_xdata(), [1, 2, 3])
    assert sorted(legend_labels(metric_ax.get_legend())) == sorted(metrics)
    assert metric_ax.get_ylabel() == "validation metric"


def test_training_history_without_validation_has_no_metric_lines_or_legend():
    fig = training_history([{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.0}])
    loss_ax, metric_ax = fig.axes
    np.testing.assert_array_equal(loss_ax.get_lines()[0].get_ydata(), [2.0, 1.0])
    assert not metric_ax.get_lines()
    assert metric_ax.get_legend() is None


# method_comparison -------------------------------------------------------------------


def comparison_metrics(with_intervals: bool = True) -> dict:
    metrics = {
        "gru4rec": {"recall@10": 0.5, "mrr@10": 0.20},
        "pop": {"recall@10": 0.2, "mrr@10": 0.05},
        "markov": {"recall@10": 0.4, "mrr@10": 0.15},
        "dataset": {"test_events": 100},
        "protocol": {"comparison": {"method": "gru4rec"}},
    }
    if with_intervals:
        for method, values in list(metrics.items())[:3]:
            for name in ("recall@10", "mrr@10"):
                values[f"{name}_ci_low"] = values[name] - 0.01 * (len(method) % 4 + 1)
                values[f"{name}_ci_high"] = values[name] + 0.02
    return metrics


def test_method_comparison_draws_each_method_value_with_its_interval():
    metrics = comparison_metrics()
    fig = method_comparison(metrics, ["recall@10", "mrr@10"])
    methods = ["gru4rec", "pop", "markov"]  # dataset and protocol are not methods

    assert len(fig.axes) == 2
    for ax, name in zip(fig.axes, ["recall@10", "mrr@10"], strict=True):
        assert ax.get_title() == f"{name} (95 % CI)"
        assert tick_labels(ax) == methods
        assert bar_heights(ax) == pytest.approx([metrics[m][name] for m in methods])
        np.testing.assert_allclose(
            error_bounds(ax),
            [(metrics[m][f"{name}_ci_low"], metrics[m][f"{name}_ci_high"]) for m in methods],
        )
        labels = [f"{metrics[m][name]:.3f}" for m in methods]
        assert [text.get_text() for text in ax.texts] == labels


def test_method_comparison_without_intervals_draws_plain_bars():
    metrics = comparison_metrics(with_intervals=False)
    fig = method_comparison(metrics, ["recall@10"])
    (ax,) = fig.axes
    assert ax.get_title() == "recall@10"
    assert bar_heights(ax) == pytest.approx([0.5, 0.2, 0.4])
    assert not [c for c in ax.containers if hasattr(c, "has_yerr")]


# metric_breakdown --------------------------------------------------------------------


def breakdown_table() -> pd.DataFrame:
    rows = []
    values = {"gru4rec": [0.3, 0.4], "pop": [0.1, 0.1], "spop": [0.1, 0.1]}
    predictions = {"position": [30, 12], "session_length": [7, 35]}
    for by in ("position", "session_length"):
        for order, bucket in enumerate(["1", "2+"]):
            for method, recalls in values.items():
                rows.append(
                    {
                        "method": method,
                        "by": by,
                        "bucket": bucket,
                        "order": order,
                        "predictions": predictions[by][order],
                        "recall@20": recalls[order] + (0.05 if by == "session_length" else 0),
                    }
                )
    return pd.DataFrame(rows)


def test_breakdown_draws_a_line_identical_to_an_earlier_one_dashed_and_names_it():
    fig = metric_breakdown(breakdown_table(), "recall@20")
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert set(lines) == {"gru4rec", "pop", "spop (= pop)"}
    assert lines["spop (= pop)"].get_linestyle() == "--"
    assert lines["pop"].get_linestyle() == "-"
    assert lines["gru4rec"].get_linestyle() == "-"


def test_breakdown_draws_each_method_metric_and_the_predictions_per_bucket():
    table = breakdown_table()
    fig = metric_breakdown(table, "recall@20")
    position_ax, length_ax = fig.axes[:2]
    position_counts, length_counts = fig.axes[2:]  # the twin axes with the grey bars

    for ax, counts, by in (
        (position_ax, position_counts, "position"),
        (length_ax, length_counts, "session_length"),
    ):
        part = table[table["by"] == by]
        assert len(ax.get_lines()) == 3
        for line in ax.get_lines():
            method = line.get_label().split(" ")[0]
            rows = part[part["method"] == method].sort_values("order")
            np.testing.assert_array_equal(line.get_xdata(), rows["order"])
            np.testing.assert_allclose(line.get_ydata(), rows["recall@20"])
        assert [p.get_height() for p in counts.patches] == list(
            part.drop_duplicates("order")["predictions"]
        )
        assert tick_labels(ax) == ["1", "2+"]
        assert ax.get_ylabel() == "recall@20"
        assert counts.get_ylabel() == "predictions"
    assert position_ax.get_xlabel() == "prediction position (events seen)"
    assert length_ax.get_xlabel() == "session length"
    (legend,) = fig.legends
    assert legend_labels(legend) == ["gru4rec", "pop", "spop (= pop)"]


# tuning_trials -----------------------------------------------------------------------


def trials_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trial": [0, 1, 2, 3, 4],
            "valid_recall@20": [0.2, 0.1, 0.3, 0.25, 0.35],
            "state": ["complete", "pruned", "complete", "complete", "pruned"],
            "epochs_run": [3, 1, 3, 3, 2],
            "param_layer_size": [8, 16, 8, 4, 16],
            "param_loss": ["bpr-max", "top1-max", "bpr-max", "cross_entropy", "top1-max"],
        }
    )


def test_tuning_history_separates_complete_and_pruned_trials_and_steps_the_best_so_far():
    trials = trials_table()
    fig = tuning_trials(trials)
    history = fig.axes[0]
    complete, pruned = history.collections

    np.testing.assert_array_equal(complete.get_offsets(), [[0, 0.2], [2, 0.3], [3, 0.25]])
    np.testing.assert_array_equal(pruned.get_offsets(), [[1, 0.1], [4, 0.35]])
    (best,) = history.get_lines()
    np.testing.assert_array_equal(best.get_xdata(), [0, 1, 2, 3, 4])
    # Pruned trials do not count, and the line does not break at them.
    np.testing.assert_array_equal(best.get_ydata(), [0.2, 0.2, 0.3, 0.3, 0.3])
    assert history.get_title() == "5 trials, best 0.3000"
    assert history.get_ylabel() == "valid_recall@20"
    assert legend_labels(history.get_legend()) == [
        "complete",
        "pruned (best epoch reached)",
        "best so far",
    ]


def test_tuning_draws_the_metric_against_each_option():
    trials = trials_table()
    fig = tuning_trials(trials)
    options = {ax.get_title(): ax for ax in fig.axes[1:]}
    assert set(options) == {"layer_size", "loss"}  # epochs_run and state are not options

    (numeric,) = options["layer_size"].collections
    expected = np.column_stack([trials["param_layer_size"], trials["valid_recall@20"]])
    np.testing.assert_array_equal(numeric.get_offsets(), expected)
    (categorical,) = options["loss"].collections
    labels = ["bpr-max", "cross_entropy", "top1-max"]
    assert tick_labels(options["loss"]) == labels
    positions = [labels.index(value) for value in trials["param_loss"]]
    np.testing.assert_array_equal(
        categorical.get_offsets(), np.column_stack([positions, trials["valid_recall@20"]])
    )


# experiment_comparison ---------------------------------------------------------------


def test_experiment_comparison_draws_each_variant_with_its_interval_and_time():
    table = pd.DataFrame(
        {
            "variant": ["bpr-max", "cross_entropy", "max_len_50"],
            "method": ["gru4rec", "gru4rec", "sasrec"],
            "recall@20": [0.30, 0.35, 0.28],
            "recall@20_low": [0.28, 0.33, 0.25],
            "recall@20_high": [0.33, 0.36, 0.30],
            "mrr@20": [0.10, 0.12, 0.09],
            "mrr@20_low": [0.09, 0.11, 0.08],
            "mrr@20_high": [0.12, 0.13, 0.095],
            "train_seconds": [12.0, 30.5, 11.0],
        }
    )
    fig = experiment_comparison(table, k=20)
    recall_ax, mrr_ax, time_ax = fig.axes

    for ax, name in ((recall_ax, "recall@20"), (mrr_ax, "mrr@20")):
        assert ax.get_title() == f"{name} (95 % interval)"
        assert bar_heights(ax) == pytest.approx(list(table[name]))
        np.testing.assert_allclose(error_bounds(ax), table[[f"{name}_low", f"{name}_high"]])
    assert time_ax.get_title() == "training time (s)"
    assert bar_heights(time_ax) == pytest.approx([12.0, 30.5, 11.0])
    for ax in fig.axes:
        assert tick_labels(ax) == [
            "bpr-max (gru4rec)",
            "cross_entropy (gru4rec)",
            "max_len_50 (sasrec)",
        ]
