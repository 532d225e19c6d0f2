"""GRU4Rec in Keras: the network, its session-parallel training loop and a scorer.

The saved artefact is a plain Keras functional *step model* built from standard layers:
``(item, state_0, ..., state_k) -> (scores, new_state_0, ..., new_state_k)``. It loads
with ``keras.models.load_model`` alone, no project code needed. Training runs many steps
per compiled call (``tf.function`` over ``tf.range``), so Python is touched once per
chunk of steps, and only the item ids of each chunk travel from host to graph.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.model.batching import LaneSchedule, lane_schedule
from movielens_sbr.model.checkpoints import (
    BestEpoch,
    fingerprint,
    load_checkpoint,
    save_checkpoint,
    weights_digest,
)
from movielens_sbr.model.cluster import worker_task
from movielens_sbr.model.losses import (
    bpr_max,
    full_cross_entropy,
    sample_negatives,
    sampled_cross_entropy,
)
from movielens_sbr.model.optimizers import AdagradMomentum
from movielens_sbr.model.progress import EpochProgress, epoch_record
from movielens_sbr.params import EMBEDDINGS, LOSSES, OPTIMIZERS, ParameterError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GRU4RecConfig:
    """Every training choice of the model: the ``training`` section of
    conf/base/parameters_training.yml (its one source: no defaults here) and the seed."""

    layers: tuple[int, ...]
    # "constrained" ties the output item weights to the input embedding (GRU4Rec's best
    # setting); its embedding size is the last layer's size.
    embedding: str
    embedding_dim: int
    dropout_embedding: float
    dropout_hidden: float
    loss: str
    n_sample: int
    sample_alpha: float
    logq: float
    bpreg: float
    optimizer: str
    learning_rate: float
    momentum: float
    batch_size: int
    epochs: int
    steps_per_call: int
    jit_compile: bool
    sparse_updates: bool
    selection_metric: str
    seed: int

    def __post_init__(self):
        for name, allowed in (
            ("embedding", EMBEDDINGS),
            ("optimizer", OPTIMIZERS),
            ("loss", LOSSES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")

    @property
    def input_dim(self) -> int:
        return self.layers[-1] if self.embedding == "constrained" else self.embedding_dim


class ReplicaDropout(keras.layers.Dropout):
    """``Dropout`` whose masks also depend on the replica when a strategy runs several.

    Every replica holds an equal copy of the layer's seed state, so Keras' dropout would
    draw the same mask for lane ``j`` of every replica; folding the replica's id into the
    drawn seed gives each replica masks of its own. With one replica (no strategy) it is
    ``Dropout`` itself: the same masks, so single-device training is unchanged.
    """

    def call(self, inputs, training=False):
        context = tf.distribute.get_replica_context()
        if not training or self.rate == 0 or context is None or context.num_replicas_in_sync == 1:
            return super().call(inputs, training=training)
        seed = tf.random.experimental.stateless_fold_in(
            tf.cast(self.seed_generator.next(), tf.int64), context.replica_id_in_sync_group
        )
        # int32, as Keras passes it (XLA's stateless kernels want int32 seeds).
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
        return tf.nn.experimental.stateless_dropout(inputs, rate=self.rate, seed=seed)


def _trunk(item, states, n_items: int, config: GRU4RecConfig, dropout=keras.layers.Dropout):
    """Input encoding, dropout and the GRU layers, applied to Keras tensors; ``dropout`` is
    the layer class (training uses ``ReplicaDropout``, the saved step model plain Keras)."""
    if config.embedding == "onehot":
        x = keras.layers.CategoryEncoding(n_items, output_mode="one_hot", name="onehot")(item)
    else:
        x = keras.layers.Embedding(n_items, config.input_dim, name="item_embedding")(item)
    x = dropout(config.dropout_embedding, name="dropout_embedding")(x)
    new_states = []
    for i, (size, state) in enumerate(zip(config.layers, states, strict=True)):
        sequence = keras.layers.Reshape((1, -1), name=f"as_sequence_{i}")(x)
        x, new_state = keras.layers.GRU(size, return_state=True, unroll=True, name=f"gru_{i}")(
            sequence, initial_state=state
        )
        new_states.append(new_state)
        x = dropout(config.dropout_hidden, name=f"dropout_hidden_{i}")(x)
    return x, new_states


def _inputs(config: GRU4RecConfig):
    item = keras.Input(shape=(), dtype="int32", name="item")
    states = [keras.Input(shape=(size,), name=f"state_{i}") for i, size in enumerate(config.layers)]
    return item, states


def build_step_model(n_items: int, config: GRU4RecConfig) -> keras.Model:
    """One GRU4Rec step as a functional model of standard Keras layers (the saved artefact)."""
    item, states = _inputs(config)
    hidden, new_states = _trunk(item, states, n_items, config)
    scores = keras.layers.Dense(n_items, name="scores")(hidden)
    return keras.Model([item, *states], [scores, *new_states], name="gru4rec_step")


class GRU4RecNetwork:
    """The trainable network: the trunk, and output item weights that may be tied."""

    def __init__(self, n_items: int, config: GRU4RecConfig):
        self.n_items = n_items
        self.config = config
        item, states = _inputs(config)
        hidden, new_states = _trunk(item, states, n_items, config, ReplicaDropout)
        self.trunk = keras.Model([item, *states], [hidden, *new_states], name="gru4rec_trunk")
        if config.embedding == "constrained":
            self.output_weights = self.trunk.get_layer("item_embedding").embeddings
            own_weights = []
        else:
            limit = np.sqrt(6.0 / (n_items + config.layers[-1]))
            initial = np.random.default_rng(config.seed).uniform(
                -limit, limit, (n_items, config.layers[-1])
            )
            self.output_weights = tf.Variable(initial.astype(np.float32), name="output_weights")
            own_weights = [self.output_weights]
        self.output_bias = tf.Variable(tf.zeros([n_items]), name="output_bias")
        self.trainable_variables = [
            *self.trunk.trainable_variables,
            *own_weights,
            self.output_bias,
        ]

    def to_step_model(self) -> keras.Model:
        """A standard-layer step model with the current weights (output weights copied)."""
        step = build_step_model(self.n_items, self.config)
        for layer in self.trunk.layers:
            if layer.weights:
                step.get_layer(layer.name).set_weights(layer.get_weights())
        step.get_layer("scores").set_weights(
            [np.asarray(self.output_weights).T, np.asarray(self.output_bias)]
        )
        return step


def _make_optimizer(config: GRU4RecConfig) -> keras.optimizers.Optimizer:
    if config.optimizer == "adagrad":
        return AdagradMomentum(
            learning_rate=config.learning_rate,
            momentum=config.momentum,
            sparse_updates=config.sparse_updates,
        )
    return keras.optimizers.Adam(learning_rate=config.learning_rate)


class _Trainer:
    """Holds the lane hidden states as variables and the compiled chunk of training steps."""

    def __init__(
        self,
        network: GRU4RecNetwork,
        config: GRU4RecConfig,
        item_counts: np.ndarray,
        strategy: tf.distribute.Strategy | None = None,
    ):
        """Build under ``strategy.scope()`` when a strategy is given (see ``train``)."""
        self.network = network
        self.config = config
        self.strategy = strategy
        self.n_replicas = strategy.num_replicas_in_sync if strategy is not None else 1
        if config.batch_size % self.n_replicas:
            raise ValueError(
                f"training.batch_size={config.batch_size} must be a multiple of the "
                f"{self.n_replicas} replicas: each replica runs batch_size / replicas lanes"
            )
        self.optimizer = _make_optimizer(config)
        self.optimizer.build(network.trainable_variables)
        lanes = config.batch_size // self.n_replicas
        # Each replica keeps the hidden states of its own lanes (on-read synchronisation:
        # never averaged across replicas); without a strategy, plain variables.
        sync = (
            {}
            if strategy is None
            else {
                "synchronization": tf.VariableSynchronization.ON_READ,
                "aggregation": tf.VariableAggregation.ONLY_FIRST_REPLICA,
            }
        )
        self.states = [
            tf.Variable(tf.zeros((lanes, size)), trainable=False, **sync) for size in config.layers
        ]
        # In-batch negatives follow popularity, extra ones popularity^alpha (+1: no zeros).
        counts = item_counts.astype(np.float64) + 1.0
        self.log_q_batch = tf.constant(np.log(counts / counts.sum()), tf.float32)
        powered = counts**config.sample_alpha
        self.log_q_sample = tf.constant(np.log(powered / powered.sum()), tf.float32)
        self.sample_cdf = tf.constant(np.cumsum(powered), tf.float32)
        self.train_chunk = tf.function(
            self._train_chunk, reduce_retracing=True, jit_compile=config.jit_compile
        )

    @property
    def writes_checkpoints(self) -> bool:
        """False on the non-chief workers of a multi-worker strategy: the chief writes."""
        return self.strategy is None or self.strategy.extended.should_checkpoint

    def _network_variables(self) -> list:
        """Everything of the network that evolves in training, dropout seed states included."""
        network = self.network
        own = [] if network.config.embedding == "constrained" else [network.output_weights]
        return [*network.trunk.variables, *own, network.output_bias]

    def values(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The current network and optimizer variables (a checkpoint's arrays)."""
        return (
            [np.asarray(v) for v in self._network_variables()],
            [np.asarray(v) for v in self.optimizer.variables],
        )

    def restore(self, network: list[np.ndarray], optimizer: list[np.ndarray]) -> None:
        """Assign the arrays of ``values`` back (resuming from a checkpoint)."""
        for variable, value in zip(self._network_variables(), network, strict=True):
            variable.assign(value)
        for variable, value in zip(self.optimizer.variables, optimizer, strict=True):
            variable.assign(value)

    def reset_states(self) -> None:
        for state in self.states:
            state.assign(tf.zeros_like(state))

    def _loss(self, hidden, targets, valid, first_lane):
        """Mean loss of lanes ``first_lane ..`` (``hidden``, ``valid``); ``targets`` are
        every lane's, the in-batch negatives of the sampled losses."""
        network, config = self.network, self.config
        weights, bias = network.output_weights, network.output_bias
        if config.loss == "cross_entropy":
            lane_targets = targets[first_lane : first_lane + tf.shape(hidden)[0]]
            return full_cross_entropy(hidden, weights, bias, lane_targets, valid)
        # Stateless draws keyed by (seed, optimizer step): the same negatives after a resume,
        # and on every replica the same ones as on one device.
        step = tf.cast(self.optimizer.iterations.value, tf.int64)
        negatives = sample_negatives(
            self.sample_cdf, config.n_sample, tf.stack([tf.constant(config.seed, tf.int64), step])
        )
        if config.loss == "bpr_max":
            return bpr_max(
                hidden, weights, bias, targets, valid, negatives, config.bpreg, first_lane
            )
        log_q = tf.concat(
            [tf.gather(self.log_q_batch, targets), tf.gather(self.log_q_sample, negatives)], 0
        )
        return sampled_cross_entropy(
            hidden, weights, bias, targets, valid, negatives, log_q, config.logq, first_lane
        )

    def _train_step(self, inputs, targets, reset, valid):
        """One step on this replica's lanes; the arguments are the global ``[batch]`` rows."""
        first_lane = 0
        if self.n_replicas > 1:
            # Replica r owns lanes [r * lanes, (r + 1) * lanes) of the schedule; its loss is
            # weighted by its share of the valid lanes so that the summed gradients equal
            # those of the mean over the global batch. The targets stay global: they are
            # the in-batch negatives of every lane, as on one device.
            context = tf.distribute.get_replica_context()
            lanes = self.config.batch_size // self.n_replicas
            first_lane = context.replica_id_in_sync_group * lanes
            global_valid = tf.reduce_sum(tf.cast(valid, tf.float32))
            inputs, reset, valid = (
                tensor[first_lane : first_lane + lanes] for tensor in (inputs, reset, valid)
            )
            share = tf.reduce_sum(tf.cast(valid, tf.float32)) / tf.maximum(global_valid, 1.0)
        keep = 1.0 - tf.cast(reset, tf.float32)[:, None]
        for state in self.states:
            state.assign(state * keep)
        variables = self.network.trainable_variables
        with tf.GradientTape() as tape:
            hidden, *new_states = self.network.trunk(
                [inputs, *[state.value() for state in self.states]], training=True
            )
            loss = self._loss(hidden, targets, valid, first_lane)
            if self.n_replicas > 1:
                loss = loss * share
        gradients = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        for state, new_state in zip(self.states, new_states, strict=True):
            state.assign(new_state)
        return loss

    def _train_chunk(self, inputs, targets, reset, valid):
        total_loss = tf.constant(0.0)
        for step in tf.range(tf.shape(inputs)[0]):
            rows = (inputs[step], targets[step], reset[step], valid[step])
            if self.strategy is None:
                total_loss += self._train_step(*rows)
            else:
                # The step, not the chunk, is what runs per replica: the gradient all-reduce
                # must happen inside strategy.run, which a nested tf.function would hide.
                per_replica = self.strategy.run(self._train_step, args=rows)
                total_loss += self.strategy.reduce(
                    tf.distribute.ReduceOp.SUM, per_replica, axis=None
                )
        return total_loss

    def run_epoch(
        self, schedule: LaneSchedule, steps_per_call: int, progress: EpochProgress
    ) -> float:
        """Train one epoch; returns the mean loss per step."""
        self.reset_states()
        loss_sum = 0.0
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
            progress.advance(
                int(schedule.valid[chunk].sum()),
                loss_sum / min(begin + steps_per_call, schedule.n_steps),
            )
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


STRATEGIES = ("none", "one_device", "mirrored", "multi_worker")


def distribution_strategy(name: str) -> tf.distribute.Strategy | None:
    """The ``training.distribute`` strategy (docs/scaling.md).

    none: no strategy; one_device: the first GPU, else the CPU; mirrored: every local GPU,
    else every logical CPU device, and at least two of them; multi_worker:
    ``MultiWorkerMirroredStrategy`` over the workers of ``TF_CONFIG``, created before any
    other TensorFlow operation of the process. A strategy that cannot run here raises a
    one-line ValueError saying what to set instead.
    """
    if name not in STRATEGIES:
        raise ValueError(f"training.distribute must be one of {STRATEGIES}; got {name!r}")
    if name == "none":
        return None
    if name == "multi_worker":
        # Checked first: reading the devices would start TensorFlow's runtime, and the
        # strategy must configure it (collective ops, the worker's server) before that.
        task = worker_task(os.environ.get("TF_CONFIG"))
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        logger.info(
            "Worker %s %d of %d (%s), %d replicas in sync",
            task.task_type,
            task.index,
            task.n_workers,
            "chief: saves the model and checkpoints" if task.is_chief else "saves nothing",
            strategy.num_replicas_in_sync,
        )
        return strategy
    gpus = tf.config.list_logical_devices("GPU")
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    devices = gpus or tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        found = "one GPU" if gpus else "no GPU and one CPU device"
        raise ValueError(
            f"training.distribute=mirrored found {found}: it would train one replica, the same "
            "as one_device; set training.distribute=one_device (or none) here, mirrored on a "
            "machine with several GPUs, or multi_worker with TF_CONFIG for several machines"
        )
    return tf.distribute.MirroredStrategy([device.name for device in devices])


@dataclass
class TrainingResult:
    """The best model found and what happened in every epoch."""

    model: keras.Model
    history: list[dict]
    best_epoch: int
    config: dict


def check_batch_size(batch_size: int, n_sessions: int) -> None:
    """Refuse a batch of more lanes than there are training sessions.

    Each lane walks one session at a time, so with ``batch_size`` above the number of
    sessions the extra lanes never get one: every step would still compute all of them
    (``training.batch_size=100000`` on 7k sessions ran for many minutes without a sign of
    progress), for the same updates a batch of the sessions' number gives.
    """
    if batch_size > n_sessions:  # a ParameterError: `kedro run` ends with this one line
        raise ParameterError(
            f"training.batch_size={batch_size} is larger than the {n_sessions:,} training "
            f"sessions (each lane of a batch walks one session): set training.batch_size "
            f"to at most {n_sessions}, e.g. --params training.batch_size="
            f"{_suggested_batch_size(n_sessions)}"
        )


def _suggested_batch_size(n_sessions: int) -> int:
    """A power of two at most a tenth of the sessions (lanes stay busy most of an epoch)."""
    size = 1
    while size * 2 <= max(1, n_sessions // 10):
        size *= 2
    return size


def train(
    train_sessions: SessionArrays,
    n_items: int,
    config: GRU4RecConfig,
    validate: Callable[[keras.Model], dict[str, float]] | None = None,
    *,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    on_epoch_end: Callable[[int, dict], None] | None = None,
    strategy: tf.distribute.Strategy | None = None,
) -> TrainingResult:
    """Train GRU4Rec with session-parallel mini-batches, keeping the best epoch on validation.

    ``validate`` returns metrics for the current model (e.g. Recall@20 on the validation
    split); the weights of the epoch with the best ``config.selection_metric`` are kept.
    Without it, the last epoch is kept.

    With ``checkpoint_dir``, the end of every epoch writes a checkpoint there
    (``model/checkpoints.py``; only the chief of several workers writes); ``resume=True``
    continues from it, ending exactly where an uninterrupted run with the same seed ends.
    ``on_epoch_end(epoch, record)`` is called after the checkpoint.

    With a ``tf.distribute`` ``strategy`` the variables are created in its scope and each
    step runs on every replica, each on its own block of ``batch_size / replicas`` lanes of
    the same schedule (docs/scaling.md).

    Raises ``ValueError`` before any work when ``config.batch_size`` is larger than the
    number of training sessions (``check_batch_size``).
    """
    check_batch_size(config.batch_size, train_sessions.n_sessions)
    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    item_counts = np.bincount(train_sessions.items, minlength=n_items)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        network = GRU4RecNetwork(n_items, config)
        trainer = _Trainer(network, config, item_counts, strategy)
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs a checkpoint_dir")
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    data = fingerprint(train_sessions, n_items) if folder is not None else ""
    saved = load_checkpoint(folder, asdict(config), data) if resume else None
    history: list[dict] = []
    if saved is not None:
        trainer.restore(saved.network, saved.optimizer)
        rng.bit_generator.state = saved.rng_state
        history = saved.history
    best = BestEpoch.resumed(saved)
    for epoch in range(saved.epoch + 1 if saved is not None else 1, config.epochs + 1):
        record, model = _train_epoch(trainer, train_sessions, rng, epoch, validate)
        metric = config.selection_metric if validate is not None else None
        best.update(epoch, record, metric, model.get_weights)
        history.append(record)
        if folder is not None and trainer.writes_checkpoints:
            state = best.checkpoint(epoch, history, rng.bit_generator.state, *trainer.values())
            save_checkpoint(folder, state, asdict(config), data)
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
    best_model = build_step_model(n_items, config)
    best_weights = best.weights
    if best_weights is None:  # resumed after the last epoch without a best: keep the last
        best_weights = network.to_step_model().get_weights()
    best_model.set_weights(best_weights)
    if strategy is not None:  # every worker logs it: the same digest means the same model
        logger.info("Trained weights: sha256 %s", weights_digest(best_weights))
    return TrainingResult(best_model, history, best.epoch, asdict(config))


def _train_epoch(
    trainer: _Trainer,
    train_sessions: SessionArrays,
    rng: np.random.Generator,
    epoch: int,
    validate: Callable[[keras.Model], dict[str, float]] | None,
) -> tuple[dict, keras.Model]:
    """One epoch on a fresh lane schedule, then validation: its record and the model."""
    config = trainer.config
    schedule = lane_schedule(train_sessions, config.batch_size, rng)
    started = time.perf_counter()
    label = f"epoch {epoch}/{config.epochs}"
    with EpochProgress(label, schedule.n_events) as progress:
        loss = trainer.run_epoch(schedule, config.steps_per_call, progress)
    seconds = time.perf_counter() - started
    model = trainer.network.to_step_model()
    validation = validate(model) if validate is not None else {}
    record = epoch_record(epoch, config.epochs, loss, seconds, schedule.n_events, validation)
    return record, model
