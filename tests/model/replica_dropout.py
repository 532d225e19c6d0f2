"""Run by tests/model/test_distribute.py in a fresh process: dropout masks per replica.

The CPU is split into two logical devices before TensorFlow starts its runtime. Prints one
JSON line: whether ``ReplicaDropout`` equals Keras' ``Dropout`` on one device, and whether
each gives the two replicas of a ``MirroredStrategy`` equal masks.
"""

from __future__ import annotations

import json

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402

from movielens_sbr.model.gru4rec import ReplicaDropout  # noqa: E402

SHAPE = (8, 32)


def main() -> None:
    inputs = tf.ones(SHAPE)
    one_device = [
        np.asarray(layer(inputs, training=True))
        for layer in (keras.layers.Dropout(0.5, seed=7), ReplicaDropout(0.5, seed=7))
    ]
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        layers = {"keras": keras.layers.Dropout(0.5, seed=7), "ours": ReplicaDropout(0.5, seed=7)}
    replicas = {}
    for name, layer in layers.items():
        per_replica = strategy.run(lambda layer=layer: layer(tf.ones(SHAPE), training=True))
        replicas[name] = [np.asarray(v) for v in strategy.experimental_local_results(per_replica)]
    print(
        json.dumps(
            {
                "replicas": strategy.num_replicas_in_sync,
                "one_device_equal": bool(np.array_equal(*one_device)),
                "keras_replicas_equal": bool(np.array_equal(*replicas["keras"])),
                "ours_replicas_equal": bool(np.array_equal(*replicas["ours"])),
                "ours_kept_share": [float(np.mean(m > 0)) for m in replicas["ours"]],
            }
        )
    )


if __name__ == "__main__":
    main()
