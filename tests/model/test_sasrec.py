"""SASRec network, losses, training loop and scorer on tiny cases."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.evaluator import evaluate
from movielens_sbr.model import sasrec
from movielens_sbr.model.checkpoints import CHECKPOINT_FILE, CheckpointMismatchError
from movielens_sbr.model.losses import (
    sampled_softmax_cross_entropy,
    sequence_binary_cross_entropy,
)
from movielens_sbr.model.sasrec import (
    SASRecScorer,
    build_model,
    train,
    training_windows,
)
from movielens_sbr.model.sasrec import model_config as sasrec_config
from movielens_sbr.params import config_from_base

N_ITEMS = 12
TINY = dict(
    max_len=5,
    hidden_size=16,
    n_heads=2,
    n_blocks=1,  # one block traces faster; the mask test stacks two
    dropout=0.1,
    batch_size=8,
    loss="cross_entropy",
    learning_rate=0.001,
    epochs=1,
    patience=3,
)


def tiny_config(seed: int = 42, **changes):
    """conf/base's SASRec configuration with TINY's values, then ``changes``."""
    return sasrec_config(config_from_base("sasrec", **{**TINY, **changes}), seed)


def chain_sessions(n_sessions: int = 60, length: int = 7, seed: int = 0) -> SessionArrays:
    """Sessions that always follow item i with item i + 1 (mod N_ITEMS)."""
    starts = np.random.default_rng(seed).integers(0, N_ITEMS, n_sessions)
    items = (starts[:, None] + np.arange(length)) % N_ITEMS
    return SessionArrays(items.ravel().astype(np.int32), np.arange(0, items.size + 1, length))


def test_no_position_sees_the_future():
    keras.utils.set_random_seed(0)
    model = build_model(N_ITEMS, tiny_config(n_blocks=2))
    items = np.array([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3]], np.int32)
    changed = items.copy()
    changed[:, 3] = [7, 8]
    before, after = np.asarray(model(items)), np.asarray(model(changed))
    np.testing.assert_array_equal(before[:, :3], after[:, :3])
    # The changed item does reach its own and later positions.
    assert not np.allclose(before[:, 3:], after[:, 3:])


def test_padding_after_the_items_changes_nothing_before_it():
    keras.utils.set_random_seed(0)
    model = build_model(N_ITEMS, tiny_config())
    short = np.array([[3, 1, 4]], np.int32)
    padded = np.array([[3, 1, 4, -1, -1]], np.int32)
    np.testing.assert_allclose(
        np.asarray(model(short)), np.asarray(model(padded))[:, :3], atol=1e-6
    )


def test_training_windows_cover_every_prediction_once():
    # Lengths 1, 3, 8 with max_len 3: 0, 1 and 3 windows (7 inputs: 3 + 3 + 1).
    items = np.arange(12, dtype=np.int32)
    sessions = SessionArrays(items, np.array([0, 1, 4, 12]))
    inputs, targets = training_windows(sessions, max_len=3)
    np.testing.assert_array_equal(inputs, [[1, 2, -1], [4, 5, 6], [7, 8, 9], [10, -1, -1]])
    np.testing.assert_array_equal(targets, [[2, 3, -1], [5, 6, 7], [8, 9, 10], [11, -1, -1]])


def test_sampled_softmax_on_a_hand_computed_case():
    hidden = tf.constant([[1.0, 0.0], [0.0, 2.0]])
    weights = tf.constant([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    targets = tf.constant([0, 1])
    negatives = tf.constant([1, 2, 0])
    log_q = tf.math.log(tf.constant([0.5, 0.25, 0.25]))
    loss = sampled_softmax_cross_entropy(
        hidden,
        weights,
        targets,
        tf.ones(2),
        negatives,
        tf.gather(log_q, targets),
        tf.gather(log_q, negatives),
    )
    # Row 0: target 0 (score 1, corrected 1 - log .5); negatives 1 (0 - log .25),
    # 2 (1 - log .25); negative 0 is the target itself and is left out.
    row_0 = [1 - np.log(0.5), -np.log(0.25), 1 - np.log(0.25)]
    # Row 1: target 1 (score 2); negatives 2 (2) and 0 (0); negative 1 left out.
    row_1 = [2 - np.log(0.25), 2 - np.log(0.25), 0 - np.log(0.5)]
    expected = np.mean(
        [np.log(np.exp(row).sum()) - row[0] for row in (np.array(row_0), np.array(row_1))]
    )
    np.testing.assert_allclose(float(loss), expected, rtol=1e-6)
    # Without the correction it is the plain sampled softmax.
    plain = sampled_softmax_cross_entropy(
        hidden, weights, targets, tf.ones(2), negatives, tf.zeros(2), tf.zeros(3), 0.0
    )
    row_0, row_1 = np.array([1.0, 0.0, 1.0]), np.array([2.0, 2.0, 0.0])
    expected = np.mean([np.log(np.exp(r).sum()) - r[0] for r in (row_0, row_1)])
    np.testing.assert_allclose(float(plain), expected, rtol=1e-6)


def test_binary_cross_entropy_on_a_hand_computed_case():
    hidden = tf.constant([[1.0, 0.0], [0.0, 2.0]])
    weights = tf.constant([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # Row 0: target 0 (score 1), negative 2 (score 1). Row 1: target 1 (2), negative 1 =
    # the target, so only the positive term counts.
    loss = sequence_binary_cross_entropy(
        hidden, weights, tf.constant([0, 1]), tf.ones(2), tf.constant([2, 1])
    )

    def softplus(x):
        return np.log1p(np.exp(x))

    expected = np.mean([softplus(-1.0) + softplus(1.0), softplus(-2.0)])
    np.testing.assert_allclose(float(loss), expected, rtol=1e-6)


def test_training_learns_a_deterministic_chain():
    config = tiny_config(epochs=8, learning_rate=0.01)
    result = train(chain_sessions(), N_ITEMS, config)
    metrics = evaluate(SASRecScorer(result.model), chain_sessions(seed=1), N_ITEMS).metrics([1])
    assert metrics["recall@1"] > 0.9, metrics
    assert len(result.history) == 8 and result.best_epoch == 8


def test_same_seed_same_weights_and_the_binary_loss_learns():
    # Tracing a training step takes seconds: each test trains as few models as it can.
    config = tiny_config(epochs=3, loss="bce", learning_rate=0.01)
    first, second = (
        train(chain_sessions(), N_ITEMS, config),
        train(chain_sessions(), N_ITEMS, config),
    )
    for a, b in zip(first.model.get_weights(), second.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    losses = [record["loss"] for record in first.history]
    assert losses[-1] < losses[0] * 0.8, losses
    keras.utils.set_random_seed(7)
    other = build_model(N_ITEMS, config).get_weights()
    keras.utils.set_random_seed(config.seed)
    same = build_model(N_ITEMS, config).get_weights()
    keras.utils.set_random_seed(config.seed)
    again = build_model(N_ITEMS, config).get_weights()
    np.testing.assert_array_equal(same[0], again[0])
    assert not np.array_equal(same[0], other[0])


def test_save_and_load_round_trip(tmp_path):
    keras.utils.set_random_seed(1)
    model = build_model(N_ITEMS, tiny_config())
    path = tmp_path / "sasrec.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, sasrec.SASRec) and loaded.max_len == TINY["max_len"]
    items = np.array([[1, 2, 3, -1, -1], [4, 5, 6, 7, 8]], np.int32)
    np.testing.assert_array_equal(np.asarray(model(items)), np.asarray(loaded(items)))
    np.testing.assert_array_equal(
        np.asarray(model.item_vectors()), np.asarray(loaded.item_vectors())
    )


def test_scorer_matches_a_direct_model_call_on_the_last_max_len_items():
    keras.utils.set_random_seed(3)
    model = build_model(N_ITEMS, tiny_config())
    rng = np.random.default_rng(0)
    sessions = rng.integers(0, N_ITEMS, (3, 9)).astype(np.int32)
    scorer = SASRecScorer(model)
    scorer.start(3)
    max_len = TINY["max_len"]
    for position in range(1, 9):
        # Sessions end one after another, like the evaluator's shrinking active prefix.
        n_active = 3 if position < 7 else 2
        scores = scorer.step(sessions[:n_active, position - 1])
        window = sessions[:n_active, max(0, position - max_len) : position]
        expected = np.asarray(model(window))[:, -1]
        np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)


def test_validation_picks_the_best_epoch_and_stops_after_patience():
    scores = iter([0.1, 0.3, 0.2, 0.25, 0.5, 0.6])
    config = tiny_config(epochs=6, patience=2)
    result = train(chain_sessions(), N_ITEMS, config, lambda model: {"recall@20": next(scores)})
    assert result.best_epoch == 2
    assert [record["epoch"] for record in result.history] == [1, 2, 3, 4]


def test_resume_ends_where_an_uninterrupted_run_ends(tmp_path):
    sessions = chain_sessions()
    config = tiny_config(epochs=2, loss="sampled_cross_entropy", n_sample=4)
    whole_dir, cut_dir = tmp_path / "whole", tmp_path / "cut"

    def keep_first_epoch(epoch, record):
        if epoch == 1:  # the state an interrupted run leaves behind
            cut_dir.mkdir()
            (cut_dir / CHECKPOINT_FILE).write_bytes((whole_dir / CHECKPOINT_FILE).read_bytes())

    whole = train(
        sessions, N_ITEMS, config, checkpoint_dir=whole_dir, on_epoch_end=keep_first_epoch
    )
    resumed = train(sessions, N_ITEMS, config, checkpoint_dir=cut_dir, resume=True)
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    assert resumed.history[1]["loss"] == whole.history[1]["loss"]
    for a, b in zip(whole.model.get_weights(), resumed.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(CheckpointMismatchError, match=r"hidden_size.*sasrec\.resume"):
        train(
            sessions,
            N_ITEMS,
            tiny_config(hidden_size=8, epochs=4),
            checkpoint_dir=cut_dir,
            resume=True,
        )
