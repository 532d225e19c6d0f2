"""Training nodes."""

import numpy as np

from movielens_sbr.params import base_section
from movielens_sbr.pipelines.training.nodes import plot_training_history, train_gru4rec

TINY = base_section("training", epochs=2, layers=[8], embedding_dim=8, batch_size=4)


def test_train_node_returns_a_model_and_its_history(splits):
    train, valid, _test, item_index, _stats = splits
    model, history = train_gru4rec(train, valid, item_index, TINY, seed=3)
    assert model.get_layer("scores").units == len(item_index)
    assert [epoch["epoch"] for epoch in history["epochs"]] == [1, 2]
    assert 1 <= history["best_epoch"] <= 2
    assert all("valid_recall@20" in epoch for epoch in history["epochs"])
    assert history["config"]["layers"] == (8,)
    assert plot_training_history(history).axes


def test_without_validation_split_the_last_epoch_is_kept(splits):
    train, valid, _test, item_index, _stats = splits
    _model, history = train_gru4rec(train, valid.iloc[0:0], item_index, TINY, seed=3)
    assert history["best_epoch"] == 2
    assert not any(key.startswith("valid_") for key in history["epochs"][-1])


def test_train_node_writes_a_checkpoint_and_resumes_from_it(splits, tmp_path):
    train, valid, _test, item_index, _stats = splits
    model, history = train_gru4rec(train, valid, item_index, TINY, 3, str(tmp_path))
    assert (tmp_path / "last.npz").exists()

    again, resumed = train_gru4rec(
        train, valid, item_index, {**TINY, "resume": True}, 3, str(tmp_path)
    )

    assert resumed["epochs"] == history["epochs"]  # restored, not retrained: same timings too
    for a, b in zip(model.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
