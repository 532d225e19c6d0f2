"""Reading a saved step model's weights with h5py: the same arrays Keras holds, or a refusal."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from conftest import gru4rec_config
from movielens_sbr.model.gru4rec import build_step_model
from movielens_sbr.model.weights import StepWeights


def randomised(model: keras.Model) -> keras.Model:
    rng = np.random.default_rng(0)
    for layer in model.layers:
        layer.set_weights([rng.normal(0, 0.5, w.shape) for w in layer.get_weights()])
    return model


@pytest.mark.parametrize(
    "config",
    [
        gru4rec_config(layers=(8, 6, 4), embedding="onehot"),
        gru4rec_config(layers=(7, 7), embedding="embedding", embedding_dim=5),
        gru4rec_config(layers=(6,), embedding="constrained"),
    ],
    ids=lambda c: c.embedding,
)
def test_read_gives_every_layer_keras_holds(config, tmp_path):
    model = randomised(build_step_model(30, config))
    model.save(tmp_path / "model.keras")
    read = StepWeights.read(tmp_path / "model.keras")
    in_memory = StepWeights.from_model(model)
    assert list(read.layers) == list(in_memory.layers)  # same layers, same order
    assert [name for name in read.layers if name.startswith("gru_")] == [
        f"gru_{i}" for i in range(len(config.layers))
    ]
    for name, layer in in_memory.layers.items():
        assert read[name].class_name == layer.class_name
        assert len(read[name].weights) == len(layer.weights)
        for got, expected in zip(read[name].weights, layer.weights, strict=True):
            np.testing.assert_array_equal(got, expected)


def test_reading_does_not_import_tensorflow(tmp_path):
    randomised(build_step_model(30, gru4rec_config(layers=(6,)))).save(tmp_path / "m.keras")
    code = (
        "import sys\n"
        "from movielens_sbr.model.weights import StepWeights\n"
        f"weights = StepWeights.read({str(tmp_path / 'm.keras')!r})\n"
        "assert 'gru_0' in weights\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_file_laid_out_differently_is_refused(tmp_path):
    model = randomised(build_step_model(30, gru4rec_config(layers=(6,))))
    model.save(tmp_path / "model.keras")
    # The same weights under a config that claims wider GRU units: shapes disagree.
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "GRU":
            entry["config"]["units"] = 9
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "changed.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(NotImplementedError, match="gru_0 have shapes"):
        StepWeights.read(tmp_path / "changed.keras")


def test_a_model_with_other_layers_is_refused():
    item = keras.Input((), dtype="int32", name="item")
    hidden = keras.layers.Embedding(30, 4, name="item_embedding")(item)
    hidden = keras.layers.LayerNormalization(name="norm")(hidden)
    model = keras.Model(item, keras.layers.Dense(30, name="scores")(hidden))
    with pytest.raises(NotImplementedError, match="unexpected layer norm"):
        StepWeights.from_model(model)
