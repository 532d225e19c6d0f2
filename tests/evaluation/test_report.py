"""The Markdown report: tables, links to the plots of the same run, the checks."""

from __future__ import annotations

import numpy as np

from movielens_sbr.evaluation import report
from movielens_sbr.evaluation.evaluator import Predictions
from movielens_sbr.evaluation.protocol import MethodRun, breakdown, summarise
from movielens_sbr.evaluation.report import plot_link, render

SPLITS = {
    "parameters": {
        "session_mode": "gap",
        "gap_minutes": 60.0,
        "tie_order": "random",
        "split_rule": "time",
    },
    "boundaries": {"rule": "time", "valid_start": "2000-12-01", "test_start": "2000-12-10"},
    "train": {
        "events": 1000,
        "sessions": 90,
        "items": 40,
        "users": 30,
        "session_length_median": 8.0,
        "predictions": 910,
    },
    "valid": {
        "events": 100,
        "sessions": 9,
        "items": 30,
        "users": 8,
        "session_length_median": 7.0,
        "predictions": 91,
    },
    "test": {
        "events": 120,
        "sessions": 10,
        "items": 30,
        "users": 9,
        "session_length_median": 9.0,
        "predictions": 110,
    },
}


def example_metrics():
    rng = np.random.default_rng(0)
    session = np.repeat(np.arange(10), 4)
    position = np.tile(np.arange(1, 5), 10)
    runs = [
        MethodRun(
            name,
            Predictions(
                session,
                position,
                rng.integers(0, scale, 40),
                np.zeros(40, int),
                rng.integers(0, 40, (40, 5)),
            ),
            0.1,
        )
        for name, scale in (("gru4rec", 8), ("pop", 30), ("markov", 10))
    ]
    metrics, comparisons = summarise(
        runs, ks=[1, 5], ties="pessimistic", item_counts=np.arange(40), n_bootstrap=100, seed=0
    )
    metrics["protocol"] = {
        "ks": [1, 5],
        "ties": "pessimistic",
        "exclude_seen": True,
        "n_bootstrap": 100,
        "confidence": 0.95,
        "seed": 0,
        "comparisons": comparisons,
        "shuffle_check": {
            "markov": {
                "recall@5": {"ordered": 0.4, "shuffled": 0.3, "relative_change": -0.25},
                "mrr@5": {"ordered": 0.2, "shuffled": 0.1, "relative_change": -0.5},
            }
        },
        "seconds": {
            "gru4rec": 0.1,
            "pop": 0.1,
            "markov": 0.2,
            "markov_shuffled": 0.15,
            "total": 0.5,
            "pop_fit": 0.01,
            "markov_fit": 0.02,
        },
    }
    metrics["dataset"] = {
        "n_items": 40,
        "test_predictions": 40,
        "test_sessions": 10,
        "archive": "ml.zip",
        "archive_md5": "abc",
    }
    table = breakdown(runs, np.full(10, 5), k=5, ties="pessimistic")
    return metrics, table


def test_report_has_every_section_and_table():
    metrics, table = example_metrics()
    text = render(metrics, table, SPLITS)
    assert text.startswith("# Evaluation report")
    for heading in (
        "## Methods at K = 5",
        "## Paired comparison",
        "## Every cut-off",
        "## By position in the session and by session length",
        "## Sequentiality check",
        "## Splits",
        "## Time",
    ):
        assert heading in text
    gru = metrics["gru4rec"]
    assert (
        f"{gru['recall@5']:.4f} [{gru['recall@5_ci_low']:.4f}, {gru['recall@5_ci_high']:.4f}]"
        in text
    )
    assert "| `markov` | recall@5 | 0.4000 | 0.3000 | -25.0% |" in text
    assert "| test | 120 | 10 | 30 | 9 | 9 | 110 |" in text
    assert f"]({plot_link('metrics.png')})" in text
    assert f"]({plot_link('breakdown.png')})" in text
    assert "(`exclude_seen: true`)" in text
    assert "a session ends after 60 minutes without an event" in text
    assert "in `random` order; split rule `time`" in text
    # One time row per method: fit, test predictions, shuffled.
    assert "| `gru4rec` | - | 0.10 | - |" in text
    assert "| `markov` | 0.02 | 0.20 | 0.15 |" in text
    assert "The whole evaluation protocol took 0.5 s." in text
    # Every table row has as many cells as its header.
    for block in text.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            assert len({row.count(" | ") for row in rows}) == 1, block


def test_breakdown_rows_follow_the_method_order_of_the_other_tables():
    metrics, table = example_metrics()
    # Built in another order than the methods of `metrics` (gru4rec, pop, markov).
    table = table.sort_values("method", kind="stable", ascending=False)
    text = render(metrics, table, SPLITS)
    for heading in ("| position |", "| session length |"):
        block = text[text.index(heading) :].split("\n\n")[0]
        names = [line.split("`")[1] for line in block.splitlines() if line.startswith("| `")]
        assert names == ["gru4rec", "pop", "markov"]


def test_paired_comparison_names_how_often_the_gru_does_not_win():
    metrics, table = example_metrics()
    (comparison,) = metrics["protocol"]["comparisons"].values()
    key = f"{comparison['selected_by']}_share_not_better"
    comparison[key] = 0.0
    assert "in every one of the 100 resamples" in render(metrics, table, SPLITS)
    comparison[key] = 0.032
    expected = f"does not beat `{comparison['baseline']}` on recall@5 in 3.2% of the 100 resamples"
    assert expected in render(metrics, table, SPLITS)


def test_plot_links_point_from_the_versioned_report_to_the_versioned_plot():
    assert plot_link("metrics.png") == "../../metrics.png/{save_version}/metrics.png"


def test_report_without_intervals_or_comparison():
    metrics, table = example_metrics()
    for method in ("gru4rec", "pop", "markov"):
        metrics[method] = {k: v for k, v in metrics[method].items() if "_ci_" not in k}
    metrics["protocol"].update(n_bootstrap=0, comparisons={}, shuffle_check={})
    text = render(metrics, table, SPLITS)
    assert "No intervals" in text
    assert "No paired comparison" in text
    assert "Not run" in text


def test_console_summary_lists_methods_best_first_with_intervals():
    metrics = {
        "dataset": {"test_predictions": 10},
        "pop": {"recall@20": 0.03, "mrr@20": 0.005},
        "gru4rec": {
            "recall@20": 0.25,
            "recall@20_ci_low": 0.23,
            "recall@20_ci_high": 0.27,
            "mrr@20": 0.066,
        },
        "protocol": {"primary_metric": "recall@20"},
    }
    lines = report.console_summary(metrics)
    assert lines == [
        "  gru4rec  recall@20 0.2500 [0.2300, 0.2700]  mrr@20 0.0660",
        "  pop      recall@20 0.0300  mrr@20 0.0050",
    ]


def test_session_settings_are_not_in_movielens_words_for_clicks():
    from movielens_sbr.evaluation.report import _sessions_line

    line = _sessions_line({"session_mode": "user", "tie_order": "file", "split_rule": "time"})
    assert "click session" in line and "events in file order" in line
    assert "rating" not in line and "movie" not in line
