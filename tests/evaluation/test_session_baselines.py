"""S-POP, SR, item-kNN, SKNN and V-SKNN on hand examples, directly and through the evaluator."""

from __future__ import annotations

import numpy as np
import pytest

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.baselines import (
    VSKNN,
    ItemKNN,
    Popularity,
    SequentialRules,
    SessionKNN,
    SessionPopularity,
)
from movielens_sbr.evaluation.evaluator import evaluate


def walk(scorer, session: list[int]) -> np.ndarray:
    """Scores after feeding ``session`` to a fresh batch of one."""
    scorer.start(1)
    for item in session:
        scores = scorer.step(np.array([item], dtype=np.int32))
    return np.asarray(scores)[0]


def tie_break(train: SessionArrays, n_items: int, below: float) -> np.ndarray:
    """The popularity tie-break every baseline adds: counts scaled into [0, below)."""
    counts = np.bincount(train.items, minlength=n_items)
    return below * counts / (counts.max() + 1)


def chain_sessions(n: int, n_items: int, seed: int) -> list[list[int]]:
    """Sessions walking the cycle 0 -> 1 -> ... -> n_items - 1 -> 0 from random starts."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n_items, n)
    lengths = rng.integers(2, 9, n)
    return [
        [(s + offset) % n_items for offset in range(length)]
        for s, length in zip(starts, lengths, strict=True)
    ]


# --- S-POP -------------------------------------------------------------------------------


def test_session_popularity_ranks_session_repeats_first():
    train = SessionArrays.from_sequences(
        [[0, 1], [1, 2], [2, 3], [2, 4]]
    )  # popularity [1, 2, 3, 1, 1]
    spop = SessionPopularity(train, n_items=5)
    assert spop.name == "spop"

    scores = walk(spop, [3, 0, 3])  # counts in the session: 3 twice, 0 once
    popularity = np.array([1, 2, 3, 1, 1]) / 4  # scaled below one occurrence
    np.testing.assert_allclose(scores, np.array([1, 0, 0, 2, 0]) + popularity, rtol=1e-6)
    assert np.argsort(-scores, kind="stable").tolist() == [3, 0, 2, 1, 4]


def test_session_popularity_state_is_per_session_and_reset_by_start():
    spop = SessionPopularity(SessionArrays.from_sequences([[0, 1], [1, 2]]), n_items=4)
    spop.start(2)
    spop.step(np.array([3, 0], dtype=np.int32))
    both = spop.step(np.array([3, 1], dtype=np.int32))
    assert both[0, 3] == 2.0  # session 0 saw 3 twice; 3 is not in train
    assert both[1, 0] == pytest.approx(1 + 1 / 3) and both[1, 1] == pytest.approx(1 + 2 / 3)
    only_first = spop.step(np.array([0], dtype=np.int32))  # session 1 has ended
    assert only_first.shape == (1, 4)

    spop.start(1)
    fresh = spop.step(np.array([1], dtype=np.int32))
    np.testing.assert_allclose(fresh[0], [1 / 3, 1 + 2 / 3, 1 / 3, 0], rtol=1e-6)


def test_session_popularity_equals_pop_when_seen_items_are_excluded():
    train = SessionArrays.from_sequences(chain_sessions(40, 12, seed=1))
    test = SessionArrays.from_sequences([*chain_sessions(15, 12, seed=2), [0, 5, 0, 0]])
    spop = evaluate(SessionPopularity(train, 12), test, 12)
    pop = evaluate(Popularity(train, 12), test, 12)
    np.testing.assert_array_equal(spop.greater, pop.greater)
    np.testing.assert_array_equal(spop.equal, pop.equal)
    kept = evaluate(SessionPopularity(train, 12), test, 12, exclude_seen=False)
    # Without exclusion S-POP ranks 0, seen twice in [0, 5, 0], first for the last target.
    last = np.flatnonzero(kept.session == test.n_sessions - 1)
    assert kept.greater[last][2] == 0 and kept.equal[last][2] == 0


# --- Sequential rules --------------------------------------------------------------------


def test_sequential_rules_weights_stay_in_sessions_and_within_steps():
    train = SessionArrays.from_sequences([[0, 1, 2, 3], [4, 0]])
    expected = np.zeros((6, 6))
    expected[0, 1] = expected[1, 2] = expected[2, 3] = expected[4, 0] = 1.0  # distance 1
    expected[0, 2] = expected[1, 3] = 0.5  # distance 2
    rules = SequentialRules(train, n_items=6, steps=2)
    np.testing.assert_allclose(rules.rules, expected)
    # 3 -> 4 and 2 -> 4, 3 -> 0 would cross the session boundary; 0 -> 3 is 3 steps away.
    assert rules.rules[3, 4] == rules.rules[2, 4] == rules.rules[3, 0] == rules.rules[0, 3] == 0

    longer = SequentialRules(train, n_items=6, steps=3)
    expected[0, 3] = 1 / 3
    np.testing.assert_allclose(longer.rules, expected, rtol=1e-6)
    assert longer.name == "sr"


def test_sequential_rules_sum_repeated_pairs_and_break_ties_below_the_smallest_rule():
    train = SessionArrays.from_sequences([[0, 1, 2], [0, 2], [5, 5, 5]])
    rules = SequentialRules(train, n_items=6, steps=2)
    assert rules.rules[0, 2] == pytest.approx(1.5)  # 0.5 at distance 2 + 1 at distance 1
    assert rules.rules[5, 5] == pytest.approx(2.5)  # two pairs at distance 1, one at 2

    # Rules 0->1 = 1, 1->2 = 1, 0->2 = 1.5, 5->5 = 2.5: popularity [2, 1, 2, 0, 0, 3] is
    # scaled by the smallest rule, 1, over max + 1 = 4.
    popularity = np.array([2, 1, 2, 0, 0, 3]) / 4
    scores = walk(rules, [3, 0])
    np.testing.assert_allclose(scores, rules.rules[0] + popularity, rtol=1e-6)
    np.testing.assert_allclose(scores, [0.5, 1.25, 2.0, 0, 0, 0.75], rtol=1e-6)
    assert np.argsort(-scores, kind="stable").tolist() == [2, 1, 5, 0, 3, 4]
    assert scores[5] < scores[1]  # no rule 0 -> 5: popularity alone stays below any rule


# --- Item-kNN ----------------------------------------------------------------------------


def test_item_knn_is_the_cosine_of_binary_session_vectors():
    # The repeat of 0 in the first session does not count: n = [3, 2, 2, 1, 0].
    train = SessionArrays.from_sequences([[0, 1, 0], [0, 1, 2], [0, 2], [3]])
    knn = ItemKNN(train, n_items=5, neighbors=None)
    expected = np.zeros((5, 5))
    expected[0, 1] = expected[1, 0] = expected[0, 2] = expected[2, 0] = 2 / np.sqrt(6)
    expected[1, 2] = expected[2, 1] = 1 / np.sqrt(4)
    np.testing.assert_allclose(knn.similarity, expected, rtol=1e-6)
    assert np.isfinite(knn.similarity).all()  # item 4 is in no session

    scores = walk(knn, [1])
    # Popularity counts events, [4, 2, 2, 1, 0], scaled by the smallest similarity 0.5 / 5.
    popularity = 0.5 * np.array([4, 2, 2, 1, 0]) / 5
    np.testing.assert_allclose(scores, expected[1] + popularity, rtol=1e-6)
    assert np.argsort(-scores, kind="stable").tolist() == [0, 2, 1, 3, 4]
    assert knn.name == "iknn"


def test_item_knn_keeps_the_top_neighbors_per_row():
    train = SessionArrays.from_sequences([[0, 1, 0], [0, 1, 2], [0, 2], [3]])
    knn = ItemKNN(train, n_items=5, neighbors=1)
    np.testing.assert_allclose(knn.similarity[1], [2 / np.sqrt(6), 0, 0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(knn.similarity[2], [2 / np.sqrt(6), 0, 0, 0, 0], rtol=1e-6)
    assert np.count_nonzero(knn.similarity[0]) == 1  # 1 and 2 tie: one of them is kept
    assert np.count_nonzero(knn.similarity) == 3


# --- SKNN and V-SKNN ---------------------------------------------------------------------

# A shares two items with the session [0, 1], C only one, B none.
NEIGHBOURS = [[0, 1, 2, 3], [4, 5, 6], [0, 7, 8, 9, 10, 11]]
COS_A = 2 / np.sqrt(2 * 4)
COS_C = 1 / np.sqrt(2 * 6)


def with_tie_break(sums: np.ndarray, train: SessionArrays) -> np.ndarray:
    """Neighbour sums plus popularity scaled below the smallest positive sum."""
    positive = sums[sums > 0]
    return sums + tie_break(train, len(sums), positive.min() if positive.size else 1.0)


def test_session_knn_scores_the_nearest_session_items():
    train = SessionArrays.from_sequences(NEIGHBOURS)
    nearest = walk(SessionKNN(train, n_items=12, k=1, sample_size=None), [0, 1])
    # Only A is a neighbour: its items score cos(A); the others only get popularity.
    sums = np.zeros(12)
    sums[[0, 1, 2, 3]] = COS_A
    np.testing.assert_allclose(nearest, with_tie_break(sums, train), rtol=1e-6)
    assert nearest[4:].max() < nearest[2]

    both = walk(SessionKNN(train, n_items=12, k=2, sample_size=None), [0, 1])
    sums[0] += COS_C
    sums[7:] = COS_C
    np.testing.assert_allclose(both, with_tie_break(sums, train), rtol=1e-6)
    assert both[[4, 5, 6]].max() < both[7] < both[2] < both[0]  # B shares nothing


def test_session_knn_samples_the_most_recent_candidates():
    train = SessionArrays.from_sequences(NEIGHBOURS)
    sums_a, sums_c = np.zeros(12), np.zeros(12)
    sums_a[[0, 1, 2, 3]] = COS_A
    sums_c[[0, 7, 8, 9, 10, 11]] = COS_C
    # By default the latest session in train order (C, index 2) is the most recent.
    latest = walk(SessionKNN(train, n_items=12, k=2, sample_size=1), [0, 1])
    np.testing.assert_allclose(latest, with_tie_break(sums_c, train), rtol=1e-6)

    # With start times making A the most recent, only A is sampled.
    by_time = SessionKNN(train, n_items=12, k=2, sample_size=1, recency=np.array([30, 20, 10]))
    np.testing.assert_allclose(walk(by_time, [0, 1]), with_tie_break(sums_a, train), rtol=1e-6)


def test_vsknn_recent_items_weigh_more_and_change_the_ranking():
    # X shares the first item of the session, Y the last one.
    train = SessionArrays.from_sequences([[0, 2], [1, 3, 5]])
    x, y = np.isin(np.arange(6), [0, 2]), np.isin(np.arange(6), [1, 3, 5])
    session = [0, 1]
    plain = walk(SessionKNN(train, n_items=6, k=50, sample_size=None), session)
    expected = with_tie_break(x / np.sqrt(2 * 2) + y / np.sqrt(2 * 3), train)
    np.testing.assert_allclose(plain, expected, rtol=1e-6)
    assert plain[2] > plain[3]

    # Weights 1/2 for item 0 and 1 for item 1; |w| = sqrt(1.25).
    weighted = walk(VSKNN(train, n_items=6, k=50, sample_size=None), session)
    cos_x = 0.5 / (np.sqrt(2) * np.sqrt(1.25))
    cos_y = 1.0 / (np.sqrt(3) * np.sqrt(1.25))
    np.testing.assert_allclose(weighted, with_tie_break(x * cos_x + y * cos_y, train), rtol=1e-6)
    assert weighted[3] > weighted[2]

    # A repeated item takes its latest position: [0, 1, 0] weighs 0 by 3/3 and 1 by 2/3.
    repeated = walk(VSKNN(train, n_items=6, k=50, sample_size=None), [0, 1, 0])
    norm = np.sqrt(1 + 4 / 9)
    sums = x / (np.sqrt(2) * norm) + y * (2 / 3) / (np.sqrt(3) * norm)
    np.testing.assert_allclose(repeated, with_tie_break(sums, train), rtol=1e-6)
    assert VSKNN.name == "vsknn" and SessionKNN.name == "sknn"


def reference_knn(train, n_items, session, k, sample_size, recency_weighted):
    """Loop-per-session SKNN/V-SKNN as written in the paper.

    Returns the neighbour sums and whether the k-th neighbour is ambiguous (tied).
    """
    weights: dict[int, float] = {}
    for position, item in enumerate(session, start=1):
        weights[item] = position / len(session) if recency_weighted else 1.0
    norm = np.sqrt(sum(w * w for w in weights.values()))
    candidates = []
    for index in range(train.n_sessions - 1, -1, -1):  # most recent (highest index) first
        items = set(train.items[train.offsets[index] : train.offsets[index + 1]].tolist())
        dot = sum(w for item, w in weights.items() if item in items)
        if dot > 0:
            candidates.append((dot / (norm * np.sqrt(len(items))), items))
    candidates = sorted(candidates[:sample_size], key=lambda pair: -pair[0])
    similarities = [similarity for similarity, _ in candidates]
    tied = len(candidates) > k and np.isclose(similarities[k - 1], similarities[k])
    scores = np.zeros(n_items)
    for similarity, items in candidates[:k]:
        scores[list(items)] += similarity
    return scores, tied


@pytest.mark.parametrize("cls", [SessionKNN, VSKNN])
@pytest.mark.parametrize(("k", "sample_size"), [(1000, None), (1000, 7), (3, None), (4, 9)])
def test_session_knn_batches_match_the_loop_reference(cls, k, sample_size):
    rng = np.random.default_rng(3)
    n_items = 30
    train_sessions = [
        rng.choice(n_items, int(rng.integers(2, 10)), replace=False).tolist() for _ in range(25)
    ]
    train = SessionArrays.from_sequences(train_sessions)
    test = [rng.integers(0, n_items, int(rng.integers(1, 7))).tolist() for _ in range(6)]
    test.sort(key=len, reverse=True)
    scorer = cls(train, n_items, k=k, sample_size=sample_size)
    scorer.start(len(test))
    checked = 0
    for step in range(len(test[0])):
        active = [session for session in test if len(session) > step]
        scores = scorer.step(np.array([s[step] for s in active], dtype=np.int32))
        assert scores.shape == (len(active), n_items)
        for row, session in enumerate(active):
            sums, tied = reference_knn(
                train, n_items, session[: step + 1], k, sample_size, cls.recency_weighted
            )
            if not tied:  # equal similarities at the k-th neighbour: either set is right
                np.testing.assert_allclose(scores[row], with_tie_break(sums, train), rtol=1e-5)
                checked += 1
    assert checked >= 10


# --- Every baseline through the evaluator ------------------------------------------------

ALL = [
    (SessionPopularity, {}),
    (SequentialRules, {"steps": 3}),
    (ItemKNN, {"neighbors": 5}),
    (SessionKNN, {"k": 10, "sample_size": 30}),
    (VSKNN, {"k": 10, "sample_size": 30}),
]


@pytest.mark.parametrize(("cls", "hyperparameters"), ALL)
def test_baselines_through_the_evaluator(cls, hyperparameters):
    n_items = 20
    train = SessionArrays.from_sequences(chain_sessions(200, n_items, seed=4))
    test = SessionArrays.from_sequences(
        [*chain_sessions(40, n_items, seed=5), [3]]
    )  # one session too short
    scorer = cls(train, n_items, **hyperparameters)
    predictions = evaluate(scorer, test, n_items)

    assert len(predictions.greater) == int((test.lengths - 1).clip(0).sum())
    assert set(predictions.session.tolist()) == set(range(test.n_sessions - 1))
    metrics = predictions.metrics([1, 5])
    assert all(0.0 <= value <= 1.0 for value in metrics.values())

    # Batches of 3 sessions call start() many times: state must not leak across batches.
    small = evaluate(cls(train, n_items, **hyperparameters), test, n_items, batch_size=3)
    order = np.lexsort((predictions.position, predictions.session))
    small_order = np.lexsort((small.position, small.session))
    np.testing.assert_array_equal(predictions.greater[order], small.greater[small_order])
    np.testing.assert_array_equal(predictions.equal[order], small.equal[small_order])

    # On a deterministic chain every sequence-aware method finds the next item in its top 5.
    popularity = evaluate(Popularity(train, n_items), test, n_items).metrics([5])
    if cls is SessionPopularity:
        assert metrics["recall@5"] == pytest.approx(popularity["recall@5"])
    else:
        assert metrics["recall@5"] > popularity["recall@5"] + 0.3
    if cls is SequentialRules:
        assert metrics["recall@1"] == 1.0  # the rule i -> i + 1 always weighs most
