"""Ranking and beyond-accuracy metrics, with explicit handling of tied scores (no Kedro).

A prediction is summarised by two counts: ``greater``, the items scored strictly above
the target, and ``equal``, the other items with exactly the target's score. Ties are
resolved as
- ``pessimistic`` (default): the target ranks below every item tied with it, so a
  model cannot gain from giving many items the same score;
- ``optimistic``: above all of them;
- ``average``: the expectation over a uniformly random order of the tied items.

With one relevant item per prediction, Recall@K equals the hit rate, MRR@K is 1 / rank
inside the top K, and NDCG@K is 1 / log2(rank + 1) inside the top K (the ideal DCG is 1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TIE_MODES = ("pessimistic", "optimistic", "average")
RANKING_METRICS = ("recall", "mrr", "ndcg")


def count_above(scores: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: how many items score above the target, and how many others tie with it."""
    target_scores = scores[np.arange(len(targets)), targets][:, None]
    greater = (scores > target_scores).sum(axis=1)
    equal = (scores == target_scores).sum(axis=1) - 1
    return greater.astype(np.int32), equal.astype(np.int32)


def _reciprocal(rank: np.ndarray) -> np.ndarray:
    return 1.0 / rank


def _discount(rank: np.ndarray) -> np.ndarray:
    return 1.0 / np.log2(rank + 1.0)


def _cumulative(gain: Callable[[np.ndarray], np.ndarray], n: np.ndarray, top: int) -> np.ndarray:
    """sum_{r=1..min(n, top)} gain(r) for integer arrays (0 for n <= 0)."""
    table = np.r_[0.0, np.cumsum(gain(np.arange(1, top + 1, dtype=np.float64)))]
    return table[np.clip(n, 0, top)]


def ranking_gains(
    greater: np.ndarray, equal: np.ndarray, k: int, ties: str = "pessimistic"
) -> dict[str, np.ndarray]:
    """Per prediction: expected hit, reciprocal rank and DCG within the top ``k``.

    Keys are ``RANKING_METRICS``; the averages over predictions are Recall@K, MRR@K and
    NDCG@K.
    """
    if ties not in TIE_MODES:
        raise ValueError(f"ties must be one of {TIE_MODES}, got {ties!r}")
    greater = np.asarray(greater, dtype=np.int64)
    equal = np.asarray(equal, dtype=np.int64)
    if ties != "average":
        rank = (greater + equal if ties == "pessimistic" else greater) + 1  # 1-based
        hit = rank <= k
        return {
            "recall": hit.astype(np.float64),
            "mrr": np.where(hit, _reciprocal(rank.astype(np.float64)), 0.0),
            "ndcg": np.where(hit, _discount(rank.astype(np.float64)), 0.0),
        }
    # The target is uniformly at 1-based ranks greater + 1 .. greater + equal + 1; the
    # ranks inside the top k are greater + 1 .. greater + in_top.
    group = equal + 1
    in_top = np.clip(k - greater, 0, group)
    last = greater + in_top
    return {
        "recall": in_top / group,
        "mrr": (_cumulative(_reciprocal, last, k) - _cumulative(_reciprocal, greater, k)) / group,
        "ndcg": (_cumulative(_discount, last, k) - _cumulative(_discount, greater, k)) / group,
    }


def hits_and_reciprocal_ranks(
    greater: np.ndarray, equal: np.ndarray, k: int, ties: str = "pessimistic"
) -> tuple[np.ndarray, np.ndarray]:
    """Per prediction: P(target in top k) and E[1/rank if in top k else 0]."""
    gains = ranking_gains(greater, equal, k, ties)
    return gains["recall"], gains["mrr"]


def per_prediction_metrics(
    greater: np.ndarray, equal: np.ndarray, ks: list[int], ties: str = "pessimistic"
) -> dict[str, np.ndarray]:
    """``{"recall@K": values, "mrr@K": ..., "ndcg@K": ...}`` per prediction, for every K."""
    values: dict[str, np.ndarray] = {}
    for k in ks:
        for name, gain in ranking_gains(greater, equal, k, ties).items():
            values[f"{name}@{k}"] = gain
    return values


def ranking_metrics(
    greater: np.ndarray, equal: np.ndarray, ks: list[int], ties: str = "pessimistic"
) -> dict[str, float]:
    """Recall@K (hit rate), MRR@K and NDCG@K averaged over predictions, for every K."""
    return {
        key: float(values.mean()) if len(values) else 0.0
        for key, values in per_prediction_metrics(greater, equal, ks, ties).items()
    }


def top_k_items(scores: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best-scored items of every row, in no particular order (argpartition).

    Equal scores at the boundary are broken arbitrarily; coverage and popularity bias do
    not depend on the order inside the top k.
    """
    n_items = scores.shape[1]
    if k >= n_items:
        return np.broadcast_to(np.arange(n_items, dtype=np.int32), scores.shape).copy()
    return np.argpartition(-scores, k - 1, axis=1)[:, :k].astype(np.int32)


def item_coverage(top: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one top-k list."""
    return float(len(np.unique(top)) / n_items) if n_items else 0.0


def popularity_percentile(counts: np.ndarray) -> np.ndarray:
    """Per item: share of items less popular than it, counting ties as half (mid-rank).

    0 = the least popular item, 1 = the most popular; the median item is 0.5.
    """
    counts = np.asarray(counts)
    ordered = np.sort(counts)
    below = np.searchsorted(ordered, counts, side="left")
    tied = np.searchsorted(ordered, counts, side="right") - below
    return (below + (tied - 1) / 2) / max(len(counts) - 1, 1)


def popularity_bias(top: np.ndarray, percentile: np.ndarray) -> float:
    """Mean popularity percentile of the recommended items (0.5 = as popular as the median)."""
    return float(percentile[top].mean()) if top.size else 0.0
