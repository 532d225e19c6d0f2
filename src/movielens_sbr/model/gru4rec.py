"""GRU4Rec in Keras: the network, its session-parallel training loop and a scorer.

The saved artefact is a plain Keras functional *step model* built from standard layers:
``(item, state_0, ..., state_k) -> (scores, new_state_0, ..., new_state_k)``. It loads
with ``keras.models.load_model`` alone, no project code needed. Training runs many steps
per compiled call (``tf.function`` over ``tf.range``), so Python is touched once per
chunk of steps, and only the item ids of each chunk travel from host to graph.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from movielens_sbr.model.batching import LaneSchedule, SessionArrays, lane_schedule

logger = logging.getLogger(__name__)

EMBEDDING_MODES = ("embedding", "onehot")
OPTIMIZERS = ("adam", "adagrad")


@dataclass(frozen=True)
class GRU4RecConfig:
    """Every training choice of the model; defaults are the project's tuned values."""

    layers: tuple[int, ...] = (256,)
    embedding: str = "embedding"
    embedding_dim: int = 256
    dropout_embedding: float = 0.0
    dropout_hidden: float = 0.0
    optimizer: str = "adam"
    learning_rate: float = 0.001
    batch_size: int = 128
    epochs: int = 10
    steps_per_call: int = 64
    selection_metric: str = "recall@20"
    seed: int = 42
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.embedding not in EMBEDDING_MODES:
            raise ValueError(f"embedding must be one of {EMBEDDING_MODES}, got {self.embedding!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")


def build_step_model(n_items: int, config: GRU4RecConfig) -> keras.Model:
    """One GRU4Rec step as a functional model of standard Keras layers."""
    item = keras.Input(shape=(), dtype="int32", name="item")
    states = [keras.Input(shape=(size,), name=f"state_{i}") for i, size in enumerate(config.layers)]
    if config.embedding == "onehot":
        x = keras.layers.CategoryEncoding(n_items, output_mode="one_hot", name="onehot")(item)
    else:
        x = keras.layers.Embedding(n_items, config.embedding_dim, name="item_embedding")(item)
    x = keras.layers.Dropout(config.dropout_embedding, name="dropout_embedding")(x)
    new_states = []
    for i, (size, state) in enumerate(zip(config.layers, states, strict=True)):
        sequence = keras.layers.Reshape((1, -1), name=f"as_sequence_{i}")(x)
        x, new_state = keras.layers.GRU(size, return_state=True, unroll=True, name=f"gru_{i}")(
            sequence, initial_state=state
        )
        new_states.append(new_state)
        x = keras.layers.Dropout(config.dropout_hidden, name=f"dropout_hidden_{i}")(x)
    scores = keras.layers.Dense(n_items, name="scores")(x)
    return keras.Model([item, *states], [scores, *new_states], name="gru4rec_step")


def _make_optimizer(config: GRU4RecConfig) -> keras.optimizers.Optimizer:
    if config.optimizer == "adagrad":
        return keras.optimizers.Adagrad(learning_rate=config.learning_rate)
    return keras.optimizers.Adam(learning_rate=config.learning_rate)


class _Trainer:
    """Holds the lane hidden states as variables and the compiled chunk of training steps."""

    def __init__(self, model: keras.Model, config: GRU4RecConfig):
        self.model = model
        self.optimizer = _make_optimizer(config)
        self.optimizer.build(model.trainable_variables)
        self.states = [
            tf.Variable(tf.zeros((config.batch_size, size)), trainable=False)
            for size in config.layers
        ]
        self.train_chunk = tf.function(self._train_chunk, reduce_retracing=True)

    def reset_states(self) -> None:
        for state in self.states:
            state.assign(tf.zeros_like(state))

    def _train_chunk(self, inputs, targets, reset, valid):
        total_loss = tf.constant(0.0)
        for step in tf.range(tf.shape(inputs)[0]):
            keep = 1.0 - tf.cast(reset[step], tf.float32)[:, None]
            for state in self.states:
                state.assign(state * keep)
            weights = tf.cast(valid[step], tf.float32)
            with tf.GradientTape() as tape:
                scores, *new_states = self.model(
                    [inputs[step], *[state.value() for state in self.states]], training=True
                )
                losses = tf.nn.sparse_softmax_cross_entropy_with_logits(targets[step], scores)
                loss = tf.reduce_sum(losses * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)
            gradients = tape.gradient(loss, self.model.trainable_variables)
            self.optimizer.apply_gradients(
                zip(gradients, self.model.trainable_variables, strict=True)
            )
            for state, new_state in zip(self.states, new_states, strict=True):
                state.assign(new_state)
            total_loss += loss
        return total_loss

    def run_epoch(self, schedule: LaneSchedule, steps_per_call: int, progress: tqdm) -> float:
        """Train one epoch; returns the mean loss per step.

        Progress goes to tqdm on a terminal, and to the log every 30 s otherwise.
        """
        self.reset_states()
        loss_sum = 0.0
        started = last_log = time.perf_counter()
        done = 0
        for begin in range(0, schedule.n_steps, steps_per_call):
            chunk = slice(begin, begin + steps_per_call)
            loss_sum += float(
                self.train_chunk(
                    tf.constant(schedule.inputs[chunk]),
                    tf.constant(schedule.targets[chunk]),
                    tf.constant(schedule.reset[chunk]),
                    tf.constant(schedule.valid[chunk]),
                )
            )
            events = int(schedule.valid[chunk].sum())
            done += events
            mean_loss = loss_sum / min(begin + steps_per_call, schedule.n_steps)
            progress.update(events)
            progress.set_postfix(loss=f"{mean_loss:.3f}", refresh=False)
            now = time.perf_counter()
            if progress.disable and now - last_log > 30:
                rate = done / (now - started)
                logger.info(
                    "%s: %d/%d events, %.0f events/s, loss %.3f, ETA %.0f s",
                    progress.desc,
                    done,
                    schedule.n_events,
                    rate,
                    mean_loss,
                    (schedule.n_events - done) / rate,
                )
                last_log = now
        return loss_sum / max(schedule.n_steps, 1)


class GRU4RecScorer:
    """Scores the next item, step by step, for a batch of sessions (evaluation interface)."""

    name = "gru4rec"

    def __init__(self, model: keras.Model):
        self.model = model
        self.state_sizes = [int(t.shape[-1]) for t in model.inputs[1:]]
        signature = [tf.TensorSpec([None], tf.int32)] + [
            tf.TensorSpec([None, size], tf.float32) for size in self.state_sizes
        ]
        self._step = tf.function(
            lambda item, *states: self.model([item, *states], training=False),
            input_signature=signature,
        )
        self.states: list[tf.Tensor] = []

    def start(self, n_sessions: int) -> None:
        self.states = [tf.zeros((n_sessions, size)) for size in self.state_sizes]

    def step(self, items: np.ndarray) -> np.ndarray:
        n_active = len(items)
        scores, *self.states = self._step(
            tf.constant(items, tf.int32), *[state[:n_active] for state in self.states]
        )
        return scores.numpy()


@dataclass
class TrainingResult:
    """The best model found and what happened in every epoch."""

    model: keras.Model
    history: list[dict]
    best_epoch: int
    config: dict


def train(
    train_sessions: SessionArrays,
    n_items: int,
    config: GRU4RecConfig,
    validate: Callable[[keras.Model], dict[str, float]] | None = None,
) -> TrainingResult:
    """Train GRU4Rec with session-parallel mini-batches, keeping the best epoch on validation.

    ``validate`` returns metrics for the current model (e.g. Recall@20 on the validation
    split); the weights of the epoch with the best ``config.selection_metric`` are kept.
    Without it, the last epoch is kept.
    """
    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_step_model(n_items, config)
    trainer = _Trainer(model, config)
    history: list[dict] = []
    best_score, best_epoch, best_weights = -np.inf, 0, None
    for epoch in range(1, config.epochs + 1):
        schedule = lane_schedule(train_sessions, config.batch_size, rng)
        started = time.perf_counter()
        with tqdm(
            total=schedule.n_events,
            desc=f"epoch {epoch}/{config.epochs}",
            unit="ev",
            unit_scale=True,
            mininterval=2.0,
            leave=False,
        ) as progress:
            loss = trainer.run_epoch(schedule, config.steps_per_call, progress)
        seconds = time.perf_counter() - started
        record = {
            "epoch": epoch,
            "loss": loss,
            "train_seconds": seconds,
            "events_per_second": schedule.n_events / seconds,
        }
        if validate is not None:
            record.update({f"valid_{name}": value for name, value in validate(model).items()})
        score = record.get(f"valid_{config.selection_metric}", -loss)
        if score > best_score:
            best_score, best_epoch, best_weights = score, epoch, model.get_weights()
        history.append(record)
        logger.info(
            "epoch %d/%d: loss %.4f, %.0f events/s, %.1f s%s",
            epoch,
            config.epochs,
            loss,
            record["events_per_second"],
            seconds,
            "".join(f", {k} {v:.4f}" for k, v in record.items() if k.startswith("valid_")),
        )
    if best_weights is not None:
        model.set_weights(best_weights)
    return TrainingResult(model, history, best_epoch, asdict(config))
