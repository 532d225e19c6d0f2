"""GRU4Rec inference in numpy: the same scores as the Keras step model."""

from __future__ import annotations

import numpy as np

from conftest import gru4rec_config
from movielens_sbr.model.gru4rec import GRU4RecScorer, build_step_model
from movielens_sbr.model.gru4rec_numpy import NumpyGRU4Rec
from movielens_sbr.model.weights import StepWeights


def test_numpy_gru_equals_the_keras_step_model(tmp_path):
    n_items = 30
    for config in (
        gru4rec_config(layers=(8, 6), embedding="onehot"),
        gru4rec_config(layers=(7,), embedding="embedding", embedding_dim=5),
        gru4rec_config(layers=(6, 5), embedding="constrained"),
    ):
        model = build_step_model(n_items, config)
        rng = np.random.default_rng(0)
        for layer in model.layers:  # non-zero biases too
            layer.set_weights([rng.normal(0, 0.5, w.shape) for w in layer.get_weights()])
        sessions = [rng.integers(0, n_items, size) for size in (5, 3, 1)]
        scorer = GRU4RecScorer(model)
        scorer.start(3)
        matrix = np.zeros((3, 5), np.int32)
        for row, session in enumerate(sessions):
            matrix[row, : len(session)] = session
        expected = np.zeros((3, n_items), np.float32)
        lengths = np.array([5, 3, 1])
        for t in range(5):
            active = int((lengths > t).sum())
            scores = scorer.step(matrix[:active, t])
            for row in range(active):
                if lengths[row] == t + 1:
                    expected[row] = scores[row]
        got = NumpyGRU4Rec(model).scores(matrix, lengths)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
        # The same from the weights read back from the saved file, without Keras.
        path = tmp_path / f"{config.embedding}.keras"
        model.save(path)
        from_file = NumpyGRU4Rec(StepWeights.read(path)).scores(matrix, lengths)
        np.testing.assert_allclose(from_file, expected, rtol=1e-4, atol=1e-5)
