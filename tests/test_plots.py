"""Plots: what a reader needs to see is drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from movielens_sbr.plots import metric_breakdown


def breakdown_table() -> pd.DataFrame:
    rows = []
    values = {"gru4rec": [0.3, 0.4], "pop": [0.1, 0.1], "spop": [0.1, 0.1]}
    for by in ("position", "session_length"):
        for order, bucket in enumerate(["1", "2+"]):
            for method, recalls in values.items():
                rows.append(
                    {
                        "method": method,
                        "by": by,
                        "bucket": bucket,
                        "order": order,
                        "predictions": 10,
                        "recall@20": recalls[order],
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
    plt.close(fig)
