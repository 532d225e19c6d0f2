"""Layer weights of a saved GRU4Rec step model, read without Keras or TensorFlow.

A ``.keras`` file is a zip of ``config.json`` (the layers, in order) and
``model.weights.h5``, where Keras 3 stores the weights of ``model.layers[i]`` under
``layers/<class name in snake case>[_<n>]`` (``_1``, ``_2``, ... for the second, third
layer of a class) and a GRU's under ``.../cell/vars``. Reading them with h5py takes a
fraction of a second, where importing TensorFlow and rebuilding the model take seconds;
``StepWeights.from_model`` gives the same mapping from a model in memory. Every array is
checked against the shape its layer's configuration implies, so a file laid out
differently is refused (``NotImplementedError``) rather than misread.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Layer:
    """One layer of the step model: its Keras class, configuration and weights."""

    class_name: str
    config: dict
    weights: list[np.ndarray]


def _snake_case(name: str) -> str:
    """Keras' name for a class in the weights file: ``CategoryEncoding`` ->
    ``category_encoding``, ``GRU`` -> ``gru``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _arrays(group: Any) -> list[np.ndarray]:
    """A layer's arrays in ``get_weights()`` order: its own ``vars/0..``, then those of its
    sublayers (a GRU's ``cell``)."""
    arrays = []
    if "vars" in group:
        own = group["vars"]
        arrays += [np.asarray(own[key], dtype=np.float32) for key in sorted(own, key=int)]
    for key in sorted(group):
        if key != "vars" and hasattr(group[key], "keys"):
            arrays += _arrays(group[key])
    return arrays


def _expected_shapes(layer: Layer, inputs: int | None) -> list[tuple] | None:
    """The weight shapes a layer's configuration implies (None: a layer not checked)."""
    config = layer.config
    if layer.class_name == "Embedding":
        return [(config["input_dim"], config["output_dim"])]
    if layer.class_name == "GRU":
        units = config["units"]
        return [(inputs, 3 * units), (units, 3 * units), (2, 3 * units)]
    if layer.class_name == "Dense":
        return [(inputs, config["units"]), (config["units"],)]
    return None


class StepWeights:
    """Layer name -> ``Layer`` for the layers of a step model that hold weights."""

    def __init__(self, layers: dict[str, Layer]):
        self.layers = layers

    def __contains__(self, name: str) -> bool:
        return name in self.layers

    def __getitem__(self, name: str) -> Layer:
        return self.layers[name]

    @classmethod
    def from_model(cls, model: Any) -> StepWeights:
        """From a Keras model in memory."""
        weights = cls(
            {
                layer.name: Layer(
                    type(layer).__name__,
                    layer.get_config(),
                    [np.asarray(w, dtype=np.float32) for w in layer.get_weights()],
                )
                for layer in model.layers
                if layer.weights
            }
        )
        weights._check_shapes(model.name)
        return weights

    @classmethod
    def read(cls, path: str | Path) -> StepWeights:
        """From a ``.keras`` file, with h5py; the shapes are checked against the config."""
        import h5py  # a Keras dependency; imported here, as only this reader needs it

        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            weights_file = io.BytesIO(archive.read("model.weights.h5"))
        if config.get("class_name") not in {"Functional", "Model"}:
            raise NotImplementedError(f"{path} holds a {config.get('class_name')}, not a model")
        layers: dict[str, Layer] = {}
        used: dict[str, int] = {}
        with h5py.File(weights_file, "r") as store:
            for entry in config["config"]["layers"]:
                key = _snake_case(entry["class_name"])
                used[key] = used.get(key, -1) + 1
                path_in_store = f"layers/{key}" + (f"_{used[key]}" if used[key] else "")
                if path_in_store not in store:
                    raise NotImplementedError(f"{path}: no weights group {path_in_store}")
                arrays = _arrays(store[path_in_store])
                if arrays:
                    name = entry["config"]["name"]
                    layers[name] = Layer(entry["class_name"], entry["config"], arrays)
        weights = cls(layers)
        weights._check_shapes(path)
        return weights

    def _check_shapes(self, source: Any) -> None:
        inputs = None  # the width flowing into the next layer
        for name, layer in self.layers.items():
            expected = _expected_shapes(layer, inputs)
            if expected is None:
                raise NotImplementedError(f"{source}: unexpected layer {name} ({layer.class_name})")
            if expected[0][0] is None:  # a GRU on the one-hot input: one kernel row per item
                expected[0] = (layer.weights[0].shape[0], expected[0][1])
            if [w.shape for w in layer.weights] != expected:
                raise NotImplementedError(
                    f"{source}: weights of {name} have shapes "
                    f"{[w.shape for w in layer.weights]}, expected {expected}"
                )
            inputs = layer.config["output_dim" if layer.class_name == "Embedding" else "units"]
