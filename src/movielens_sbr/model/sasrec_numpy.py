"""SASRec inference in numpy, from the weights of its ``.keras`` file (no TensorFlow).

The same computation as ``model/sasrec.py`` in inference mode: the last ``max_len`` items
of a session, their embeddings times sqrt(hidden) plus the position embeddings, then per
block a pre-norm causal multi-head attention and a pre-norm point-wise feed-forward network
(each with a residual), a final layer norm; the scores of the next item are the last
position's hidden state times every item's embedding. ``NumpySASRec.read(path)`` reads the
weights from the ``.keras`` zip with h5py, checking every shape against the saved
configuration (``NotImplementedError`` for a file laid out otherwise), so the recommender
answers without importing TensorFlow.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

EPSILON = 1e-6  # of every layer norm, as in model/sasrec.py


@dataclass(frozen=True)
class SASRecWeights:
    """The arrays of a SASRec network and its configuration."""

    config: dict  # n_items, max_len, hidden_size, n_heads, n_blocks
    item_embedding: np.ndarray  # [n_items + 1, hidden] (the last row is the padding item)
    position_embedding: np.ndarray  # [max_len, hidden]
    blocks: list[dict[str, np.ndarray]]
    final_norm: tuple[np.ndarray, np.ndarray]

    @classmethod
    def from_model(cls, model: Any) -> SASRecWeights:
        """From a Keras ``SASRec`` in memory."""
        config = {key: model.get_config()[key] for key in _CONFIG_KEYS}
        blocks = []
        for block in model.blocks:
            attention = block.attention
            blocks.append(
                {
                    "attention_norm": _layer(block.attention_norm),
                    "query": _layer(attention._query_dense),
                    "key": _layer(attention._key_dense),
                    "value": _layer(attention._value_dense),
                    "output": _layer(attention._output_dense),
                    "feed_forward_norm": _layer(block.feed_forward_norm),
                    "feed_forward_inner": _layer(block.feed_forward_inner),
                    "feed_forward_outer": _layer(block.feed_forward_outer),
                }
            )
        weights = cls(
            config,
            np.asarray(model.item_embedding.embeddings, np.float32),
            np.asarray(model.position_embedding.embeddings, np.float32),
            [{name: tuple(arrays) for name, arrays in block.items()} for block in blocks],
            tuple(_layer(model.final_norm)),
        )
        weights.check("the model")
        return weights

    @classmethod
    def read(cls, path: str | Path) -> SASRecWeights:
        """From a ``.keras`` file, with h5py."""
        import h5py  # a Keras dependency; imported here, as only this reader needs it

        with zipfile.ZipFile(path) as archive:
            saved = json.loads(archive.read("config.json"))
            weights_file = io.BytesIO(archive.read("model.weights.h5"))
        if saved.get("class_name") != "SASRec":
            raise NotImplementedError(f"{path} holds a {saved.get('class_name')}, not a SASRec")
        config = {key: saved["config"][key] for key in _CONFIG_KEYS}
        with h5py.File(weights_file, "r") as store:

            def arrays(group: str) -> tuple[np.ndarray, ...]:
                if f"{group}/vars" not in store:
                    raise NotImplementedError(f"{path}: no weights group {group}")
                held = store[f"{group}/vars"]
                return tuple(np.asarray(held[k], np.float32) for k in sorted(held, key=int))

            blocks = []
            for index in range(config["n_blocks"]):
                block = "blocks/causal_self_attention_block" + (f"_{index}" if index else "")
                attention = f"{block}/attention"
                blocks.append(
                    {
                        "attention_norm": arrays(f"{block}/attention_norm"),
                        "query": arrays(f"{attention}/query_dense"),
                        "key": arrays(f"{attention}/key_dense"),
                        "value": arrays(f"{attention}/value_dense"),
                        "output": arrays(f"{attention}/output_dense"),
                        "feed_forward_norm": arrays(f"{block}/feed_forward_norm"),
                        "feed_forward_inner": arrays(f"{block}/feed_forward_inner"),
                        "feed_forward_outer": arrays(f"{block}/feed_forward_outer"),
                    }
                )
            # Keras files the position embedding under the model's tracked layers.
            positions = [
                arrays(f"layers/{name}")[0]
                for name in store.get("layers", {})
                if f"layers/{name}/vars/0" in store
            ]
            if len(positions) != 1:
                raise NotImplementedError(f"{path}: no single position embedding")
            weights = cls(
                config,
                arrays("item_embedding")[0],
                positions[0],
                blocks,
                arrays("final_norm"),
            )
        weights.check(path)
        return weights

    def check(self, source: Any) -> None:
        """Every array has the shape the configuration implies."""
        n, length = self.config["n_items"], self.config["max_len"]
        hidden, heads = self.config["hidden_size"], self.config["n_heads"]
        head = hidden // heads
        expected_block = {
            "attention_norm": [(hidden,), (hidden,)],
            "query": [(hidden, heads, head), (heads, head)],
            "key": [(hidden, heads, head), (heads, head)],
            "value": [(hidden, heads, head), (heads, head)],
            "output": [(heads, head, hidden), (hidden,)],
            "feed_forward_norm": [(hidden,), (hidden,)],
            "feed_forward_inner": [(hidden, hidden), (hidden,)],
            "feed_forward_outer": [(hidden, hidden), (hidden,)],
        }
        shapes = [
            (self.item_embedding.shape, (n + 1, hidden)),
            (self.position_embedding.shape, (length, hidden)),
            ([a.shape for a in self.final_norm], [(hidden,), (hidden,)]),
            (len(self.blocks), self.config["n_blocks"]),
            *(
                ([a.shape for a in block[name]], expected)
                for block in self.blocks
                for name, expected in expected_block.items()
            ),
        ]
        for got, expected in shapes:
            if got != expected:
                raise NotImplementedError(f"{source}: weights of shape {got}, expected {expected}")


_CONFIG_KEYS = ("n_items", "max_len", "hidden_size", "n_heads", "n_blocks")


def _layer(layer: Any) -> list[np.ndarray]:
    return [np.asarray(w, np.float32) for w in layer.get_weights()]


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + EPSILON) * gamma + beta


class NumpySASRec:
    """Scores of the next item after each session, from a Keras ``SASRec`` or its
    ``SASRecWeights``; a call takes a whole batch of sessions."""

    def __init__(self, model: Any):
        self.weights = model if isinstance(model, SASRecWeights) else _from_model(model)
        self.n_items = self.weights.config["n_items"]
        self.max_len = self.weights.config["max_len"]
        self.item_vectors = self.weights.item_embedding[: self.n_items]

    read_weights = staticmethod(SASRecWeights.read)

    def encode(self, windows: np.ndarray) -> np.ndarray:
        """Hidden states ``[B, L, hidden]`` of windows ``[B, L]`` (padding -1 after the
        items, at most ``max_len`` columns)."""
        w = self.weights
        hidden = w.config["hidden_size"]
        items = np.where(windows < 0, self.n_items, windows)
        length = windows.shape[1]
        x = w.item_embedding[items] * np.sqrt(hidden) + w.position_embedding[:length]
        future = np.triu(np.ones((length, length), dtype=bool), k=1)
        for block in w.blocks:
            normed = _layer_norm(x, *block["attention_norm"])
            q, k, v = (
                np.einsum("blh,hnd->blnd", normed, kernel) + bias
                for kernel, bias in (block["query"], block["key"], block["value"])
            )
            scores = np.einsum("blnd,bmnd->bnlm", q / np.sqrt(q.shape[-1]), k)
            scores = np.where(future, -np.inf, scores)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            attention = scores / scores.sum(axis=-1, keepdims=True)
            attended = np.einsum("bnlm,bmnd->blnd", attention, v)
            kernel, bias = block["output"]
            x = x + np.einsum("blnd,ndh->blh", attended, kernel) + bias
            inner_kernel, inner_bias = block["feed_forward_inner"]
            outer_kernel, outer_bias = block["feed_forward_outer"]
            inner = _layer_norm(x, *block["feed_forward_norm"]) @ inner_kernel + inner_bias
            x = x + np.maximum(inner, 0.0) @ outer_kernel + outer_bias
        return _layer_norm(x, *w.final_norm).astype(np.float32)

    def scores(
        self, matrix: np.ndarray, lengths: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Scores ``[n, n_items]`` after the last item of each row of ``matrix`` (sessions
        padded with -1, ``lengths`` items each, at least one), from its last ``max_len``."""
        lengths = np.asarray(lengths)
        width = int(min(lengths.max(), self.max_len))
        start = np.maximum(lengths - width, 0)
        columns = start[:, None] + np.arange(width)
        windows = np.take_along_axis(matrix, np.minimum(columns, matrix.shape[1] - 1), axis=1)
        windows = np.where(columns < lengths[:, None], windows, -1)
        last = np.minimum(lengths, width) - 1
        hidden = self.encode(windows)[np.arange(len(lengths)), last]
        return np.matmul(hidden, self.item_vectors.T, out=out)


def _from_model(model: Any) -> SASRecWeights:
    if type(model).__name__ != "SASRec":
        raise NotImplementedError(f"not a SASRec model: {type(model).__name__}")
    return SASRecWeights.from_model(model)
