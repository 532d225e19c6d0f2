"""Ranking metrics with explicit tie handling, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from movielens_sbr.evaluation.metrics import (
    TIE_MODES,
    count_above,
    hits_and_reciprocal_ranks,
    item_coverage,
    per_prediction_metrics,
    popularity_bias,
    popularity_percentile,
    ranking_gains,
    ranking_metrics,
    top_k_items,
)


def test_count_above_hand_example():
    scores = np.array(
        [
            [0.1, 0.5, 0.5, 0.9],
            [0.1, 0.5, 0.5, 0.9],
            [0.1, 0.5, 0.5, 0.9],
            [2.0, 2.0, 2.0, 2.0],
            [-np.inf, 3.0, -np.inf, 1.0],
        ]
    )
    greater, equal = count_above(scores, np.array([1, 3, 0, 2, 0]))
    assert greater.tolist() == [1, 0, 3, 0, 2]
    assert equal.tolist() == [1, 0, 0, 3, 1]
    assert greater.dtype == np.int32
    assert equal.dtype == np.int32


def test_count_above_of_no_rows():
    greater, equal = count_above(np.zeros((0, 5)), np.zeros(0, dtype=np.int64))
    assert len(greater) == 0
    assert len(equal) == 0


# (greater, equal, k) -> (hit, reciprocal) per tie mode, by hand.
# greater=2, equal=2: the target shares 1-based ranks 3, 4, 5 with two other items.
HAND_CASES = [
    # pessimistic: rank greater + equal + 1
    ("pessimistic", 2, 2, 4, 0.0, 0.0),
    ("pessimistic", 2, 2, 5, 1.0, 1 / 5),
    ("pessimistic", 0, 0, 1, 1.0, 1.0),
    ("pessimistic", 3, 0, 3, 0.0, 0.0),
    ("pessimistic", 3, 0, 4, 1.0, 1 / 4),
    # optimistic: rank greater + 1
    ("optimistic", 2, 2, 2, 0.0, 0.0),
    ("optimistic", 2, 2, 3, 1.0, 1 / 3),
    ("optimistic", 0, 999, 1, 1.0, 1.0),
    # average: uniform over ranks greater + 1 .. greater + equal + 1
    ("average", 2, 2, 2, 0.0, 0.0),
    ("average", 2, 2, 3, 1 / 3, (1 / 3) / 3),
    ("average", 2, 2, 4, 2 / 3, (1 / 3 + 1 / 4) / 3),
    ("average", 2, 2, 20, 1.0, (1 / 3 + 1 / 4 + 1 / 5) / 3),
    ("average", 4, 0, 5, 1.0, 1 / 5),
    ("average", 4, 0, 4, 0.0, 0.0),
]


@pytest.mark.parametrize(("ties", "greater", "equal", "k", "hit", "reciprocal"), HAND_CASES)
def test_hits_and_reciprocal_ranks_hand_cases(ties, greater, equal, k, hit, reciprocal):
    hits, reciprocals = hits_and_reciprocal_ranks(np.array([greater]), np.array([equal]), k, ties)
    assert hits.tolist() == pytest.approx([hit])
    assert reciprocals.tolist() == pytest.approx([reciprocal])


def test_hits_and_reciprocal_ranks_vectorised_over_predictions():
    greater = np.array([2, 0, 5, 1])
    equal = np.array([2, 0, 0, 3])
    hits, reciprocals = hits_and_reciprocal_ranks(greater, equal, 4, "average")
    assert hits.tolist() == pytest.approx([2 / 3, 1.0, 0.0, 3 / 4])
    assert reciprocals.tolist() == pytest.approx(
        [(1 / 3 + 1 / 4) / 3, 1.0, 0.0, (1 / 2 + 1 / 3 + 1 / 4) / 4]
    )


def test_target_tied_with_three_others_at_the_top():
    greater, equal = np.array([0]), np.array([3])
    for k in (4, 5, 20):
        hits, reciprocals = hits_and_reciprocal_ranks(greater, equal, k, "average")
        assert hits[0] == pytest.approx(1.0)
        assert reciprocals[0] == pytest.approx(np.mean([1, 1 / 2, 1 / 3, 1 / 4]))
    hits, reciprocals = hits_and_reciprocal_ranks(greater, equal, 2, "average")
    assert hits[0] == pytest.approx(2 / 4)
    assert reciprocals[0] == pytest.approx((1 + 1 / 2) / 4)
    hits, reciprocals = hits_and_reciprocal_ranks(greater, equal, 2, "pessimistic")
    assert (hits[0], reciprocals[0]) == (0.0, 0.0)
    hits, reciprocals = hits_and_reciprocal_ranks(greater, equal, 2, "optimistic")
    assert (hits[0], reciprocals[0]) == (1.0, 1.0)


def test_average_mode_is_the_mean_over_every_order_of_the_tied_items():
    """Brute force: place the target at each rank of its tie group and average."""
    rng = np.random.default_rng(0)
    greater = rng.integers(0, 15, size=200)
    equal = rng.integers(0, 15, size=200)
    for k in (1, 3, 10, 25):
        hits, reciprocals = hits_and_reciprocal_ranks(greater, equal, k, "average")
        for g, e, hit, reciprocal in zip(greater, equal, hits, reciprocals, strict=True):
            ranks = np.arange(g + 1, g + e + 2)  # 1-based
            assert hit == pytest.approx(np.mean(ranks <= k))
            assert reciprocal == pytest.approx(np.mean(np.where(ranks <= k, 1.0 / ranks, 0.0)))


def test_constant_scorer_on_a_thousand_items():
    """Every item scored the same: the target ties with the other 999 items."""
    n_items, n_predictions = 1000, 30
    scores = np.full((n_predictions, n_items), 0.25, dtype=np.float32)
    targets = np.random.default_rng(0).integers(0, n_items, size=n_predictions)
    greater, equal = count_above(scores, targets)
    assert set(greater.tolist()) == {0}
    assert set(equal.tolist()) == {n_items - 1}

    pessimistic = ranking_metrics(greater, equal, [1, 20, 999, 1000], "pessimistic")
    assert pessimistic["recall@20"] == 0.0
    assert pessimistic["mrr@20"] == 0.0
    assert pessimistic["recall@999"] == 0.0
    assert pessimistic["recall@1000"] == 1.0
    assert pessimistic["mrr@1000"] == pytest.approx(1 / 1000)

    assert pessimistic["ndcg@20"] == 0.0
    assert pessimistic["ndcg@1000"] == pytest.approx(1 / np.log2(1001))

    optimistic = ranking_metrics(greater, equal, [1, 20], "optimistic")
    assert optimistic == {
        "recall@1": 1.0,
        "mrr@1": 1.0,
        "ndcg@1": 1.0,
        "recall@20": 1.0,
        "mrr@20": 1.0,
        "ndcg@20": 1.0,
    }

    average = ranking_metrics(greater, equal, [1, 20], "average")
    assert average["recall@20"] == pytest.approx(20 / 1000, rel=1e-12)
    assert average["recall@1"] == pytest.approx(1 / 1000, rel=1e-12)
    assert average["mrr@20"] == pytest.approx(sum(1 / r for r in range(1, 21)) / 1000, rel=1e-12)
    assert average["mrr@1"] == pytest.approx(1 / 1000, rel=1e-12)
    assert average["ndcg@20"] == pytest.approx(
        sum(1 / np.log2(r + 1) for r in range(1, 21)) / 1000, rel=1e-12
    )


def test_ranking_metrics_keys_and_means():
    greater = np.array([0, 1, 9])
    equal = np.array([0, 0, 0])
    metrics = ranking_metrics(greater, equal, [1, 5])
    assert list(metrics) == ["recall@1", "mrr@1", "ndcg@1", "recall@5", "mrr@5", "ndcg@5"]
    assert metrics["recall@1"] == pytest.approx(1 / 3)
    assert metrics["mrr@1"] == pytest.approx(1 / 3)
    assert metrics["recall@5"] == pytest.approx(2 / 3)
    assert metrics["mrr@5"] == pytest.approx((1 + 1 / 2) / 3)
    assert metrics["ndcg@5"] == pytest.approx((1 + 1 / np.log2(3)) / 3)
    assert all(isinstance(value, float) for value in metrics.values())


@pytest.mark.parametrize("ties", TIE_MODES)
def test_ranking_metrics_without_predictions_are_zero(ties):
    empty = np.zeros(0, dtype=np.int32)
    assert ranking_metrics(empty, empty, [1, 20], ties) == {
        "recall@1": 0.0,
        "mrr@1": 0.0,
        "ndcg@1": 0.0,
        "recall@20": 0.0,
        "mrr@20": 0.0,
        "ndcg@20": 0.0,
    }


@pytest.mark.parametrize("ties", TIE_MODES)
def test_tie_modes_agree_without_ties(ties):
    greater = np.array([0, 3, 7, 19, 20])
    equal = np.zeros(5, dtype=np.int64)
    metrics = ranking_metrics(greater, equal, [20], ties)
    assert metrics["recall@20"] == pytest.approx(4 / 5)
    assert metrics["mrr@20"] == pytest.approx((1 + 1 / 4 + 1 / 8 + 1 / 20) / 5)
    ranks = np.array([1, 4, 8, 20])
    assert metrics["ndcg@20"] == pytest.approx(np.sum(1 / np.log2(ranks + 1)) / 5)


def test_tie_modes_are_ordered():
    rng = np.random.default_rng(1)
    greater = rng.integers(0, 30, size=100)
    equal = rng.integers(0, 30, size=100)
    for k in (1, 5, 20):
        low = ranking_metrics(greater, equal, [k], "pessimistic")
        mid = ranking_metrics(greater, equal, [k], "average")
        high = ranking_metrics(greater, equal, [k], "optimistic")
        for key in low:
            assert low[key] <= mid[key] + 1e-12
            assert mid[key] <= high[key] + 1e-12


def test_unknown_tie_mode_is_rejected():
    with pytest.raises(ValueError, match="ties must be one of"):
        hits_and_reciprocal_ranks(np.array([0]), np.array([0]), 5, "random")
    with pytest.raises(ValueError, match="ties must be one of"):
        ranking_metrics(np.array([0]), np.array([0]), [5], "median")


def _dcg(rank: int) -> float:
    return 1 / np.log2(rank + 1)


# (ties, greater, equal, k) -> NDCG by hand. greater=2, equal=2: ranks 3, 4, 5 (1-based).
NDCG_HAND_CASES = [
    ("pessimistic", 2, 2, 4, 0.0),
    ("pessimistic", 2, 2, 5, _dcg(5)),
    ("pessimistic", 0, 0, 1, 1.0),
    ("optimistic", 2, 2, 2, 0.0),
    ("optimistic", 2, 2, 3, _dcg(3)),
    ("optimistic", 0, 999, 1, 1.0),
    ("average", 2, 2, 2, 0.0),
    ("average", 2, 2, 3, _dcg(3) / 3),
    ("average", 2, 2, 4, (_dcg(3) + _dcg(4)) / 3),
    ("average", 2, 2, 20, (_dcg(3) + _dcg(4) + _dcg(5)) / 3),
    ("average", 0, 1, 1, 1 / 2),  # ranks 1 and 2, only rank 1 inside the top 1
    ("average", 4, 0, 5, _dcg(5)),
]


@pytest.mark.parametrize(("ties", "greater", "equal", "k", "ndcg"), NDCG_HAND_CASES)
def test_ndcg_hand_cases(ties, greater, equal, k, ndcg):
    gains = ranking_gains(np.array([greater]), np.array([equal]), k, ties)
    assert gains["ndcg"].tolist() == pytest.approx([ndcg])
    assert set(gains) == {"recall", "mrr", "ndcg"}


def test_average_ndcg_is_the_mean_over_every_order_of_the_tied_items():
    rng = np.random.default_rng(2)
    greater = rng.integers(0, 15, size=200)
    equal = rng.integers(0, 15, size=200)
    for k in (1, 3, 10, 25):
        ndcg = ranking_gains(greater, equal, k, "average")["ndcg"]
        for g, e, value in zip(greater, equal, ndcg, strict=True):
            ranks = np.arange(g + 1, g + e + 2)
            assert value == pytest.approx(np.mean(np.where(ranks <= k, _dcg(ranks), 0.0)))


@pytest.mark.parametrize("ties", TIE_MODES)
def test_metrics_are_ordered_recall_ndcg_mrr(ties):
    """With one relevant item, MRR@K <= NDCG@K <= Recall@K for every prediction."""
    rng = np.random.default_rng(3)
    greater, equal = rng.integers(0, 30, size=300), rng.integers(0, 30, size=300)
    for k in (1, 5, 20):
        gains = ranking_gains(greater, equal, k, ties)
        assert np.all(gains["mrr"] <= gains["ndcg"] + 1e-12)
        assert np.all(gains["ndcg"] <= gains["recall"] + 1e-12)
        if k == 1:  # all three coincide at K = 1
            assert gains["mrr"] == pytest.approx(gains["recall"])


def test_per_prediction_metrics_means_are_ranking_metrics():
    greater, equal = np.array([0, 4, 1]), np.array([2, 0, 1])
    values = per_prediction_metrics(greater, equal, [2, 5], "average")
    assert list(values) == ["recall@2", "mrr@2", "ndcg@2", "recall@5", "mrr@5", "ndcg@5"]
    assert values["recall@2"].tolist() == pytest.approx([2 / 3, 0.0, 1 / 2])
    assert {key: float(v.mean()) for key, v in values.items()} == pytest.approx(
        ranking_metrics(greater, equal, [2, 5], "average")
    )


def test_top_k_items_are_the_best_scored():
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [3.0, -np.inf, 2.0, 1.0]])
    top = top_k_items(scores, 2)
    assert [sorted(row) for row in top.tolist()] == [[1, 3], [0, 2]]
    assert top.dtype == np.int32
    assert sorted(top_k_items(scores, 10)[0].tolist()) == [0, 1, 2, 3]


def test_item_coverage_hand_example():
    top = np.array([[0, 1], [1, 2], [0, 2]])
    assert item_coverage(top, 10) == pytest.approx(3 / 10)
    assert item_coverage(np.zeros((0, 2), dtype=np.int32), 10) == 0.0


def test_popularity_percentile_and_bias_hand_example():
    counts = np.array([5, 1, 9, 5, 0])
    # Sorted: 0, 1, 5, 5, 9 -> mid-ranks 0, 1, 2.5, 2.5, 4 over 4.
    assert popularity_percentile(counts).tolist() == pytest.approx([0.625, 0.25, 1.0, 0.625, 0.0])
    assert popularity_percentile(np.array([3, 3, 3])).tolist() == pytest.approx([0.5] * 3)
    top = np.array([[2, 0], [2, 4]])  # percentiles 1.0, 0.625, 1.0, 0.0
    assert popularity_bias(top, popularity_percentile(counts)) == pytest.approx(2.625 / 4)


def test_popularity_recommender_has_full_bias_and_minimal_coverage():
    counts = np.arange(100)
    scores = np.tile(counts.astype(float), (7, 1))
    top = top_k_items(scores, 20)
    assert item_coverage(top, 100) == pytest.approx(0.2)
    assert popularity_bias(top, popularity_percentile(counts)) == pytest.approx(
        np.mean(np.arange(80, 100) / 99)
    )
