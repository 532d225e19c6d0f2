"""GRU4Rec losses against hand-written references on tiny cases."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from movielens_sbr.model.losses import (
    bpr_max,
    full_cross_entropy,
    sample_negatives,
    sampled_cross_entropy,
)

N_ITEMS, HIDDEN = 7, 4


@pytest.fixture
def tensors():
    rng = np.random.default_rng(0)
    hidden = tf.constant(rng.normal(size=(3, HIDDEN)), tf.float32)
    weights = tf.Variable(rng.normal(size=(N_ITEMS, HIDDEN)), dtype=tf.float32)
    bias = tf.Variable(rng.normal(size=N_ITEMS), dtype=tf.float32)
    return hidden, weights, bias


def numpy_cross_entropy(logits: np.ndarray, target: int) -> float:
    return float(np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[target])


def test_full_cross_entropy_matches_numpy_and_ignores_invalid_lanes(tensors):
    hidden, weights, bias = tensors
    targets = tf.constant([1, 5, 2])
    valid = tf.constant([True, True, False])
    logits = hidden.numpy() @ weights.numpy().T + bias.numpy()
    expected = np.mean([numpy_cross_entropy(logits[i], t) for i, t in enumerate([1, 5])])
    loss = full_cross_entropy(hidden, weights, bias, targets, valid)
    assert float(loss) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("lane", [0, 1, 2])
def test_sampled_cross_entropy_with_every_item_as_negative_is_the_full_loss(tensors, lane):
    """One lane, the whole catalogue as negatives, no logQ: exactly the full softmax."""
    hidden, weights, bias = tensors
    hidden = hidden[lane : lane + 1]
    target = tf.constant([3])
    valid = tf.constant([True])
    negatives = tf.range(N_ITEMS, dtype=tf.int32)
    log_q = tf.zeros(1 + N_ITEMS)
    with tf.GradientTape(persistent=True) as tape:
        sampled = sampled_cross_entropy(hidden, weights, bias, target, valid, negatives, log_q, 0.0)
        full = full_cross_entropy(hidden, weights, bias, target, valid)
    assert float(sampled) == pytest.approx(float(full), rel=1e-5)
    for variable in (weights, bias):
        np.testing.assert_allclose(
            tf.convert_to_tensor(tape.gradient(sampled, variable)),
            tf.convert_to_tensor(tape.gradient(full, variable)),
            rtol=1e-4,
            atol=1e-6,
        )


def test_sampled_cross_entropy_masks_accidental_hits_and_applies_log_q(tensors):
    hidden, weights, bias = tensors
    targets = tf.constant([1, 1, 4])  # lanes 0 and 1 share their target
    negatives = tf.constant([4, 6], tf.int32)
    log_q = tf.constant([-1.0, -1.0, -2.0, -0.5, -3.0])
    loss = sampled_cross_entropy(
        hidden, weights, bias, targets, tf.ones(3, tf.bool), negatives, log_q, 1.0
    )
    columns = np.array([1, 1, 4, 4, 6])
    scores = hidden.numpy() @ weights.numpy()[columns].T + bias.numpy()[columns] - log_q.numpy()
    expected = []
    for lane, target in enumerate([1, 1, 4]):
        keep = (columns != target) | (np.arange(5) == lane)
        expected.append(
            numpy_cross_entropy(
                scores[lane][keep], int(np.flatnonzero(np.flatnonzero(keep) == lane)[0])
            )
        )
    assert float(loss) == pytest.approx(np.mean(expected), rel=1e-5)


def test_bpr_max_matches_its_formula(tensors):
    hidden, weights, bias = tensors
    targets = tf.constant([0, 2, 5])
    negatives = tf.constant([1, 3], tf.int32)
    regularization = 0.5
    loss = bpr_max(hidden, weights, bias, targets, tf.ones(3, tf.bool), negatives, regularization)
    columns = np.array([0, 2, 5, 1, 3])
    scores = hidden.numpy() @ weights.numpy()[columns].T + bias.numpy()[columns]
    expected = []
    for lane in range(3):
        negative = np.delete(scores[lane], lane)
        softmax = np.exp(negative - negative.max())
        softmax /= softmax.sum()
        ranking = np.sum(softmax / (1 + np.exp(-(scores[lane, lane] - negative))))
        expected.append(-np.log(ranking) + regularization * np.sum(softmax * negative**2))
    assert float(loss) == pytest.approx(np.mean(expected), rel=1e-5)


def test_negatives_follow_the_sampling_distribution():
    cdf = tf.constant(np.cumsum([1.0, 0.0, 3.0]), tf.float32)
    samples = sample_negatives(cdf, 20_000, seed=tf.constant([1, 2])).numpy()
    assert set(np.unique(samples)) <= {0, 2}  # an item with weight 0 is never drawn
    assert np.mean(samples == 2) == pytest.approx(0.75, abs=0.02)
