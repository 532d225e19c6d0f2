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
