"""Evaluation nodes."""

import numpy as np
import pandas as pd
import pytest

from movielens_sbr.params import base_section
from movielens_sbr.pipelines.evaluation.nodes import (
    evaluate_methods,
    plot_breakdown,
    plot_metrics,
    recommend_examples,
    write_report,
)
from movielens_sbr.pipelines.training.nodes import ModelTrainer

PARAMS = base_section(
    "evaluation",
    ks=[1, 10],
    n_examples=2,
    n_recommendations=3,
    n_bootstrap=50,
    baselines={"pop": {}, "markov": {}},
    shuffle_check=["gru4rec", "markov"],
)


def test_evaluation_outputs(splits, movies):
    train, valid, test, item_index, statistics = splits
    tiny = base_section("training", epochs=1, layers=[8], batch_size=4)
    model, _ = ModelTrainer("gru4rec").train(train, valid, item_index, tiny, seed=0)
    archive = {"source": "x.zip", "md5": "m"}
    from movielens_sbr.model.sasrec import build_model
    from movielens_sbr.model.sasrec import model_config as sasrec_config
    from movielens_sbr.params import config_from_base

    sasrec = build_model(len(item_index), sasrec_config(config_from_base("sasrec"), seed=0))
    metrics, breakdown = evaluate_methods(
        train,
        test,
        item_index,
        statistics,
        archive,
        PARAMS,
        0,
        gru4rec_model=model,
        sasrec_model=sasrec,
    )
    assert set(metrics) == {"gru4rec", "sasrec", "pop", "markov", "dataset", "protocol"}
    point = {f"{m}@{k}" for m in ("recall", "mrr", "ndcg") for k in (1, 10)}
    assert set(metrics["pop"]) == (
        point
        | {f"{name}_ci_{side}" for name in point for side in ("low", "high")}
        | {"coverage@10", "popularity@10"}
    )
    for method in ("gru4rec", "pop", "markov"):
        values = metrics[method]
        for name in point:
            assert values[f"{name}_ci_low"] <= values[name] <= values[f"{name}_ci_high"], name
        assert 0 <= values["mrr@10"] <= values["ndcg@10"] <= values["recall@10"] <= 1
        assert values["recall@1"] <= values["recall@10"]
    assert metrics["dataset"]["test_events"] == len(test)
    assert metrics["dataset"]["test_predictions"] == len(test) - test["session_id"].nunique()
    assert metrics["dataset"]["archive_md5"] == "m"
    comparisons = metrics["protocol"]["comparisons"]
    pairs = [(c["method"], c["baseline"]) for c in comparisons.values()]
    best = pairs[0][1]
    assert best in {"pop", "markov"}
    assert pairs == [("gru4rec", best), ("sasrec", best), ("gru4rec", "sasrec")]
    assert set(metrics["protocol"]["shuffle_check"]) == {"gru4rec", "markov"}
    assert isinstance(breakdown, pd.DataFrame)
    assert set(breakdown["method"]) == {"gru4rec", "sasrec", "pop", "markov"}

    methods = ["gru4rec", "sasrec", "pop", "markov"]
    panels = plot_metrics(metrics, PARAMS).axes  # the largest K of ks
    assert [ax.get_title() for ax in panels] == [
        f"{name}@10 (95 % CI)" for name in ("recall", "mrr", "ndcg")
    ]
    for ax, name in zip(panels, ("recall@10", "mrr@10", "ndcg@10"), strict=True):
        assert [label.get_text() for label in ax.get_xticklabels()] == methods
        heights = [bar.get_height() for bar in ax.containers[-1].patches]
        assert heights == pytest.approx([metrics[m][name] for m in methods])

    position_ax = plot_breakdown(breakdown, PARAMS).axes[0]
    by_position = breakdown[breakdown["by"] == "position"].sort_values("order")
    lines = {line.get_label().split(" ")[0]: line for line in position_ax.get_lines()}
    assert set(lines) == set(methods)
    for method, line in lines.items():
        rows = by_position[by_position["method"] == method]
        np.testing.assert_allclose(line.get_ydata(), rows["recall@10"])
    report = write_report(metrics, breakdown, statistics)
    assert "| `gru4rec` |" in report

    examples = recommend_examples(model, test, item_index, movies, PARAMS, seed=0)
    assert examples["session_id"].nunique() == 2
    assert (examples.groupby("session_id")["rank"].max() == 3).all()
    assert examples["recommended"].isin(movies["title"]).all()
