"""SASRec in numpy: the Keras model's scores, from the model and from its .keras file."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.model.sasrec import build_model, model_config
from movielens_sbr.model.sasrec_numpy import NumpySASRec, SASRecWeights
from movielens_sbr.params import config_from_base

N_ITEMS = 15
MAX_LEN = 4


def test_numpy_scores_equal_the_keras_model_from_memory_and_from_file(tmp_path):
    keras.utils.set_random_seed(2)
    params = config_from_base("sasrec", max_len=MAX_LEN, hidden_size=8, n_heads=2, n_blocks=2)
    model = build_model(N_ITEMS, model_config(params, seed=0))
    path = tmp_path / "sasrec.keras"
    model.save(path)
    # Lengths 1, 3 and 7 (longer than max_len: the last four items count).
    sessions = SessionArrays.from_sequences([[3], [1, 4, 1], [5, 9, 2, 6, 5, 3, 5]])
    order = np.arange(3)
    matrix, lengths = sessions.padded(order), sessions.lengths[order]
    expected = np.stack(
        [
            np.asarray(model(np.array([row[max(0, n - MAX_LEN) : n]], np.int32)))[0, -1]
            for row, n in zip(matrix, lengths, strict=True)
        ]
    )
    from_model = NumpySASRec(model).scores(matrix, lengths)
    from_file = NumpySASRec(NumpySASRec.read_weights(path)).scores(matrix, lengths)
    np.testing.assert_allclose(from_model, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(from_file, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(NumpySASRec(model).item_vectors, np.asarray(model.item_vectors()))


def test_a_file_of_another_model_is_refused(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    path = tmp_path / "other.keras"
    model.save(path)
    with pytest.raises(NotImplementedError, match="not a SASRec"):
        SASRecWeights.read(path)
    with pytest.raises(NotImplementedError, match="not a SASRec"):
        NumpySASRec(model)
