"""GRU4Rec inference in numpy, from the exported step model's weights (no TensorFlow).

Used by the recommender: the same scores as ``GRU4RecScorer`` (Keras), within float32
rounding, at a fraction of the start-up time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from movielens_sbr.data.session_arrays import longer_than
from movielens_sbr.model.weights import StepWeights


class NumpyGRU4Rec:
    """Inference of the exported GRU4Rec step model in numpy.

    The step model is ``item -> [embedding | one-hot] -> GRU x k -> Dense(n_items)``. Keras'
    GRU cell (``reset_after=True``) is ``z, r = sigmoid(x W_zr + b + h U_zr + c)``,
    ``h~ = tanh(x W_h + b_h + r * (h U_h + c_h))``, ``h' = z h + (1 - z) h~``. The first
    layer's ``x W + b`` is precomputed for every item, so a step costs one ``[n, h] x
    [h, 3h]`` product; a call takes a whole batch of sessions, with no Python per event.
    Built from a Keras model or from ``StepWeights`` read from the ``.keras`` file.
    """

    # What the recommender reads from a saved ``.keras`` file to build one without Keras.
    read_weights = staticmethod(StepWeights.read)

    def __init__(self, model: Any):
        weights = model if isinstance(model, StepWeights) else StepWeights.from_model(model)
        grus = sorted((n for n in weights.layers if n.startswith("gru_")), key=lambda n: int(n[4:]))
        if not grus or "scores" not in weights:
            raise NotImplementedError("not a GRU4Rec step model (no gru_i / scores layers)")
        self.layers: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        expected = {
            "reset_after": True,
            "use_bias": True,
            "activation": "tanh",
            "recurrent_activation": "sigmoid",
        }
        for name in grus:
            layer = weights[name]
            if any(layer.config.get(key) != value for key, value in expected.items()):
                raise NotImplementedError(f"{name} is not a standard reset-after GRU")
            kernel, recurrent, bias = layer.weights
            self.layers.append((kernel, recurrent, bias[0], bias[1]))
        kernel, _, input_bias, _ = self.layers[0]
        self.output_weights, self.output_bias = weights["scores"].weights  # [hidden, n_items]
        if "item_embedding" in weights:
            self.item_vectors = weights["item_embedding"].weights[0]  # tied: also the output
            self.input_table = self.item_vectors @ kernel + input_bias
        else:  # one-hot input: x W is the item's row of W
            self.item_vectors = self.output_weights.T
            self.input_table = kernel + input_bias
        self.n_items = self.output_weights.shape[1]

    @staticmethod
    def _cell(projected, h, recurrent, recurrent_bias):
        """One GRU step, in place on temporaries (this loop is most of the scoring time)."""
        units = h.shape[1]
        inner = h @ recurrent
        inner += recurrent_bias
        gates = projected[:, : 2 * units] + inner[:, : 2 * units]  # z | r
        gates *= 0.5  # sigmoid(x) = (1 + tanh(x / 2)) / 2: no exp overflow
        np.tanh(gates, out=gates)
        gates += 1.0
        gates *= 0.5
        candidate = gates[:, units:] * inner[:, 2 * units :]
        candidate += projected[:, 2 * units :]
        np.tanh(candidate, out=candidate)
        h = h - candidate  # z h + (1 - z) h~ = h~ + z (h - h~)
        h *= gates[:, :units]
        h += candidate
        return h

    def final_hidden(self, matrix: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Last layer's state after each session; rows sorted by length, longest first."""
        n = len(lengths)
        states = [np.zeros((n, layer[1].shape[0]), np.float32) for layer in self.layers]
        for t, active in enumerate(longer_than(lengths)[:-1].tolist()):
            x = self.input_table[matrix[:active, t]]
            for i, (kernel, recurrent, input_bias, recurrent_bias) in enumerate(self.layers):
                if i:
                    x = x @ kernel + input_bias
                x = self._cell(x, states[i][:active], recurrent, recurrent_bias)
                states[i][:active] = x
        return states[-1]

    def scores(
        self, matrix: np.ndarray, lengths: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Scores over all items after each session (written into ``out`` when given)."""
        out = np.matmul(self.final_hidden(matrix, lengths), self.output_weights, out=out)
        out += self.output_bias
        return out
