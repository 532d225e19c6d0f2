"""Training under tf.distribute: one device, one replica, and two replicas on a split CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from conftest import gru4rec_config, json_of_python
from movielens_sbr.data.session_arrays import SessionArrays
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
    with pytest.raises(ValueError, match="one_device"):
        distribution_strategy("tpu")


def test_strategies_that_cannot_run_here_say_what_to_set(monkeypatch):
    # This process sees one CPU device and no GPU: mirrored would be a single replica.
    with pytest.raises(
        ValueError, match=r"mirrored found no GPU and one CPU device: .*set training\.distribute"
    ) as mirrored:
        distribution_strategy("mirrored")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(
        ValueError, match="multi_worker needs the TF_CONFIG environment variable"
    ) as multi_worker:
        distribution_strategy("multi_worker")
    for error in (mirrored, multi_worker):
        assert "\n" not in str(error.value)  # one line: what, and what to set instead


REPLICAS_SCRIPT = Path(__file__).with_name("replicas.py")


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["cross_entropy", "sampled_cross_entropy", "bpr_max"])
def test_two_replicas_follow_one_replica(loss):
    """MirroredStrategy over two logical CPU devices, fused Adagrad update with momentum:
    the same global batch gives the same loss curve, validation metrics and weights.

    Tolerance: float32 sums in another order (each replica sums its own lanes, then the
    gradients are all-reduced), so losses agree to a relative 1e-5, weights to 1e-5 of
    their scale, and Recall@20 to within one validation prediction (a score tie broken
    the other way).
    """
    # The timeout guards against a hang: about 15 CPU s, minutes on a loaded machine.
    result = json_of_python(str(REPLICAS_SCRIPT), loss, timeout=900)
    assert result["replicas"] == 2
    one, two = result["one"], result["two"]
    assert [e["loss"] for e in two] == pytest.approx([e["loss"] for e in one], rel=1e-5)
    assert one[1]["loss"] < one[0]["loss"]  # it learns: the comparison is not of noise
    one_step = 1 / result["predictions"]
    for ours, theirs in zip(two, one, strict=True):
        assert ours["valid_recall@20"] == pytest.approx(theirs["valid_recall@20"], abs=one_step)
    assert result["weight_difference"] <= 1e-5 * result["weight_scale"]


@pytest.mark.slow
def test_each_replica_draws_its_own_dropout_masks():
    """Keras' Dropout gives lane j of every replica the same mask (equal seed states);
    ReplicaDropout folds the replica id into the seed, and on one device is Dropout."""
    result = json_of_python(str(REPLICAS_SCRIPT.with_name("replica_dropout.py")), timeout=300)
    assert result["replicas"] == 2
    assert result["one_device_equal"]  # single-device training is unchanged
    assert result["keras_replicas_equal"]  # the limitation this layer removes
    assert not result["ours_replicas_equal"]
    assert all(0.3 < share < 0.7 for share in result["ours_kept_share"])  # rate 0.5 each
