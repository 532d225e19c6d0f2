"""GRU4Rec's losses as pure TensorFlow functions (no Kedro imports).

Every loss takes the final hidden states ``hidden [B, H]``, the output item weights
``weights [n_items, H]`` and ``bias [n_items]``, the ``targets [B]`` and per-lane
``valid`` weights ``[B]``, and returns the mean loss over valid lanes.

The sampled losses score each lane's target against a shared set of negative columns:
the other lanes' targets (in-batch negatives, drawn in proportion to popularity) plus
``n_sample`` extra items drawn from popularity^alpha. Columns that happen to be the
lane's own target are masked out. This is what makes catalogues of 30k-100k items
trainable: the cost grows with B + n_sample, not with the number of items.
"""

from __future__ import annotations

import tensorflow as tf

LOSSES = ("cross_entropy", "sampled_cross_entropy", "bpr_max")
_NEG_INF = -1e9


def _masked_mean(losses: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
    valid = tf.cast(valid, losses.dtype)
    return tf.reduce_sum(losses * valid) / tf.maximum(tf.reduce_sum(valid), 1.0)


def full_cross_entropy(hidden, weights, bias, targets, valid) -> tf.Tensor:
    """Softmax cross-entropy over every item."""
    logits = tf.matmul(hidden, weights, transpose_b=True) + bias
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
    return _masked_mean(losses, valid)


def sample_negatives(cdf: tf.Tensor, n_sample: int, seed: tf.Tensor | None = None) -> tf.Tensor:
    """``n_sample`` item ids drawn from the distribution whose cumulative sum is ``cdf``.

    Inverse-CDF sampling costs O(n_sample log n_items), independent of the catalogue size.
    """
    if seed is None:
        uniform = tf.random.uniform([n_sample], dtype=cdf.dtype)
    else:
        uniform = tf.random.stateless_uniform([n_sample], seed=seed, dtype=cdf.dtype)
    return tf.cast(tf.searchsorted(cdf, uniform * cdf[-1], side="right"), tf.int32)


def sampled_scores(hidden, weights, bias, targets, negatives):
    """Scores ``[B, B + S]``: column i < B is lane i's target, the rest are ``negatives``.

    Returns the scores, the column item ids and a mask of the columns that are a valid
    negative for each lane (not its own target).
    """
    columns = tf.concat([targets, negatives], axis=0)
    scores = tf.matmul(hidden, tf.gather(weights, columns), transpose_b=True)
    scores += tf.gather(bias, columns)
    is_target = tf.equal(targets[:, None], columns[None, :])
    return scores, columns, tf.logical_not(is_target)


def sampled_cross_entropy(
    hidden, weights, bias, targets, valid, negatives, log_q, logq_weight: float = 1.0
) -> tf.Tensor:
    """Softmax cross-entropy over (target, in-batch and sampled negatives), with logQ.

    ``log_q [B + S]`` is the log-probability with which each column was sampled; adding
    ``-logq_weight * log_q`` to the scores corrects the bias towards popular items that
    sampled negatives introduce (Yi et al. 2019; GRU4Rec's ``logq``).
    """
    scores, _, negative = sampled_scores(hidden, weights, bias, targets, negatives)
    scores -= logq_weight * log_q[None, :]
    batch = tf.shape(targets)[0]
    own = tf.eye(batch, tf.shape(scores)[1], dtype=tf.bool)
    scores = tf.where(own | negative, scores, _NEG_INF)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.range(batch), scores)
    return _masked_mean(losses, valid)


def bpr_max(
    hidden, weights, bias, targets, valid, negatives, regularization: float = 1.0
) -> tf.Tensor:
    """BPR-max (Hidasi & Karatzoglou 2018): a softmax-weighted BPR over the negatives.

    loss = -log(sum_j s_j * sigmoid(r_target - r_j)) + reg * sum_j s_j * r_j^2, where s is
    the softmax of the negative scores r_j; the second term keeps the scores small.
    """
    scores, _, negative = sampled_scores(hidden, weights, bias, targets, negatives)
    batch = tf.shape(targets)[0]
    positive = tf.linalg.diag_part(scores[:, :batch])
    negative_logits = tf.where(negative, scores, _NEG_INF)
    softmax = tf.nn.softmax(negative_logits, axis=1) * tf.cast(negative, scores.dtype)
    ranking = tf.reduce_sum(softmax * tf.sigmoid(positive[:, None] - scores), axis=1)
    losses = -tf.math.log(ranking + 1e-24) + regularization * tf.reduce_sum(
        softmax * tf.square(scores), axis=1
    )
    return _masked_mean(losses, valid)
