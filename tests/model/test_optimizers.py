"""Adagrad with momentum against its update rule computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from movielens_sbr.model.optimizers import AdagradMomentum

GRADIENTS = [np.array([0.5, -1.0]), np.array([0.2, 0.3])]


def run(optimizer) -> np.ndarray:
    variable = tf.Variable([1.0, 2.0])
    for gradient in GRADIENTS:
        optimizer.apply_gradients([(tf.constant(gradient, tf.float32), variable)])
    return variable.numpy()


@pytest.mark.parametrize(("momentum", "nesterov"), [(0.0, True), (0.9, False), (0.9, True)])
def test_updates_follow_the_rule(momentum, nesterov):
    lr, eps = 0.1, 1e-6
    weights, accumulator, velocity = np.array([1.0, 2.0]), np.zeros(2), np.zeros(2)
    for gradient in GRADIENTS:
        accumulator += gradient**2
        step = lr * gradient / np.sqrt(accumulator + eps)
        velocity = momentum * velocity - step
        weights = weights + (momentum * velocity - step if nesterov else velocity)
    optimizer = AdagradMomentum(learning_rate=lr, momentum=momentum, nesterov=nesterov, epsilon=eps)
    np.testing.assert_allclose(run(optimizer), weights, rtol=1e-5)


def test_without_momentum_it_is_plain_adagrad():
    import keras

    ours = run(AdagradMomentum(learning_rate=0.1, epsilon=1e-7))
    reference = run(keras.optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=0.0))
    np.testing.assert_allclose(ours, reference, rtol=1e-3)


def _slices(values, rows, n_rows=5):
    return tf.IndexedSlices(
        tf.constant(values, tf.float32), tf.constant(rows, tf.int64), tf.constant([n_rows, 2])
    )


SLICES = [
    ([[0.5, -1.0], [0.2, 0.1], [0.3, 0.3]], [3, 1, 3]),  # row 3 twice: its parts add up
    ([[0.2, 0.3]], [1]),
]


def _run_slices(optimizer) -> np.ndarray:
    variable = tf.Variable(np.arange(10, dtype=np.float32).reshape(5, 2))
    for values, rows in SLICES:
        optimizer.apply_gradients([(_slices(values, rows), variable)])
    return variable.numpy()


def _adagrad_by_hand(lr: float = 0.1, eps: float = 1e-6) -> np.ndarray:
    weights, accumulator = np.arange(10, dtype=np.float64).reshape(5, 2), np.zeros((5, 2))
    for values, rows in SLICES:
        gradient = np.zeros((5, 2))
        np.add.at(gradient, rows, np.asarray(values))  # a repeated row's parts add up
        accumulator += gradient**2
        weights -= lr * gradient / np.sqrt(accumulator + eps)
    return weights


def test_row_slices_follow_the_adagrad_rule_densely_and_sparsely():
    expected = _adagrad_by_hand()
    dense = _run_slices(AdagradMomentum(learning_rate=0.1))
    sparse = _run_slices(AdagradMomentum(learning_rate=0.1, sparse_updates=True))
    np.testing.assert_allclose(dense, expected, rtol=1e-5)
    np.testing.assert_allclose(sparse, dense, rtol=1e-6)
    untouched = [0, 2, 4]
    np.testing.assert_array_equal(sparse[untouched], np.arange(10).reshape(5, 2)[untouched])


def test_sparse_momentum_is_lazy_for_untouched_rows():
    lr, momentum, eps = 0.1, 0.5, 1e-6
    weights = np.arange(10, dtype=np.float64).reshape(5, 2)
    accumulator, velocity = np.zeros((5, 2)), np.zeros((5, 2))
    for values, rows in SLICES:
        gradient = np.zeros((5, 2))
        np.add.at(gradient, rows, np.asarray(values))
        used = np.unique(rows)
        accumulator[used] += gradient[used] ** 2
        step = lr * gradient[used] / np.sqrt(accumulator[used] + eps)
        velocity[used] = momentum * velocity[used] - step
        weights[used] += momentum * velocity[used] - step  # Nesterov, rows used only
    sparse = _run_slices(AdagradMomentum(learning_rate=lr, momentum=momentum, sparse_updates=True))
    np.testing.assert_allclose(sparse, weights, rtol=1e-5)
    # Row 3 was used only in the first step: the dense rule would still move it in the second.
    dense = _run_slices(AdagradMomentum(learning_rate=lr, momentum=momentum))
    assert not np.allclose(dense[3], sparse[3])
