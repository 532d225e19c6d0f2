"""The experiment comparison: changed parameters, intervals, table and report."""

from __future__ import annotations

import pytest

from movielens_sbr import experiments, plots

DEFAULTS = {"training": {"loss": "bpr_max", "epochs": 8}, "sessions": {"session_mode": "gap"}}


def summary(recall: float, mrr: float, n: int = 1000, **changes) -> dict:
    training = DEFAULTS["training"] | changes.get("training", {})
    sessions = DEFAULTS["sessions"] | changes.get("sessions", {})
    return experiments.summarise_variant(
        {
            "gru4rec": {"recall@5": recall / 2, "mrr@5": mrr, "recall@20": recall, "mrr@20": mrr},
            "other": {"recall@5": 0.1, "mrr@5": 0.02, "recall@20": 0.2, "mrr@20": 0.04},
            "pop": {"recall@5": 0.01, "mrr@5": 0.005, "recall@20": 0.03, "mrr@20": 0.01},
            "dataset": {"test_predictions": n},
        },
        sessions,
        {
            "gru4rec": (
                {"training": training},
                {"best_epoch": 2, "epochs": [{"train_seconds": 1.5}, {"train_seconds": 2.5}]},
            )
        },
    )


def test_summary_adds_the_epochs_training_time():
    s = summary(0.2, 0.05)
    trained = s["trained"]["gru4rec"]
    assert trained["train_seconds"] == 4.0 and trained["epochs"] == 2
    assert trained["best_epoch"] == 2
    assert "dataset" not in s["metrics"]


def test_only_the_keys_that_differ_are_listed():
    changed = experiments.changed_parameters(
        DEFAULTS, {"training": {"loss": "cross_entropy", "epochs": 8}, "sessions": {}}
    )
    assert changed == {"training.loss": "cross_entropy"}


def test_wilson_interval_matches_the_textbook_value():
    # 50 hits out of 100: the Wilson 95 % interval is [0.4038, 0.5962].
    low, high = experiments.wilson_interval(0.5, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    low, high = experiments.wilson_interval(0.0, 50)
    assert low == 0.0 and 0 < high < 0.1


def test_bounded_mean_interval_narrows_with_more_predictions():
    wide = experiments.bounded_mean_interval(0.05, 100)
    narrow = experiments.bounded_mean_interval(0.05, 10_000)
    assert wide[0] <= narrow[0] < 0.05 < narrow[1] <= wide[1]


def test_table_report_and_plot():
    summaries = {
        "ce": summary(0.18, 0.04, training={"loss": "cross_entropy"}),
        "bpr": summary(0.21, 0.05),
        "user": summary(0.15, 0.03, n=500, sessions={"session_mode": "user"}),
    }
    assert experiments.largest_k(summaries) == 20
    table = experiments.comparison_table(summaries, DEFAULTS)
    assert table["variant"].tolist() == ["ce", "bpr", "user"]
    assert table["method"].tolist() == ["gru4rec"] * 3
    assert table["changed"].tolist() == [
        "training.loss=cross_entropy",
        "(defaults)",
        "sessions.session_mode=user",
    ]
    assert (table["recall@20_low"] < table["recall@20"]).all()
    assert (table["recall@20"] < table["recall@20_high"]).all()
    # Fewer predictions, wider interval.
    widths = table["recall@20_high"] - table["recall@20_low"]
    assert widths.iloc[2] > widths.iloc[1]

    baselines = experiments.baselines_table(summaries, DEFAULTS)
    # The methods the variants did not train ("other" stands for the default run's other
    # model), once per split.
    user = "sessions.session_mode=user"
    assert baselines["split"].tolist() == ["(default split)"] * 2 + [user] * 2
    assert baselines["method"].tolist() == ["other", "pop"] * 2

    report = experiments.markdown_report(table, baselines, 20)
    assert "| ce | gru4rec | training.loss=cross_entropy | 0.1800 [" in report
    assert "| bpr | gru4rec | (defaults) | 0.2100 [" in report
    assert "## Methods the variants did not train, on each split" in report
    figure = plots.experiment_comparison(table, 20)
    assert len(figure.axes) == 3


def test_bootstrap_intervals_of_the_evaluation_are_used_when_present():
    s = summary(0.2, 0.05)
    s["metrics"]["gru4rec"].update(
        {"recall@20_ci_low": 0.19, "recall@20_ci_high": 0.22, "mrr@20_ci_low": 0.04}
    )
    s["metrics"]["gru4rec"]["mrr@20_ci_high"] = 0.06
    table = experiments.comparison_table({"bpr": s}, DEFAULTS)
    assert table.loc[0, ["recall@20_low", "recall@20_high"]].tolist() == [0.19, 0.22]
    assert table.loc[0, "interval"] == "bootstrap"
    report = experiments.markdown_report(
        table, experiments.baselines_table({"bpr": s}, DEFAULTS), 20
    )
    assert "bootstrap over test sessions." in report


def test_entries_that_are_not_methods_are_left_out():
    metrics = {"gru4rec": {"recall@20": 0.2, "mrr@20": 0.05}, "protocol": {"ties": "x"}}
    s = experiments.summarise_variant(metrics, {}, {})
    assert set(s["metrics"]) == {"gru4rec"}
