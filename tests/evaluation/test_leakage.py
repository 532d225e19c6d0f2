"""Leakage checks of the protocol on the sessions pipeline's output (generated data).

The real-data version of the time checks is in tests/test_real_data.py.
"""

from __future__ import annotations

import numpy as np

from movielens_sbr.pipelines.evaluation.pipeline import create_pipeline as evaluation_pipeline
from movielens_sbr.pipelines.training.pipeline import create_pipeline as training_pipeline


def test_no_test_event_before_the_end_of_training(splits):
    train, valid, test, _, _ = splits
    assert train["timestamp"].max() < valid["timestamp"].min()
    assert train["timestamp"].max() < test["timestamp"].min()
    assert valid["timestamp"].max() < test["timestamp"].min()
    assert not set(train["session_id"]) & set(test["session_id"])


def test_every_test_item_was_seen_in_train(splits):
    train, valid, test, item_index, _ = splits
    assert set(test["item"]) <= set(train["item"])
    assert set(valid["item"]) <= set(train["item"])
    # The item index is built from train only.
    assert set(item_index["item"]) == set(train["item"])
    assert np.array_equal(np.sort(item_index["item_idx"]), np.arange(len(item_index)))


def test_test_split_is_never_used_for_training_or_model_selection():
    training_inputs = training_pipeline().inputs()
    assert "test_sessions" not in training_inputs
    assert "valid_sessions" in training_inputs  # epoch selection uses validation only
    evaluation_inputs = evaluation_pipeline().inputs()
    assert "valid_sessions" not in evaluation_inputs
    assert "test_sessions" in evaluation_inputs
