"""Run by tests/model/test_distribute.py in a fresh process: one replica against two.

The CPU is split into two logical devices before TensorFlow starts its runtime, which the
test process has already done. Usage: ``python replicas.py LOSS [CONFIG_JSON]``; prints one
JSON line with the history and final weights' differences of both runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from movielens_sbr.data.session_arrays import SessionArrays  # noqa: E402
from movielens_sbr.evaluation.evaluator import evaluate  # noqa: E402
from movielens_sbr.model.gru4rec import (  # noqa: E402
    GRU4RecConfig,
    GRU4RecScorer,
    distribution_strategy,
    train,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: conftest
from conftest import MODEL_TEST_OPTIONS  # noqa: E402

N_ITEMS = 40


def chain_sessions(n_sessions: int, seed: int) -> SessionArrays:
    """Sessions that mostly follow item i with i + 1: something to learn in two epochs."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 9, n_sessions)
    n_events = int(lengths.sum())
    steps = np.where(rng.random(n_events) < 0.8, 1, rng.integers(2, N_ITEMS, n_events))
    items = np.cumsum(steps) % N_ITEMS
    return SessionArrays(items.astype(np.int32), np.r_[0, np.cumsum(lengths)].astype(np.int64))


def validate(model) -> dict[str, float]:
    predictions = evaluate(GRU4RecScorer(model), chain_sessions(30, seed=1), N_ITEMS)
    return predictions.metrics([20])


def main() -> None:
    options = {
        **MODEL_TEST_OPTIONS,
        "layers": (16,),
        "embedding": "constrained",
        "loss": sys.argv[1],
        "n_sample": 8,
        "batch_size": 8,
        "steps_per_call": 16,
        "optimizer": "adagrad",
        "learning_rate": 0.1,
        "momentum": 0.1,
        "epochs": 2,
        "seed": 1,
        **(json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}),
    }
    config = GRU4RecConfig(**options)
    strategy = distribution_strategy("mirrored")
    one = train(chain_sessions(80, seed=0), N_ITEMS, config, validate)
    two = train(chain_sessions(80, seed=0), N_ITEMS, config, validate, strategy=strategy)
    differences = [
        float(np.abs(a - b).max())
        for a, b in zip(one.model.get_weights(), two.model.get_weights(), strict=True)
    ]
    print(
        json.dumps(
            {
                "replicas": strategy.num_replicas_in_sync,
                "predictions": int((chain_sessions(30, seed=1).lengths - 1).sum()),
                "one": one.history,
                "two": two.history,
                "weight_difference": max(differences),
                "weight_scale": max(float(np.abs(w).max()) for w in one.model.get_weights()),
            }
        )
    )


if __name__ == "__main__":
    main()
