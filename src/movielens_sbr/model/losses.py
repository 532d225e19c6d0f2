"""GRU4Rec's losses as pure TensorFlow functions (no Kedro imports).

Every loss takes the final hidden states ``hidden [B, H]``, the output item weights
``weights [n_items, H]`` and ``bias [n_items]``, the ``targets [B]`` and per-lane
``valid`` weights ``[B]``, and returns the mean loss over valid lanes.

Scores are item-major, ``[items, B]``: one row per scored item, one column per lane.
The sampled losses score each lane's target against a shared set of negative items:
the other lanes' targets (in-batch negatives, drawn in proportion to popularity) plus
``n_sample`` extra items drawn from popularity^alpha. Negatives that happen to be the
lane's own target are masked out. This is what makes catalogues of 30k-100k items
trainable: the cost grows with B + n_sample, not with the number of items.
"""

from __future__ import annotations

import tensorflow as tf

_NEG_INF = -1e9


def _masked_mean(losses: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
    valid = tf.cast(valid, losses.dtype)
    return tf.reduce_sum(losses * valid) / tf.maximum(tf.reduce_sum(valid), 1.0)


def full_cross_entropy(hidden, weights, bias, targets, valid) -> tf.Tensor:
    """Softmax cross-entropy over every item."""
    scores = tf.matmul(weights, hidden, transpose_b=True) + bias[:, None]  # [items, B]
    target_scores = tf.gather_nd(scores, tf.stack([targets, tf.range(tf.shape(targets)[0])], 1))
    losses = tf.reduce_logsumexp(scores, axis=0) - target_scores
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


def sampled_scores(hidden, weights, bias, targets, negatives, first_lane=0):
    """Scores ``[B + S, b]``, one column per lane: row i < B is lane i's target, the rest
    are ``negatives``.

    ``hidden [b, H]`` may be a block of the batch, lanes ``first_lane`` to
    ``first_lane + b`` (one replica's share under tf.distribute): the rows are still every
    lane's target, so a lane is scored against the same items as on one device.

    Item rows come first because ``items @ hidden^T`` is about twice as fast on CPU as
    ``hidden @ items^T`` here and transposing the result back costs as much again
    (docs/benchmarks.md, changelog: the training speed-up). Returns the scores, the row item
    ids and a mask of the rows that are a valid negative for each lane (not its target).
    """
    rows = tf.concat([targets, negatives], axis=0)
    scores = tf.matmul(tf.gather(weights, rows), hidden, transpose_b=True)
    scores += tf.gather(bias, rows)[:, None]
    lane_targets = targets[first_lane : first_lane + tf.shape(hidden)[0]]
    is_target = tf.equal(rows[:, None], lane_targets[None, :])
    return scores, rows, tf.logical_not(is_target)


def _own_rows(scores, first_lane):
    """``[B + S, b]``: True where the row is the column's own target row."""
    lanes = tf.range(tf.shape(scores)[1])
    return tf.equal(tf.range(tf.shape(scores)[0])[:, None], (first_lane + lanes)[None, :])


def sampled_cross_entropy(
    hidden, weights, bias, targets, valid, negatives, log_q, logq_weight: float = 1.0, first_lane=0
) -> tf.Tensor:
    """Softmax cross-entropy over (target, in-batch and sampled negatives), with logQ.

    ``log_q [B + S]`` is the log-probability with which each row's item was sampled; adding
    ``-logq_weight * log_q`` to the scores corrects the bias towards popular items that
    sampled negatives introduce (Yi et al. 2019; GRU4Rec's ``logq``). ``first_lane``: see
    ``sampled_scores`` (``valid`` then covers the block's lanes only).
    """
    scores, _, negative = sampled_scores(hidden, weights, bias, targets, negatives, first_lane)
    scores -= logq_weight * log_q[:, None]
    scores = tf.where(_own_rows(scores, first_lane) | negative, scores, _NEG_INF)
    positive = tf.linalg.diag_part(scores[first_lane : first_lane + tf.shape(hidden)[0]])
    losses = tf.reduce_logsumexp(scores, axis=0) - positive
    return _masked_mean(losses, valid)


def bpr_max(
    hidden, weights, bias, targets, valid, negatives, regularization: float = 1.0, first_lane=0
) -> tf.Tensor:
    """BPR-max (Hidasi & Karatzoglou 2018): a softmax-weighted BPR over the negatives.

    loss = -log(sum_j s_j * sigmoid(r_target - r_j)) + reg * sum_j s_j * r_j^2, where s is
    the softmax of the negative scores r_j; the second term keeps the scores small.
    ``first_lane``: see ``sampled_scores``.
    """
    scores, _, negative = sampled_scores(hidden, weights, bias, targets, negatives, first_lane)
    positive = tf.linalg.diag_part(scores[first_lane : first_lane + tf.shape(hidden)[0]])
    negative_logits = tf.where(negative, scores, _NEG_INF)
    softmax = tf.nn.softmax(negative_logits, axis=0) * tf.cast(negative, scores.dtype)
    ranking = tf.reduce_sum(softmax * tf.sigmoid(positive[None, :] - scores), axis=0)
    losses = -tf.math.log(ranking + 1e-24) + regularization * tf.reduce_sum(
        softmax * tf.square(scores), axis=0
    )
    return _masked_mean(losses, valid)


# Losses over sequence positions (SASRec). Every position of every window is a row:
# ``hidden [N, H]``, ``targets [N]``; a batch has thousands of rows, so these score each
# row against its own target and a shared set of negatives (row-major ``[N, S]``) rather
# than against the other rows' targets, which would cost O(N^2).


def sampled_softmax_cross_entropy(
    hidden,
    weights,
    targets,
    valid,
    negatives,
    log_q_targets,
    log_q_negatives,
    logq_weight: float = 1.0,
) -> tf.Tensor:
    """Softmax cross-entropy of each row's target against ``negatives [S]``, with logQ.

    Every logit, the target's included, is lowered by ``logq_weight * log Q`` of its item
    (``log_q_targets [N]``, ``log_q_negatives [S]``), which makes the sampled softmax an
    unbiased estimate of the full one (Jean et al. 2015). A negative equal to the row's
    target is left out ("accidental hit").
    """
    target_scores = tf.reduce_sum(hidden * tf.gather(weights, targets), axis=1)
    target_scores -= logq_weight * log_q_targets
    negative_scores = tf.matmul(hidden, tf.gather(weights, negatives), transpose_b=True)
    negative_scores -= logq_weight * log_q_negatives[None, :]
    hit = tf.equal(targets[:, None], negatives[None, :])
    negative_scores = tf.where(hit, _NEG_INF, negative_scores)
    logits = tf.concat([target_scores[:, None], negative_scores], axis=1)
    return _masked_mean(tf.reduce_logsumexp(logits, axis=1) - target_scores, valid)


def sequence_binary_cross_entropy(hidden, weights, targets, valid, negatives) -> tf.Tensor:
    """The original SASRec loss: -log sigmoid(target) - log(1 - sigmoid(negative)), one
    negative per row (``negatives [N]``); a negative equal to the target adds nothing."""
    target_scores = tf.reduce_sum(hidden * tf.gather(weights, targets), axis=1)
    negative_scores = tf.reduce_sum(hidden * tf.gather(weights, negatives), axis=1)
    distinct = tf.cast(tf.not_equal(negatives, targets), hidden.dtype)
    losses = tf.nn.softplus(-target_scores) + distinct * tf.nn.softplus(negative_scores)
    return _masked_mean(losses, valid)
