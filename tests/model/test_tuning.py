"""Hyperparameter search (plain module)."""

import numpy as np
import optuna
import pandas as pd
import pytest

from conftest import gru4rec_config
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.model.training_setup import train
from movielens_sbr.model.tuning import apply, base_values, best_options, suggest, tune

TRAIN = {"train": train}  # GRU4Rec's, through its training setup

SPACE = {
    "layer_size": {"choices": [4, 8]},
    "loss": {"choices": ["cross_entropy", "bpr_max"]},
    "learning_rate": {"low": 0.01, "high": 0.1, "log": True},
    "batch_size": {"low": 2, "high": 4},
}


def test_suggest_draws_each_kind_of_option_within_its_range():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        values = suggest(study.ask(), SPACE)
        assert values["layer_size"] in (4, 8)
        assert values["loss"] in ("cross_entropy", "bpr_max")
        assert 0.01 <= values["learning_rate"] <= 0.1
        assert isinstance(values["batch_size"], int) and 2 <= values["batch_size"] <= 4


def test_apply_turns_layer_size_into_one_layer():
    config = apply(gru4rec_config(layers=(64, 32)), {"layer_size": 16, "dropout_hidden": 0.3})
    assert config.layers == (16,)
    assert config.dropout_hidden == 0.3


def tiny_sessions(seed: int = 0) -> SessionArrays:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 7, size=30)
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    return SessionArrays(rng.integers(0, 12, offsets[-1]).astype(np.int32), offsets)


def test_tune_runs_the_trials_and_scores_them_on_the_validation_callback():
    seen_models = []

    def validate(model):
        seen_models.append(model)
        return {"recall@20": 0.1 * len(seen_models)}  # later epochs look better

    base = gru4rec_config(layers=(4,), embedding_dim=4, batch_size=3, epochs=2, seed=1)
    trials = tune(
        tiny_sessions(), 12, base, SPACE, validate, **TRAIN, n_trials=3, time_budget_s=600, seed=0
    )
    assert len(trials) == 3
    assert set(trials["state"]) <= {"complete", "pruned"}
    assert (trials["state"] == "complete").sum() >= 1
    assert {"param_layer_size", "param_loss", "param_learning_rate", "param_batch_size"} <= set(
        trials.columns
    )
    complete = trials[trials["state"] == "complete"]
    # Each complete trial is scored by its best (here: last) epoch's validation metric.
    assert complete["valid_recall@20"].gt(0).all()
    assert complete["epochs_run"].eq(2).all()


def test_the_first_trial_is_the_base_configuration():
    base = gru4rec_config(
        layers=(8,), embedding_dim=4, batch_size=3, epochs=1, learning_rate=0.05, seed=1
    )
    trials = tune(
        tiny_sessions(),
        12,
        base,
        SPACE,
        lambda model: {"recall@20": 0.5},
        **TRAIN,
        n_trials=2,
        time_budget_s=600,
        seed=0,
    )
    first = trials.iloc[0]
    assert first["param_layer_size"] == 8
    assert first["param_loss"] == "cross_entropy"
    assert first["param_learning_rate"] == pytest.approx(0.05)
    assert first["param_batch_size"] == 3


def test_base_values_leave_out_what_the_space_cannot_hold():
    base = gru4rec_config(layers=(16, 8), learning_rate=0.5, batch_size=3, loss="bpr_max")
    # Two layers have no layer_size; 0.5 lies outside [0.01, 0.1].
    assert base_values(base, SPACE) == {"loss": "bpr_max", "batch_size": 3}


def test_tune_with_the_same_seed_samples_the_same_options():
    def validate(model):
        return {"recall@20": float(np.asarray(model.get_layer("scores").bias).sum() % 1)}

    base = gru4rec_config(layers=(4,), embedding_dim=4, batch_size=3, epochs=1, seed=1)
    runs = [
        tune(
            tiny_sessions(),
            12,
            base,
            SPACE,
            validate,
            **TRAIN,
            n_trials=2,
            time_budget_s=600,
            seed=5,
        )
        for _ in range(2)
    ]
    params = [column for column in runs[0].columns if column.startswith("param_")]
    pd.testing.assert_frame_equal(runs[0][params], runs[1][params])


def test_best_options_reads_the_best_complete_trial_as_training_parameters():
    trials = pd.DataFrame(
        {
            "trial": [0, 1, 2],
            "state": ["complete", "pruned", "complete"],
            "valid_recall@20": [0.2, 0.9, 0.3],
            "param_layer_size": [64, 128, 256],
            "param_loss": ["bpr_max", "cross_entropy", "cross_entropy"],
        }
    )
    assert best_options(trials, "recall@20") == {"layers": [256], "loss": "cross_entropy"}


def test_best_options_without_a_complete_trial_says_what_to_change():
    trials = pd.DataFrame({"trial": [0], "state": ["pruned"], "valid_recall@20": [0.1]})
    with pytest.raises(ValueError, match="time budget or n_trials"):
        best_options(trials, "recall@20")
