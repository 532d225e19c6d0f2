"""Popularity and Markov baselines on hand examples, directly and through the evaluator."""

from __future__ import annotations

import numpy as np
import pytest

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.baselines import Markov, Popularity, item_counts
from movielens_sbr.evaluation.evaluator import evaluate


def test_item_counts_include_items_never_seen():
    counts = item_counts(SessionArrays.from_sequences([[2, 1], [2, 0], [1, 2]]), n_items=5)
    assert counts.tolist() == [1.0, 2.0, 3.0, 0.0, 0.0]
    assert counts.dtype == np.float64


def test_popularity_scores_every_session_by_training_counts():
    popularity = Popularity(SessionArrays.from_sequences([[2, 1], [2, 0], [1, 2]]), n_items=5)
    popularity.start(2)
    scores = popularity.step(np.array([4, 0], dtype=np.int32))

    assert scores.shape == (2, 5)
    assert scores.tolist() == [[1, 2, 3, 0, 0], [1, 2, 3, 0, 0]]
    assert popularity.name == "pop"


def test_popularity_through_the_evaluator():
    popularity = Popularity(SessionArrays.from_sequences([[2, 1], [2, 0], [1, 2]]), n_items=5)
    test = SessionArrays.from_sequences([[3, 2, 1, 0]])

    kept = evaluate(popularity, test, 5, exclude_seen=False)
    # Ranking 2 > 1 > 0 > {3, 4}: targets 2, 1, 0 have 0, 1, 2 items above them.
    assert kept.greater.tolist() == [0, 1, 2]
    assert kept.equal.tolist() == [0, 0, 0]

    excluded = evaluate(popularity, test, 5, exclude_seen=True)
    assert excluded.greater.tolist() == [0, 0, 0]  # the items above were all seen


def test_markov_transition_counts_skip_session_boundaries():
    """Transitions 0->1, 1->2 (twice), 2->0; not 2->2 nor 0->1 across session boundaries."""
    markov = Markov(SessionArrays.from_sequences([[0, 1, 2], [2, 0], [1, 2]]), n_items=4)
    # Popularity [2, 2, 3, 0] scaled by 1 / (max + 1) = 1 / 4.
    popularity = np.array([0.5, 0.5, 0.75, 0.0])
    transitions = np.zeros((4, 4))
    transitions[0, 1] = 1
    transitions[1, 2] = 2
    transitions[2, 0] = 1

    np.testing.assert_array_equal(markov.scores, transitions + popularity)
    assert markov.scores.dtype == np.float32
    assert markov.scores[2, 2] == 0.75  # the 2 | 2 boundary is no transition
    assert markov.scores[0, 1] == 1.5  # the 0 | 1 boundary does not add to 0 -> 1

    markov.start(3)
    np.testing.assert_array_equal(
        markov.step(np.array([2, 0, 3], dtype=np.int32)), markov.scores[[2, 0, 3]]
    )
    assert markov.name == "markov"


def test_markov_single_event_sessions_and_a_single_session():
    markov = Markov(SessionArrays.from_sequences([[3], [0, 1], [4]]), n_items=5)
    transitions = (
        markov.scores - item_counts(SessionArrays.from_sequences([[3], [0, 1], [4]]), 5) / 2.0
    )
    expected = np.zeros((5, 5))
    expected[0, 1] = 1
    np.testing.assert_allclose(transitions, expected)

    alone = Markov(SessionArrays.from_sequences([[1, 0, 1]]), n_items=2)
    # Transitions 1->0 and 0->1; popularity [1, 2] / 3.
    np.testing.assert_allclose(alone.scores, [[1 / 3, 1 + 2 / 3], [1 + 1 / 3, 2 / 3]], rtol=1e-6)


def test_markov_popularity_only_breaks_ties_below_one_transition():
    # Item 5 is by far the most popular but never follows 0; item 1 follows 0 once.
    train = [[0, 1]] + [[5, 6] for _ in range(50)] + [[2, 7], [3, 7]]
    markov = Markov(SessionArrays.from_sequences(train), n_items=8)
    row = markov.scores[0]

    assert row[1] > row[5]
    assert row.max() == row[1]
    assert np.all(row[[2, 3, 4, 5, 6, 7]] < 1.0)
    # Among the items with no transition from 0, popularity decides: 5 = 6 > 7 > 0 = 2 = 3 > 4.
    assert np.argsort(-row, kind="stable").tolist() == [1, 5, 6, 7, 0, 2, 3, 4]
    assert row[5] == pytest.approx(50 / 51)


def test_markov_through_the_evaluator():
    markov = Markov(SessionArrays.from_sequences([[0, 1, 2], [2, 0], [1, 2]]), n_items=4)
    predictions = evaluate(
        markov, SessionArrays.from_sequences([[0, 1, 2], [2, 3]]), 4, exclude_seen=False
    )
    # Sessions sorted longest first: (0 -> 1), (2 -> 3), then (1 -> 2).
    assert predictions.session.tolist() == [0, 1, 0]
    # Row 0: [0.5, 1.5, 0.75, 0] -> 1 first. Row 2: [1.5, 0.5, 0.75, 0] -> 3 last.
    # Row 1: [0.5, 0.5, 2.75, 0] -> 2 first.
    assert predictions.greater.tolist() == [0, 3, 0]
    assert predictions.equal.tolist() == [0, 0, 0]
    assert predictions.metrics([1]) == {"recall@1": 2 / 3, "mrr@1": 2 / 3, "ndcg@1": 2 / 3}


def test_markov_keeps_a_sparse_transition_matrix_for_large_catalogues():
    n_items = 200_000  # dense float32 scores would take 160 GB
    train = SessionArrays.from_sequences([[5, 199_999, 7], [7, 5]])
    markov = Markov(train, n_items)
    assert markov.transitions.nnz == 3
    markov.start(2)
    scores = markov.step(np.array([5, 7], dtype=np.int32))
    assert scores.shape == (2, n_items) and scores.dtype == np.float32
    assert scores[0, 199_999] > 1 > scores[0, 7] > scores[0, 0] == 0
    assert scores[1, 5] > 1
