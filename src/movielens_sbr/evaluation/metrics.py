"""Ranking metrics from target ranks, with explicit handling of tied scores (no Kedro).

A prediction is summarised by two counts: ``greater``, the items scored strictly above
the target, and ``equal``, the other items with exactly the target's score. Ties are
resolved as
- ``pessimistic`` (default): the target ranks below every item tied with it, so a
  model cannot gain from giving many items the same score;
- ``optimistic``: above all of them;
- ``average``: the expectation over a uniformly random order of the tied items.
"""

from __future__ import annotations

import numpy as np

TIE_MODES = ("pessimistic", "optimistic", "average")


def count_above(scores: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: how many items score above the target, and how many others tie with it."""
    target_scores = scores[np.arange(len(targets)), targets][:, None]
    greater = (scores > target_scores).sum(axis=1)
    equal = (scores == target_scores).sum(axis=1) - 1
    return greater.astype(np.int32), equal.astype(np.int32)


def _harmonic(n: np.ndarray) -> np.ndarray:
    """H(n) = sum_{r=1..n} 1/r for integer arrays (0 for n <= 0)."""
    top = int(np.max(n, initial=0))
    table = np.r_[0.0, np.cumsum(1.0 / np.arange(1, top + 1))]
    return table[np.clip(n, 0, top)]


def hits_and_reciprocal_ranks(
    greater: np.ndarray, equal: np.ndarray, k: int, ties: str = "pessimistic"
) -> tuple[np.ndarray, np.ndarray]:
    """Per prediction: P(target in top k) and E[1/rank if in top k else 0]."""
    if ties not in TIE_MODES:
        raise ValueError(f"ties must be one of {TIE_MODES}, got {ties!r}")
    greater = np.asarray(greater, dtype=np.int64)
    equal = np.asarray(equal, dtype=np.int64)
    if ties != "average":
        rank = greater + equal if ties == "pessimistic" else greater  # 0-based
        hit = rank < k
        return hit.astype(np.float64), np.where(hit, 1.0 / (rank + 1), 0.0)
    # Target uniformly at 0-based ranks greater .. greater + equal.
    group = equal + 1
    in_top = np.clip(k - greater, 0, group)
    reciprocal = (_harmonic(greater + in_top) - _harmonic(greater)) / group
    return in_top / group, reciprocal


def ranking_metrics(
    greater: np.ndarray, equal: np.ndarray, ks: list[int], ties: str = "pessimistic"
) -> dict[str, float]:
    """Recall@K (hit rate) and MRR@K averaged over predictions, for every K."""
    metrics: dict[str, float] = {}
    for k in ks:
        hit, reciprocal = hits_and_reciprocal_ranks(greater, equal, k, ties)
        metrics[f"recall@{k}"] = float(hit.mean()) if len(hit) else 0.0
        metrics[f"mrr@{k}"] = float(reciprocal.mean()) if len(hit) else 0.0
    return metrics
