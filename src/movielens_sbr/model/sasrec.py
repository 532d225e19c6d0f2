"""SASRec in Keras: causal self-attention over the session prefix (Kang & McAuley 2018).

The network embeds the last ``max_len`` items of a prefix (the item embedding is shared
with the output layer), adds a learned position embedding, runs ``n_blocks`` causal
self-attention blocks (pre-layer-norm attention and point-wise feed-forward, each with a
residual) and a final layer norm; the score of item ``j`` at position ``t`` is the dot
product of the hidden state at ``t`` with item ``j``'s embedding. Positions count from the
start of the window and padding (item ``-1``) goes after the items, so the causal mask
alone keeps padding out of every real position.

Training cuts every train session into windows of ``max_len`` next-item predictions and
fits them with a softmax over every item (``cross_entropy``, the loss that makes SASRec
strong, Klenitskiy & Vasilev 2023), a softmax over sampled negatives with logQ correction
(``sampled_cross_entropy``), or the original binary loss with one random negative per
position (``bce``). The saved artefact is a ``.keras`` file: ``model(items [B, L])`` returns
the scores ``[B, L, n_items]`` of every position.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.evaluator import evaluate
from movielens_sbr.model.checkpoints import (
    BestEpoch,
    fingerprint,
    load_checkpoint,
    save_checkpoint,
)
from movielens_sbr.model.losses import (
    full_cross_entropy,
    sample_negatives,
    sampled_softmax_cross_entropy,
    sequence_binary_cross_entropy,
)
from movielens_sbr.model.progress import EpochProgress, epoch_record
from movielens_sbr.params import SASREC_LOSSES, SASRecParams

logger = logging.getLogger(__name__)

PADDING = -1


@dataclass(frozen=True)
class SASRecConfig:
    """Every training choice of the model; the values are in conf/base/parameters_sasrec.yml."""

    max_len: int
    hidden_size: int
    n_heads: int
    n_blocks: int
    dropout: float
    loss: str
    n_sample: int
    sample_alpha: float
    logq: float
    learning_rate: float
    batch_size: int
    epochs: int
    patience: int
    selection_metric: str
    seed: int

    def __post_init__(self):
        if self.loss not in SASREC_LOSSES:
            raise ValueError(f"loss must be one of {SASREC_LOSSES}, got {self.loss!r}")
        if self.hidden_size % self.n_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} must be a multiple of n_heads={self.n_heads}"
            )


@keras.saving.register_keras_serializable(package="movielens_sbr")
class CausalSelfAttentionBlock(keras.layers.Layer):
    """Pre-norm causal multi-head self-attention, then a point-wise feed-forward network."""

    def __init__(self, hidden_size: int, n_heads: int, dropout: float, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size, self.n_heads, self.dropout = hidden_size, n_heads, dropout
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="attention_norm")
        self.attention = keras.layers.MultiHeadAttention(
            n_heads, hidden_size // n_heads, dropout=dropout, name="attention"
        )
        self.feed_forward_norm = keras.layers.LayerNormalization(
            epsilon=1e-6, name="feed_forward_norm"
        )
        self.feed_forward_inner = keras.layers.Dense(
            hidden_size, activation="relu", name="feed_forward_inner"
        )
        self.feed_forward_outer = keras.layers.Dense(hidden_size, name="feed_forward_outer")
        self.attention_dropout = keras.layers.Dropout(dropout)
        self.inner_dropout = keras.layers.Dropout(dropout)
        self.outer_dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.feed_forward_norm.build(input_shape)
        self.feed_forward_inner.build(input_shape)
        self.feed_forward_outer.build(input_shape)
        self.built = True

    def call(self, x, training=False):
        normed = self.attention_norm(x)
        attended = self.attention(normed, normed, use_causal_mask=True, training=training)
        x = x + self.attention_dropout(attended, training=training)
        inner = self.feed_forward_inner(self.feed_forward_norm(x))
        inner = self.inner_dropout(inner, training=training)
        return x + self.outer_dropout(self.feed_forward_outer(inner), training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_size": self.hidden_size,
            "n_heads": self.n_heads,
            "dropout": self.dropout,
        }


@keras.saving.register_keras_serializable(package="movielens_sbr")
class SASRec(keras.Model):
    """``model(items [B, L]) -> scores [B, L, n_items]``; ``-1`` pads a window on the right."""

    def __init__(
        self,
        n_items: int,
        max_len: int,
        hidden_size: int,
        n_heads: int,
        n_blocks: int,
        dropout: float,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.n_items, self.max_len, self.hidden_size = n_items, max_len, hidden_size
        self.n_heads, self.n_blocks, self.dropout = n_heads, n_blocks, dropout
        # Row n_items is the padding item: it only ever sits after the real items.
        self.item_embedding = keras.layers.Embedding(
            n_items + 1,
            hidden_size,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=hidden_size**-0.5),
            name="item_embedding",
        )
        self.position_embedding = keras.layers.Embedding(
            max_len, hidden_size, name="position_embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(dropout)
        self.blocks = [
            CausalSelfAttentionBlock(hidden_size, n_heads, dropout, name=f"block_{i}")
            for i in range(n_blocks)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")

    def build(self, input_shape=None):
        sequence_shape = (None, self.max_len, self.hidden_size)
        self.item_embedding.build((None, self.max_len))
        self.position_embedding.build((self.max_len,))
        for block in self.blocks:
            block.build(sequence_shape)
        self.final_norm.build(sequence_shape)
        self.built = True

    def item_vectors(self):
        """The shared item embedding without the padding row: ``[n_items, hidden_size]``."""
        return self.item_embedding.embeddings[: self.n_items]

    def encode(self, items, training=False):
        """Hidden states ``[B, L, hidden_size]`` of windows of at most ``max_len`` items."""
        items = ops.where(items < 0, self.n_items, items)
        positions = ops.arange(ops.shape(items)[1])
        x = self.item_embedding(items) * math.sqrt(self.hidden_size)
        x = self.embedding_dropout(x + self.position_embedding(positions)[None], training=training)
        for block in self.blocks:
            x = block(x, training=training)
        return self.final_norm(x)

    def call(self, items, training=False):
        return ops.matmul(self.encode(items, training), ops.transpose(self.item_vectors()))

    def get_config(self):
        return {
            "name": self.name,
            "n_items": self.n_items,
            "max_len": self.max_len,
            "hidden_size": self.hidden_size,
            "n_heads": self.n_heads,
            "n_blocks": self.n_blocks,
            "dropout": self.dropout,
        }


def model_config(params: SASRecParams, seed: int) -> SASRecConfig:
    """The model's configuration from the validated ``sasrec`` parameters."""
    return SASRecConfig(**params.model_dump(exclude={"eval_batch_size", "resume"}), seed=seed)


def validator(
    valid: SessionArrays, n_items: int, params: SASRecParams
) -> Callable[[SASRec], dict[str, float]]:
    """Scores a model on the validation sessions at the selection metric's cutoff, with
    the test evaluation's protocol (every position, pessimistic ties, seen items excluded)."""
    k = int(params.selection_metric.split("@")[1])

    def validate(model: SASRec) -> dict[str, float]:
        scorer = SASRecScorer(model)
        return evaluate(scorer, valid, n_items, batch_size=params.eval_batch_size).metrics([k])

    return validate


def train_options(params: SASRecParams) -> dict:
    """The arguments of ``train`` that come from the parameters but are not the model's
    configuration: resuming."""
    return {"resume": params.resume}


def build_model(n_items: int, config: SASRecConfig) -> SASRec:
    """A built SASRec network with fresh weights (seeded by the global Keras seed)."""
    model = SASRec(
        n_items,
        config.max_len,
        config.hidden_size,
        config.n_heads,
        config.n_blocks,
        config.dropout,
        name="sasrec",
    )
    model.build()
    return model


def training_windows(sessions: SessionArrays, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut every session into windows of up to ``max_len`` next-item predictions.

    Returns ``inputs`` and ``targets``, both ``[n_windows, max_len]`` int32 padded with -1:
    ``targets[w, c]`` follows ``inputs[w, c]``. A session of length L gives
    ``ceil((L - 1) / max_len)`` windows; each event but the last is an input exactly once.
    """
    n_inputs = np.maximum(sessions.lengths - 1, 0)
    windows_per_session = -(-n_inputs // max_len)
    first_window = np.r_[0, np.cumsum(windows_per_session)[:-1]]
    # Every event that has a next one (all but the last of each session): its session and
    # its position in the session.
    position = sessions.position_of_event()
    has_next = position < np.repeat(n_inputs, sessions.lengths)
    session, position = sessions.session_of_event()[has_next], position[has_next]
    event = np.flatnonzero(has_next)
    window = first_window[session] + position // max_len
    column = position % max_len
    inputs = np.full((int(windows_per_session.sum()), max_len), PADDING, dtype=np.int32)
    targets = inputs.copy()
    inputs[window, column] = sessions.items[event]
    targets[window, column] = sessions.items[event + 1]
    return inputs, targets


class _Trainer:
    """The optimizer, the negative samplers and the compiled training step."""

    def __init__(self, model: SASRec, config: SASRecConfig, item_counts: np.ndarray):
        self.model = model
        self.config = config
        # beta_2 0.98 as in the original SASRec: the item rows of rare items get few updates.
        self.optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate, beta_2=0.98)
        self.optimizer.build(model.trainable_variables)
        # Sampled negatives come from popularity^alpha (+1: no zeros); alpha 0 is uniform.
        powered = (item_counts.astype(np.float64) + 1.0) ** config.sample_alpha
        self.log_q = tf.constant(np.log(powered / powered.sum()), tf.float32)
        self.sample_cdf = tf.constant(np.cumsum(powered), tf.float32)
        self.uniform_cdf = tf.constant(np.arange(1, len(item_counts) + 1), tf.float32)
        # Each batch is cut to its longest window (``run_epoch``): any width. Batches of
        # windows of similar length would waste less on padding, but learned clearly less
        # per epoch on the real data, and the full softmax, not the attention, takes most
        # of a step.
        spec = tf.TensorSpec([None, None], tf.int32)
        self.train_step = tf.function(self._train_step, input_signature=[spec, spec])

    def _loss(self, hidden, targets):
        config = self.config
        weights = self.model.item_vectors()
        valid = tf.ones_like(targets, tf.float32)
        if config.loss == "cross_entropy":
            return full_cross_entropy(
                hidden, weights, tf.zeros([self.model.n_items]), targets, valid
            )
        # Stateless draws keyed by (seed, optimizer step): the same negatives after a resume.
        key = tf.stack(
            [tf.constant(config.seed, tf.int64), tf.cast(self.optimizer.iterations, tf.int64)]
        )
        if config.loss == "bce":
            negatives = sample_negatives(self.uniform_cdf, tf.shape(targets)[0], key)
            return sequence_binary_cross_entropy(hidden, weights, targets, valid, negatives)
        negatives = sample_negatives(self.sample_cdf, config.n_sample, key)
        return sampled_softmax_cross_entropy(
            hidden,
            weights,
            targets,
            valid,
            negatives,
            tf.gather(self.log_q, targets),
            tf.gather(self.log_q, negatives),
            config.logq,
        )

    def _train_step(self, inputs, targets):
        has_target = targets >= 0
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            hidden = self.model.encode(inputs, training=True)
            loss = self._loss(
                tf.boolean_mask(hidden, has_target), tf.boolean_mask(targets, has_target)
            )
        gradients = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return loss

    def run_epoch(self, inputs, targets, rng: np.random.Generator, label: str) -> float:
        """One pass over the shuffled windows; returns the mean loss per batch."""
        lengths = (targets >= 0).sum(axis=1)
        order = rng.permutation(len(inputs))
        batch_size = self.config.batch_size
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        n_events = int(lengths.sum())
        loss_sum, n_batches = 0.0, 0
        with EpochProgress(label, n_events) as progress:
            for batch in batches:
                # Padding only follows the items, so the columns after the longest window
                # of the batch change no output: they are left out.
                width = int(lengths[batch].max())
                loss_sum += float(self.train_step(inputs[batch, :width], targets[batch, :width]))
                n_batches += 1
                progress.advance(int(lengths[batch].sum()), loss_sum / n_batches)
        return loss_sum / max(n_batches, 1)


class SASRecScorer:
    """Scores the next item from the last ``max_len`` items of each prefix (evaluator
    interface); every step runs the network once on the whole batch of windows."""

    name = "sasrec"

    def __init__(self, model: SASRec):
        self.model = model
        self.max_len = model.max_len

        def last_position_scores(items):
            hidden = model.encode(items, training=False)[:, -1]
            return tf.matmul(hidden, model.item_vectors(), transpose_b=True)

        self._scores = tf.function(
            last_position_scores, input_signature=[tf.TensorSpec([None, None], tf.int32)]
        )
        self.windows = np.zeros((0, self.max_len), np.int32)
        self.length = 0

    def start(self, n_sessions: int) -> None:
        self.windows = np.full((n_sessions, self.max_len), PADDING, np.int32)
        self.length = 0

    def step(self, items: np.ndarray) -> np.ndarray:
        # The evaluator advances every active session by one position at each step, so
        # all active windows hold the same number of items.
        n_active = len(items)
        windows = self.windows[:n_active]
        if self.length < self.max_len:
            windows[:, self.length] = items
            self.length += 1
            current = windows[:, : self.length]
        else:
            windows[:, :-1] = windows[:, 1:]
            windows[:, -1] = items
            current = windows
        return self._scores(tf.constant(current)).numpy()


@dataclass
class TrainingResult:
    """The best model found and what happened in every epoch."""

    model: SASRec
    history: list[dict]
    best_epoch: int
    config: dict


def train(
    train_sessions: SessionArrays,
    n_items: int,
    config: SASRecConfig,
    validate: Callable[[SASRec], dict[str, float]] | None = None,
    *,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> TrainingResult:
    """Train SASRec on the windows of the train sessions, keeping the best validation epoch.

    ``validate`` returns metrics for the current model; the weights of the epoch with the
    best ``config.selection_metric`` are kept, and training stops after ``config.patience``
    epochs without a new best. Without it, every epoch runs and the last is kept.

    With ``checkpoint_dir`` every epoch ends with ``last.npz`` there (weights, optimizer
    state, the shuffling RNG state, history and the best weights so far); ``resume=True``
    continues from it and ends exactly where an uninterrupted run with the same seed ends.
    """
    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_model(n_items, config)
    trainer = _Trainer(model, config, np.bincount(train_sessions.items, minlength=n_items))
    inputs, targets = training_windows(train_sessions, config.max_len)
    n_events = int((targets >= 0).sum())
    if n_events == 0:
        raise ValueError("No train session has two events or more: SASRec has nothing to learn.")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs a checkpoint_dir")
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    data = fingerprint(train_sessions, n_items) if folder is not None else ""
    # epochs and patience may grow on a resume; every other parameter must match.
    checked = {k: v for k, v in asdict(config).items() if k != "patience"}
    saved = load_checkpoint(folder, checked, data, "sasrec") if resume else None
    history: list[dict] = []
    if saved is not None:
        # model.variables holds the dropout seed states too: a resumed run draws the same.
        for variable, value in zip(model.variables, saved.network, strict=True):
            variable.assign(value)
        for variable, value in zip(trainer.optimizer.variables, saved.optimizer, strict=True):
            variable.assign(value)
        rng.bit_generator.state = saved.rng_state
        history = saved.history
    best = BestEpoch.resumed(saved)
    for epoch in range(saved.epoch + 1 if saved is not None else 1, config.epochs + 1):
        if validate is not None and epoch - best.epoch > config.patience:
            logger.info(
                "No better %s for %d epochs: stopping",
                config.selection_metric,
                epoch - 1 - best.epoch,
            )
            break
        started = time.perf_counter()
        loss = trainer.run_epoch(inputs, targets, rng, f"epoch {epoch}/{config.epochs}")
        seconds = time.perf_counter() - started
        validation = validate(model) if validate is not None else {}
        record = epoch_record(epoch, config.epochs, loss, seconds, n_events, validation)
        metric = config.selection_metric if validate is not None else None
        best.update(epoch, record, metric, model.get_weights)
        history.append(record)
        if folder is not None:
            state = best.checkpoint(
                epoch,
                history,
                rng.bit_generator.state,
                [np.asarray(v) for v in model.variables],
                [np.asarray(v) for v in trainer.optimizer.variables],
            )
            save_checkpoint(folder, state, checked, data)
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
    best_model = build_model(n_items, config)
    best_model.set_weights(best.weights if best.weights is not None else model.get_weights())
    return TrainingResult(best_model, history, best.epoch, asdict(config))
