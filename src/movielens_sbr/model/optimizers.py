"""Adagrad with (Nesterov) momentum, the optimiser of the original GRU4Rec (no Kedro)."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="movielens_sbr")
class AdagradMomentum(keras.optimizers.Optimizer):
    """Adagrad whose step is accumulated with momentum.

    acc += g^2;  v = momentum * v - lr * g / sqrt(acc + eps);
    plain momentum: w += v;  Nesterov: w += momentum * v - lr * g / sqrt(acc + eps).
    With ``momentum=0`` this is exactly Adagrad (with a zero initial accumulator).

    ``sparse_updates``: a gradient that arrives as ``tf.IndexedSlices`` (the rows of an
    item table that a step looked up or sampled) updates only those rows instead of the
    whole table, the difference between O(rows used) and O(catalogue) per step. Exact for
    Adagrad (an untouched row has a zero gradient, so nothing of it changes); with momentum
    the velocity of an untouched row waits until the row is used again (lazy momentum).
    """

    def __init__(
        self,
        learning_rate: float = 0.05,
        momentum: float = 0.0,
        nesterov: bool = True,
        epsilon: float = 1e-6,
        sparse_updates: bool = False,
        name: str = "adagrad_momentum",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = momentum
        self.nesterov = nesterov
        self.epsilon = epsilon
        self.sparse_updates = sparse_updates

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = [
            self.add_variable_from_reference(v, name="accumulator") for v in var_list
        ]
        self._velocities = [self.add_variable_from_reference(v, name="velocity") for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        if isinstance(gradient, tf.IndexedSlices) and self.sparse_updates:
            self._sparse_update_step(gradient, variable, learning_rate)
            return
        index = self._get_variable_index(variable)
        if isinstance(gradient, tf.IndexedSlices):
            # Densify first: squaring the slices would add the squares of a repeated row's
            # parts to the accumulator instead of the square of their sum.
            values, indices = tf.cast(gradient.values, variable.dtype), gradient.indices
        else:
            values, indices = tf.cast(gradient, variable.dtype), None
        accumulator = self._accumulators[index]
        velocity = self._velocities[index]
        # Values in, values out: Keras' reads and assigns map each variable to this
        # device's copy under tf.distribute.
        updated = _fused_dense_update(
            tf.convert_to_tensor(_tensor(variable)),
            tf.convert_to_tensor(_tensor(accumulator)),
            tf.convert_to_tensor(_tensor(velocity)),
            values,
            indices,
            tf.cast(learning_rate, variable.dtype),
            self.momentum,
            self.nesterov,
            self.epsilon,
        )
        # Without momentum there is no velocity to write: two values come back, not three.
        for target, value in zip((variable, accumulator, velocity), updated, strict=False):
            self.assign(target, value)

    def _sparse_update_step(self, gradient: tf.IndexedSlices, variable, learning_rate):
        index = self._get_variable_index(variable)
        accumulator = self._accumulators[index]
        velocity = self._velocities[index]
        # A row can appear several times (a repeated item, a sampled negative that is also a
        # target): sum its parts first, since scattering duplicates keeps only one of them.
        rows, position = tf.unique(gradient.indices)
        grad = tf.math.unsorted_segment_sum(
            tf.cast(gradient.values, variable.dtype), position, tf.shape(rows)[0]
        )
        learning_rate = tf.cast(learning_rate, variable.dtype)
        accumulated = tf.gather(_tensor(accumulator), rows) + tf.square(grad)
        self.assign(accumulator, tf.IndexedSlices(accumulated, rows))
        step = learning_rate * grad / tf.sqrt(accumulated + self.epsilon)
        if self.momentum == 0:
            self.assign_sub(variable, tf.IndexedSlices(step, rows))
            return
        moved = self.momentum * tf.gather(_tensor(velocity), rows) - step
        self.assign(velocity, tf.IndexedSlices(moved, rows))
        update = self.momentum * moved - step if self.nesterov else moved
        self.assign_add(variable, tf.IndexedSlices(update, rows))

    def get_config(self):
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "epsilon": self.epsilon,
            "sparse_updates": self.sparse_updates,
        }


@tf.function(jit_compile=True)
def _fused_dense_update(
    variable, accumulator, velocity, values, indices, learning_rate, momentum, nesterov, epsilon
):
    """New (variable, accumulator[, velocity]) values, computed in one XLA kernel.

    One pass over each table instead of a dozen: on this 2-core CPU the unfused ops took
    about half the op time of a 256-unit sampled training step (docs/benchmarks.md,
    changelog: the training speed-up). ``indices`` not None: ``values`` are row slices, summed
    per row first.
    """
    gradient = (
        values
        if indices is None
        else tf.math.unsorted_segment_sum(values, indices, tf.shape(variable)[0])
    )
    accumulated = accumulator + tf.square(gradient)
    step = learning_rate * gradient / tf.sqrt(accumulated + epsilon)
    if momentum == 0:
        return variable - step, accumulated
    moved = momentum * velocity - step
    return variable + (momentum * moved - step if nesterov else moved), accumulated, moved


def _tensor(variable):
    """The backend variable behind a Keras variable (for reads and gathers)."""
    return variable.value if isinstance(variable, keras.Variable) else variable
