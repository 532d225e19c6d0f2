"""Tuning nodes."""

import numpy as np
import pytest

from movielens_sbr import methods
from movielens_sbr.params import base_parameters, base_section
from movielens_sbr.pipelines.tuning.nodes import plot_tuning, search_hyperparameters

PARAMETERS = {
    **base_parameters(),
    "training": base_section("training", epochs=9, layers=[8], embedding_dim=8, batch_size=4),
    "sasrec": base_section("sasrec", epochs=9, max_len=5, hidden_size=8, n_blocks=1),
}
TUNING = {
    "method": "gru4rec",
    "n_trials": 2,
    "epochs": 1,
    "time_budget_minutes": 10,
    "search_space": {
        "gru4rec": {
            "layer_size": {"choices": [4, 8]},
            "dropout_hidden": {"low": 0.0, "high": 0.5},
        },
        "sasrec": {"dropout": {"low": 0.0, "high": 0.5}},
    },
}


def test_search_writes_trials_and_the_best_options(splits):
    train, valid, _test, item_index, _stats = splits
    trials, best = search_hyperparameters(train, valid, item_index, PARAMETERS, TUNING, seed=0)
    assert len(trials) == 2
    assert trials["epochs_run"].max() == 1  # tuning.epochs, not training.epochs
    assert best["selection_metric"] == "valid_recall@20"
    assert best["best_value"] == pytest.approx(
        trials.loc[trials["state"] == "complete", "valid_recall@20"].max()
    )
    assert set(best["best_options"]) == {"layers", "dropout_hidden"}
    assert best["method"] == "gru4rec" and best["section"] == "training"

    history, *options = plot_tuning(trials).axes
    complete = trials["state"] == "complete"
    drawn = np.concatenate([points.get_offsets() for points in history.collections])
    expected = np.column_stack([trials["trial"], trials["valid_recall@20"]])
    np.testing.assert_array_equal(drawn, np.concatenate([expected[complete], expected[~complete]]))
    assert history.get_title() == f"2 trials, best {best['best_value']:.4f}"
    assert {ax.get_title() for ax in options} == {"layer_size", "dropout_hidden"}
    for ax in options:
        (points,) = ax.collections
        np.testing.assert_array_equal(points.get_offsets()[:, 1], trials["valid_recall@20"])


def test_every_trained_method_can_be_searched(splits):
    train, valid, _test, item_index, _stats = splits
    for method in methods.trained():
        tuning = {**TUNING, "method": method.name, "n_trials": 1}
        trials, best = search_hyperparameters(train, valid, item_index, PARAMETERS, tuning, 0)
        assert len(trials) == 1 and trials["epochs_run"].max() == 1, method.name
        assert best["section"] == method.section
        searched = set(TUNING["search_space"][method.name])
        assert {c.removeprefix("param_") for c in trials if c.startswith("param_")} == searched


def test_search_without_a_validation_split_names_the_parameter(splits):
    train, valid, _test, item_index, _stats = splits
    with pytest.raises(ValueError, match=r"sessions\.valid_fraction"):
        search_hyperparameters(train, valid.iloc[0:0], item_index, PARAMETERS, TUNING, seed=0)
