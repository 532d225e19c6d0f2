"""The ALS baseline (implicit library): fit, fold-in of session prefixes, scores."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("implicit", reason="the implicit library is not installed")

from movielens_sbr import methods
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.baselines import ALS
from movielens_sbr.evaluation.evaluator import evaluate

# Options these tests do not vary (the project's values are in conf/base).
OPTIONS = {"regularization": 0.01, "iterations": 15, "seed": 0}


# Two disjoint groups of items that always co-occur: 0-9 and 10-19.
GROUPS = [list(range(0, 10)), list(range(10, 20))]


def group_sessions(n: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [
        rng.choice(GROUPS[i % 2], size=int(rng.integers(3, 8)), replace=False).tolist()
        for i in range(n)
    ]


def test_als_is_registered_and_folds_in_a_prefix():
    assert methods.get("als").build is ALS
    als = ALS(
        SessionArrays.from_sequences(group_sessions(200, 0)), 20, **OPTIONS, factors=2, alpha=10.0
    )  # 2 groups
    als.start(2)
    scores = als.step(np.array([0, 15], dtype=np.int32))
    assert scores.shape == (2, 20)
    assert scores.dtype == np.float32
    # A session that started in a group scores that group's items above the other group's.
    assert scores[0, 1:10].min() > scores[0, 10:20].max()
    assert scores[1, 10:20].min() > scores[1, 0:10].max()
    # The state grows with the prefix: a second step changes the scores of session 0.
    again = als.step(np.array([3], dtype=np.int32))
    assert again.shape == (1, 20)
    assert not np.allclose(again[0], scores[0])


def test_als_fold_in_matches_the_closed_form():
    """x = (Y'Y + Y'(C - I)Y + reg I)^-1 Y'C p, with C = alpha on the session's items."""
    alpha, regularization = 3.0, 0.1
    als = ALS(
        SessionArrays.from_sequences(group_sessions(200, 1)),
        20,
        factors=4,
        regularization=regularization,
        alpha=alpha,
        iterations=15,
        seed=0,
    )
    prefix = [2, 5, 7]
    als.start(1)
    for item in prefix:
        scores = als.step(np.array([item], dtype=np.int32))
    y = als.item_factors.astype(np.float64)
    observed = np.isin(np.arange(20), prefix).astype(np.float64)
    a = y.T @ y + y.T @ ((alpha - 1) * observed[:, None] * y) + regularization * np.eye(4)
    b = y.T @ (alpha * observed)
    expected = y @ np.linalg.solve(a, b)
    assert scores[0] == pytest.approx(expected, rel=1e-3, abs=1e-4)


def test_als_through_the_evaluator_beats_chance():
    train = SessionArrays.from_sequences(group_sessions(200, 2))
    test = SessionArrays.from_sequences(group_sessions(20, 3))
    predictions = evaluate(ALS(train, 20, **OPTIONS, factors=2, alpha=10.0), test, 20)
    # The next item is always in the session's group: the top 10 unseen items hold it.
    assert predictions.metrics([10])["recall@10"] == 1.0


@pytest.mark.parametrize("alpha", [1.0, 4.0])
def test_als_incremental_fold_in_equals_implicit_recalculate_user(alpha):
    """Rank-one updates per event give the factors implicit recomputes from scratch."""
    import scipy.sparse

    als = ALS(
        SessionArrays.from_sequences(group_sessions(200, 4)), 20, **OPTIONS, factors=4, alpha=alpha
    )
    prefixes = [[3, 1, 8, 0], [5, 5, 6], [12, 19]]  # the repeated 5 counts once
    lengths = np.array([len(p) for p in prefixes])
    als.start(3)
    for position in range(lengths.max()):
        active = int((lengths > position).sum())  # prefixes are sorted longest first
        scores = als.step(np.array([p[position] for p in prefixes[:active]], dtype=np.int32))
        rows = [sorted(set(p[: position + 1])) for p in prefixes[:active]]
        matrix = scipy.sparse.csr_matrix(
            (
                np.ones(sum(map(len, rows)), dtype=np.float32),
                (np.repeat(np.arange(active), [len(r) for r in rows]), np.concatenate(rows)),
            ),
            shape=(active, 20),
        )
        factors = als.model.recalculate_user(np.arange(active), matrix)
        assert scores == pytest.approx(factors @ als.item_factors.T, rel=1e-3, abs=1e-4)
