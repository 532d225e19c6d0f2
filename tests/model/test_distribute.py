"""Training under tf.distribute: one device, and MirroredStrategy on the one CPU."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from conftest import gru4rec_config
from movielens_sbr.model.batching import SessionArrays
from movielens_sbr.model.gru4rec import distribution_strategy, train

N_ITEMS = 40


def sessions() -> SessionArrays:
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 9, 60)
    items = rng.integers(0, N_ITEMS, int(lengths.sum())).astype(np.int32)
    return SessionArrays(items, np.r_[0, np.cumsum(lengths)].astype(np.int64))


def config(**changes):
    """Sampled cross-entropy (in-batch and sampled negatives, logQ), as at 85k items."""
    options = {
        "layers": (16,),
        "embedding": "constrained",
        "loss": "sampled_cross_entropy",
        "n_sample": 8,
        "batch_size": 4,
        "steps_per_call": 8,
        "optimizer": "adagrad",
        "learning_rate": 0.05,
        "momentum": 0.1,
        "epochs": 2,
        "seed": 1,
    }
    return gru4rec_config(**{**options, **changes})


@pytest.fixture(scope="module")
def without_strategy():
    return train(sessions(), N_ITEMS, config())


@pytest.mark.parametrize(
    "make_strategy",
    [
        lambda: tf.distribute.OneDeviceStrategy("/cpu:0"),
        lambda: tf.distribute.MirroredStrategy(["/cpu:0"]),
    ],
    ids=["one_device", "mirrored_one_cpu"],
)
def test_training_under_a_strategy_matches_training_without(make_strategy, without_strategy):
    plain = without_strategy
    distributed = train(sessions(), N_ITEMS, config(), strategy=make_strategy())
    losses = [epoch["loss"] for epoch in plain.history]
    assert [epoch["loss"] for epoch in distributed.history] == pytest.approx(losses, rel=1e-6)
    assert losses[1] < losses[0]  # it did learn something
    for ours, theirs in zip(
        distributed.model.get_weights(), plain.model.get_weights(), strict=True
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_batch_must_divide_among_replicas():
    class TwoReplicas(tf.distribute.OneDeviceStrategy):
        @property
        def num_replicas_in_sync(self):
            return 2

    with pytest.raises(ValueError, match="multiple of the 2 replicas"):
        train(sessions(), N_ITEMS, config(batch_size=3), strategy=TwoReplicas("/cpu:0"))


def test_strategies_by_parameter_name():
    assert distribution_strategy("none") is None
    one = distribution_strategy("one_device")
    assert isinstance(one, tf.distribute.OneDeviceStrategy) and one.num_replicas_in_sync == 1
    assert isinstance(distribution_strategy("mirrored"), tf.distribute.MirroredStrategy)
    with pytest.raises(ValueError, match="one_device"):
        distribution_strategy("tpu")
