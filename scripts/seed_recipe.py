"""The seed tutorial's GRU recipe, written for the benchmark only (a reference, not a product).

One-hot input, a stateful GRU(50), a Dense softmax, Adam 1e-3, one ``train_on_batch`` per
step from Python, batch 2048, and the hidden rows of finished sessions reset by hand.
It shares our lane schedule, so the two differ only in the model and the training loop.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.model.batching import lane_schedule
from movielens_sbr.model.gru4rec import build_step_model

HIDDEN = 50
BATCH = 2048


def build(n_items: int) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(batch_shape=(BATCH, 1, n_items)),
            keras.layers.GRU(HIDDEN, stateful=True, name="gru"),
            keras.layers.Dense(n_items, activation="softmax", name="scores"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    return model


def train_for(
    train: SessionArrays, n_items: int, budget_s: float, seed: int
) -> tuple[keras.Model, dict]:
    """Train until ``budget_s`` seconds have passed (whole steps); returns model and timings."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = build(n_items)
    gru = model.get_layer("gru")
    identity = np.eye(n_items, dtype=np.float32)
    events = steps = 0
    warm_events, warm_steps, warm_started = 0, 0, None
    started = time.perf_counter()
    epochs = 0
    while time.perf_counter() - started < budget_s:
        schedule = lane_schedule(train, BATCH, rng)
        epochs += 1
        for step in range(schedule.n_steps):
            if time.perf_counter() - started >= budget_s:
                break
            keep = (~schedule.reset[step]).astype(np.float32)[:, None]
            gru.states[0].assign(gru.states[0] * keep)
            x = identity[schedule.inputs[step]][:, None, :]
            model.train_on_batch(
                x, schedule.targets[step], sample_weight=schedule.valid[step].astype(np.float32)
            )
            events += int(schedule.valid[step].sum())
            steps += 1
            if steps == 5:  # the first steps include tracing: measure after them
                warm_started, warm_events, warm_steps = time.perf_counter(), events, steps
    seconds = time.perf_counter() - started
    warm_seconds = time.perf_counter() - warm_started if warm_started else seconds
    return model, {
        "train_s": seconds,
        "events": events,
        "epochs_started": epochs,
        "events_per_s": (events - warm_events) / warm_seconds,
        # Every step computes all BATCH lanes, idle or not. The longest train session bounds
        # an epoch from below (one step per event), so at batch 2048 most lane-steps idle:
        # lane-steps/s is the recipe's raw speed, events/s what it learns from.
        "lane_steps_per_s": (steps - warm_steps) * BATCH / warm_seconds,
        "lane_utilisation": events / max(steps * BATCH, 1),
    }


def as_step_model(model: keras.Model, n_items: int) -> keras.Model:
    """The trained recipe as our step model (one-hot GRU + Dense), for the shared evaluator.

    Softmax is monotonic, so ranking by the Dense logits equals ranking by its output.
    """
    from movielens_sbr.model.training_setup import model_config
    from movielens_sbr.params import config_from_base

    options = config_from_base("training", layers=[HIDDEN], embedding="onehot", batch_size=BATCH)
    step = build_step_model(n_items, model_config(options, seed=0))
    step.set_weights(model.get_weights())
    return step
