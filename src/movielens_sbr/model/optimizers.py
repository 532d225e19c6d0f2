"""Adagrad with (Nesterov) momentum, the optimiser of the original GRU4Rec (no Kedro)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="movielens_sbr")
class AdagradMomentum(keras.optimizers.Optimizer):
    """Adagrad whose step is accumulated with momentum.

    acc += g^2;  v = momentum * v - lr * g / sqrt(acc + eps);
    plain momentum: w += v;  Nesterov: w += momentum * v - lr * g / sqrt(acc + eps).
    With ``momentum=0`` this is exactly Adagrad (with a zero initial accumulator).
    """

    def __init__(
        self,
        learning_rate: float = 0.05,
        momentum: float = 0.0,
        nesterov: bool = True,
        epsilon: float = 1e-6,
        name: str = "adagrad_momentum",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = momentum
        self.nesterov = nesterov
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = [
            self.add_variable_from_reference(v, name="accumulator") for v in var_list
        ]
        self._velocities = [self.add_variable_from_reference(v, name="velocity") for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        accumulator = self._accumulators[index]
        velocity = self._velocities[index]
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        self.assign_add(accumulator, ops.square(gradient))
        step = learning_rate * gradient / ops.sqrt(accumulator + self.epsilon)
        if self.momentum == 0:
            self.assign_sub(variable, step)
            return
        self.assign(velocity, self.momentum * velocity - step)
        if self.nesterov:
            self.assign_add(variable, self.momentum * velocity - step)
        else:
            self.assign_add(variable, velocity)

    def get_config(self):
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "epsilon": self.epsilon,
        }
