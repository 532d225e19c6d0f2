"""Training nodes (one node for every trained method)."""

import numpy as np
import pytest

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.model.training_setup import validator
from movielens_sbr.params import base_section, validate_section
from movielens_sbr.pipelines.training.nodes import ModelTrainer, plot_training_history

TINY = base_section("training", epochs=2, layers=[8], embedding_dim=8, batch_size=4)
TINY_SASREC = base_section("sasrec", epochs=2, max_len=8, hidden_size=8, batch_size=8, patience=5)


def train_gru4rec(*args, **kwargs):
    return ModelTrainer("gru4rec").train(*args, **kwargs)


def test_train_node_returns_the_best_epochs_model_and_its_history(splits):
    train, valid, _test, item_index, _stats = splits
    model, history = train_gru4rec(train, valid, item_index, TINY, seed=3)
    assert model.get_layer("scores").units == len(item_index)
    assert [epoch["epoch"] for epoch in history["epochs"]] == [1, 2]
    recalls = [epoch["valid_recall@20"] for epoch in history["epochs"]]
    assert history["best_epoch"] == 1 + int(np.argmax(recalls))  # the first best one
    assert history["config"]["layers"] == (8,)
    assert history["train_events"] == len(train)

    # The model returned is the best epoch's: it scores that epoch's validation metrics
    # (Recall@20 saturates on this catalogue; MRR@20 tells the epochs apart).
    best = history["epochs"][history["best_epoch"] - 1]
    config = validate_section("training", TINY)
    validate = validator(SessionArrays.from_frame(valid), len(item_index), config)
    recorded = {key.removeprefix("valid_"): value for key, value in best.items() if "@" in key}
    assert set(recorded) == {"recall@20", "mrr@20", "ndcg@20"}
    assert validate(model) == pytest.approx(recorded)

    loss_ax, metric_ax = plot_training_history(history).axes
    losses = [epoch["loss"] for epoch in history["epochs"]]
    np.testing.assert_array_equal(loss_ax.get_lines()[0].get_ydata(), losses)
    lines = {line.get_label(): line.get_ydata() for line in metric_ax.get_lines()}
    assert "valid_recall@20" in lines
    np.testing.assert_array_equal(lines["valid_recall@20"], recalls)


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


def test_the_same_node_trains_sasrec_from_its_own_section(splits, tmp_path):
    train, valid, _test, item_index, _stats = splits
    model, history = ModelTrainer("sasrec").train(
        train, valid, item_index, TINY_SASREC, 3, str(tmp_path)
    )
    assert type(model).__name__ == "SASRec"
    assert model.n_items == len(item_index) and model.max_len == 8
    assert [epoch["epoch"] for epoch in history["epochs"]] == [1, 2]
    recalls = [epoch["valid_recall@20"] for epoch in history["epochs"]]
    assert history["best_epoch"] == 1 + int(np.argmax(recalls))
    assert history["config"]["seed"] == 3 and history["config"]["max_len"] == 8
    assert history["train_events"] == len(train)
    assert (tmp_path / "last.npz").exists()
    np.testing.assert_array_equal(
        plot_training_history(history).axes[0].get_lines()[0].get_ydata(),
        [epoch["loss"] for epoch in history["epochs"]],
    )


def test_a_section_that_does_not_fit_the_method_is_refused(splits):
    train, valid, _test, item_index, _stats = splits
    with pytest.raises(ValueError, match="sasrec"):
        ModelTrainer("sasrec").train(train, valid, item_index, TINY, 3)
