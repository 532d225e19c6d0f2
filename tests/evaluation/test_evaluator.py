"""The next-item evaluator: which predictions it makes, what the scorer sees, seen items."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.evaluator import (
    Predictions,
    batch_size_for_memory,
    evaluate,
)
from movielens_sbr.evaluation.metrics import ranking_metrics

# Lengths 3, 1, 4, 2, 4; items are event numbers and increase along every session.
HAND = [[0, 1, 2], [3], [4, 5, 6, 7], [8, 9], [10, 11, 12, 13]]
N_HAND_ITEMS = 14


class RecordingScorer:
    """Scores item i as -i (item 0 first) and records every call."""

    name = "recording"

    def __init__(self, n_items: int):
        self.n_items = n_items
        self.calls: list[tuple[str, object]] = []
        self.n_sessions = 0

    def start(self, n_sessions: int) -> None:
        self.calls.append(("start", n_sessions))
        self.n_sessions = n_sessions

    def step(self, items: np.ndarray) -> np.ndarray:
        assert len(items) <= self.n_sessions
        self.calls.append(("step", np.asarray(items).tolist()))
        return np.tile(-np.arange(self.n_items, dtype=np.float64), (len(items), 1))


def test_predictions_cover_every_position_of_every_session():
    scorer = RecordingScorer(N_HAND_ITEMS)
    predictions = evaluate(
        scorer, SessionArrays.from_sequences(HAND), N_HAND_ITEMS, exclude_seen=False
    )

    # Sessions sorted by length, longest first (stable): 2, 4, 0, 3; session 1 is skipped.
    assert scorer.calls == [
        ("start", 4),
        ("step", [4, 10, 0, 8]),
        ("step", [5, 11, 1]),
        ("step", [6, 12]),
    ]
    assert len(predictions.session) == sum(len(s) - 1 for s in HAND if len(s) >= 2) == 9
    assert predictions.session.tolist() == [2, 4, 0, 3, 2, 4, 0, 2, 4]
    assert predictions.position.tolist() == [1, 1, 1, 1, 2, 2, 2, 3, 3]
    # Item i scores -i, so exactly `target` items score above the target; no ties.
    assert predictions.greater.tolist() == [5, 11, 1, 9, 6, 12, 2, 7, 13]
    assert predictions.equal.tolist() == [0] * 9


def test_exclude_seen_removes_the_session_prefix_from_the_ranking():
    predictions = evaluate(
        RecordingScorer(N_HAND_ITEMS), SessionArrays.from_sequences(HAND), N_HAND_ITEMS
    )
    # The position p items seen so far are all smaller than the target, so no longer above it.
    targets = np.array([5, 11, 1, 9, 6, 12, 2, 7, 13])
    assert predictions.greater.tolist() == (targets - predictions.position).tolist()
    assert predictions.equal.tolist() == [0] * 9


def test_scorer_receives_a_prefix_of_each_batch():
    scorer = RecordingScorer(N_HAND_ITEMS)
    predictions = evaluate(
        scorer, SessionArrays.from_sequences(HAND), N_HAND_ITEMS, batch_size=2, exclude_seen=False
    )
    assert scorer.calls == [
        ("start", 2),  # sessions 2 and 4 (length 4)
        ("step", [4, 10]),
        ("step", [5, 11]),
        ("step", [6, 12]),
        ("start", 2),  # sessions 0 (length 3) and 3 (length 2)
        ("step", [0, 8]),
        ("step", [1]),
    ]
    assert predictions.session.tolist() == [2, 4, 2, 4, 2, 4, 0, 3, 0]
    assert predictions.position.tolist() == [1, 1, 2, 2, 3, 3, 1, 1, 2]


class PeekingScorer:
    """Top score to the current (already seen) item, second to the true next item."""

    name = "peeking"

    def __init__(self, sessions: list[list[int]], n_items: int):
        self.next_item = dict(pair for s in sessions for pair in itertools.pairwise(s))
        self.n_items = n_items

    def start(self, n_sessions: int) -> None:
        pass

    def step(self, items: np.ndarray) -> np.ndarray:
        scores = np.zeros((len(items), self.n_items), dtype=np.float32)
        rows = np.arange(len(items))
        scores[rows, [self.next_item[int(item)] for item in items]] = 1.0
        scores[rows, items] = 2.0
        return scores


def test_exclude_seen_improves_the_rank_when_a_seen_item_scores_highest():
    sessions = SessionArrays.from_sequences(HAND)
    scorer = PeekingScorer(HAND, N_HAND_ITEMS)

    kept = evaluate(scorer, sessions, N_HAND_ITEMS, exclude_seen=False)
    assert kept.greater.tolist() == [1] * 9
    assert kept.metrics([1, 2]) == pytest.approx(
        {
            "recall@1": 0.0,
            "mrr@1": 0.0,
            "ndcg@1": 0.0,
            "recall@2": 1.0,
            "mrr@2": 0.5,
            "ndcg@2": 1 / np.log2(3),
        }
    )

    excluded = evaluate(scorer, sessions, N_HAND_ITEMS, exclude_seen=True)
    assert excluded.greater.tolist() == [0] * 9
    assert excluded.equal.tolist() == [0] * 9
    assert excluded.metrics([1])["recall@1"] == 1.0


def test_constant_scorer_through_the_evaluator():
    class Constant:
        name = "constant"

        def start(self, n_sessions: int) -> None:
            pass

        def step(self, items: np.ndarray) -> np.ndarray:
            return np.ones((len(items), 1000), dtype=np.float32)

    predictions = evaluate(Constant(), SessionArrays.from_sequences(HAND), 1000, exclude_seen=False)
    assert predictions.metrics([20], "pessimistic")["recall@20"] == 0.0
    assert predictions.metrics([1], "optimistic")["recall@1"] == 1.0
    assert predictions.metrics([20], "average")["recall@20"] == pytest.approx(20 / 1000)

    excluded = evaluate(Constant(), SessionArrays.from_sequences(HAND), 1000, exclude_seen=True)
    # With the seen items out, the target ties with the 1000 - position - 1 unseen others.
    assert excluded.equal.tolist() == (1000 - excluded.position - 1).tolist()


class PrefixScorer:
    """A stateful scorer: each row's scores are a seeded function of its session prefix."""

    name = "prefix"

    def __init__(self, n_items: int):
        self.n_items = n_items
        self.prefixes: list[list[int]] = []

    def start(self, n_sessions: int) -> None:
        self.prefixes = [[] for _ in range(n_sessions)]

    def step(self, items: np.ndarray) -> np.ndarray:
        scores = np.empty((len(items), self.n_items))
        for row, item in enumerate(items.tolist()):
            self.prefixes[row].append(item)
            seed = [len(self.prefixes[row]), *self.prefixes[row]]
            scores[row] = np.random.default_rng(seed).integers(0, 4, self.n_items)  # many ties
        return scores


def sorted_predictions(predictions: Predictions) -> np.ndarray:
    table = np.stack(
        [predictions.session, predictions.position, predictions.greater, predictions.equal]
    )
    return table[:, np.lexsort((predictions.position, predictions.session))]


@pytest.mark.parametrize("exclude_seen", [True, False])
def test_small_batches_give_the_same_predictions_as_one_batch(exclude_seen):
    rng = np.random.default_rng(0)
    n_items = 30
    sessions = [rng.integers(0, n_items, size=int(n)).tolist() for n in rng.integers(1, 9, 25)]
    arrays = SessionArrays.from_sequences(sessions)

    whole = evaluate(PrefixScorer(n_items), arrays, n_items, exclude_seen=exclude_seen)
    expected = sorted_predictions(whole)
    assert expected.shape[1] == sum(len(s) - 1 for s in sessions if len(s) >= 2)
    for batch_size in (1, 3, 7):
        split = evaluate(
            PrefixScorer(n_items), arrays, n_items, batch_size=batch_size, exclude_seen=exclude_seen
        )
        assert np.array_equal(sorted_predictions(split), expected)
        assert split.metrics([1, 5, 10], "average") == pytest.approx(
            whole.metrics([1, 5, 10], "average")
        )


def test_memory_budget_caps_the_batch_size_without_changing_predictions():
    # 85k items at 20 bytes per score: 2 GiB holds 1263 sessions, 1 MiB none (so 1).
    assert batch_size_for_memory(85_000, 2048) == 1263
    assert batch_size_for_memory(85_000, 1) == 1
    rng = np.random.default_rng(1)
    n_items = 30
    sessions = [rng.integers(0, n_items, size=int(n)).tolist() for n in rng.integers(1, 9, 25)]
    arrays = SessionArrays.from_sequences(sessions)
    starts = []

    class Counting(PrefixScorer):
        def start(self, n_sessions):
            starts.append(n_sessions)
            super().start(n_sessions)

    whole = evaluate(PrefixScorer(n_items), arrays, n_items, memory_mb=None)
    # 30 items * 20 bytes = 600 bytes per session: 0.003 MiB holds 5 sessions.
    capped = evaluate(Counting(n_items), arrays, n_items, memory_mb=0.003)
    assert max(starts) == 5 and len(starts) > 1
    assert np.array_equal(sorted_predictions(capped), sorted_predictions(whole))


def test_predictions_metrics_delegate_to_ranking_metrics():
    predictions = evaluate(
        RecordingScorer(N_HAND_ITEMS), SessionArrays.from_sequences(HAND), N_HAND_ITEMS
    )
    for ties in ("pessimistic", "optimistic", "average"):
        assert predictions.metrics([1, 5], ties) == ranking_metrics(
            predictions.greater, predictions.equal, [1, 5], ties
        )


def test_nothing_to_evaluate_raises():
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate(RecordingScorer(5), SessionArrays.from_sequences([[1], [2], [3]]), 5)


def test_top_k_lists_are_kept_per_prediction_without_seen_items():
    predictions = evaluate(
        RecordingScorer(N_HAND_ITEMS), SessionArrays.from_sequences(HAND), N_HAND_ITEMS, top_k=3
    )
    assert predictions.top.shape == (9, 3)
    # Item i scores -i, so the top 3 are the three smallest items not yet in the session.
    order = np.lexsort((predictions.position, predictions.session))
    first = order[0]  # session 0, position 1: item 0 seen
    assert sorted(predictions.top[first].tolist()) == [1, 2, 3]
    sessions = SessionArrays.from_sequences(HAND)
    for row in range(9):
        session, position = predictions.session[row], predictions.position[row]
        prefix = sessions.items[sessions.offsets[session] : sessions.offsets[session] + position]
        assert not set(predictions.top[row].tolist()) & set(prefix.tolist())
    assert (
        evaluate(
            RecordingScorer(N_HAND_ITEMS), SessionArrays.from_sequences(HAND), N_HAND_ITEMS
        ).top
        is None
    )


def test_predictions_saved_and_loaded_are_the_same(tmp_path):
    saved = Predictions(
        np.array([0, 0, 1]), np.array([1, 2, 1]), np.array([3, 0, 7]), np.array([0, 2, 1])
    )
    saved.save(tmp_path / "ranks.npz")
    loaded = Predictions.load(tmp_path / "ranks.npz")
    for field in ("session", "position", "greater", "equal"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(saved, field))
    assert loaded.metrics([1, 5]) == saved.metrics([1, 5])
