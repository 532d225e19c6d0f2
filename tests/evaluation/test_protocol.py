"""The protocol over several methods: intervals, paired comparison, breakdowns, shuffle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movielens_sbr import methods
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.baselines import Markov, Popularity
from movielens_sbr.evaluation.evaluator import Predictions
from movielens_sbr.evaluation.protocol import (
    MethodRun,
    breakdown,
    bucket_labels,
    evaluate_all,
    fit_baselines,
    method_names,
    primary_metric,
    run_methods,
    shuffle_check,
    shuffle_within_sessions,
    summarise,
)
from movielens_sbr.params import ParameterError, config_from_base


def run_of(name: str, session, position, greater, equal, top=None) -> MethodRun:
    arrays = [np.asarray(a) for a in (session, position, greater, equal)]
    return MethodRun(name, Predictions(*arrays, top=top), seconds=0.0)


# Three sessions (0: 2 predictions, 1: 1, 2: 3); ranks without ties.
SESSION = [0, 0, 1, 2, 2, 2]
POSITION = [1, 2, 1, 1, 2, 3]
GOOD = [0, 1, 5, 0, 0, 30]  # 0-based ranks
BAD = [3, 30, 30, 30, 1, 30]


def test_summarise_point_metrics_intervals_and_comparison():
    runs = [
        run_of("gru4rec", SESSION, POSITION, GOOD, [0] * 6, top=np.array([[0, 1]] * 6)),
        run_of("weak", SESSION, POSITION, BAD, [0] * 6, top=np.array([[2, 3]] * 6)),
        run_of("weaker", SESSION, POSITION, [40] * 6, [0] * 6, top=np.array([[3, 3]] * 6)),
    ]
    metrics, comparisons = summarise(
        runs,
        ks=[1, 2],
        ties="pessimistic",
        item_counts=np.array([9, 8, 1, 0]),
        n_bootstrap=500,
        seed=0,
    )
    assert list(metrics) == ["gru4rec", "weak", "weaker"]
    assert list(comparisons) == ["gru4rec_vs_weak"]
    comparison = comparisons["gru4rec_vs_weak"]
    good = metrics["gru4rec"]
    assert good["recall@1"] == pytest.approx(3 / 6)  # ranks 0 at three predictions
    assert good["recall@2"] == pytest.approx(4 / 6)
    assert good["mrr@2"] == pytest.approx((1 + 0.5 + 1 + 1) / 6)
    assert good["ndcg@2"] == pytest.approx((3 + 1 / np.log2(3)) / 6)
    assert good["coverage@2"] == pytest.approx(2 / 4)
    assert good["popularity@2"] == pytest.approx(np.mean([1.0, 2 / 3]))
    assert metrics["weaker"]["coverage@2"] == pytest.approx(1 / 4)
    for values in metrics.values():
        assert all(isinstance(value, float) for value in values.values())
        for name in ("recall@1", "mrr@2", "ndcg@2"):
            assert values[f"{name}_ci_low"] <= values[name] <= values[f"{name}_ci_high"]
    assert comparison["method"] == "gru4rec"
    assert comparison["baseline"] == "weak"  # best baseline by recall@2
    assert comparison["selected_by"] == "recall@2"
    assert comparison["recall@2"] == pytest.approx(4 / 6 - 1 / 6)
    assert comparison["recall@2_ci_low"] <= comparison["recall@2"] <= comparison["recall@2_ci_high"]
    assert 0.0 <= comparison["recall@2_share_not_better"] < 0.5


def test_summarise_without_bootstrap_or_reference():
    runs = [run_of("pop", SESSION, POSITION, GOOD, [0] * 6)]
    metrics, comparisons = summarise(
        runs, ks=[1], ties="average", item_counts=np.ones(4), n_bootstrap=0, seed=0
    )
    assert set(metrics["pop"]) == {"recall@1", "mrr@1", "ndcg@1"}
    assert comparisons == {}


def test_every_trained_method_against_the_best_baseline_and_each_other():
    trained = methods.names(trained=True)
    assert len(trained) >= 2
    first, second = trained[:2]
    runs = [
        run_of(first, SESSION, POSITION, GOOD, [0] * 6),
        run_of(second, SESSION, POSITION, BAD, [0] * 6),
        run_of("pop", SESSION, POSITION, [40] * 6, [0] * 6),
    ]
    _, comparisons = summarise(
        runs, ks=[1, 2], ties="pessimistic", item_counts=np.ones(4), n_bootstrap=200, seed=0
    )
    # The best baseline is chosen among the baselines only, never another trained method.
    assert list(comparisons) == [f"{first}_vs_pop", f"{second}_vs_pop", f"{first}_vs_{second}"]
    pair = comparisons[f"{first}_vs_{second}"]
    assert pair["selected_by"] is None and pair["primary_metric"] == "recall@2"
    assert pair["recall@2"] == pytest.approx(4 / 6 - 1 / 6)
    assert pair["recall@2_ci_low"] <= pair["recall@2"] <= pair["recall@2_ci_high"]
    # Paired: the same resamples give the interval of the difference.
    assert comparisons[f"{second}_vs_pop"]["recall@2"] == pytest.approx(1 / 6)


def test_primary_metric_and_method_names():
    assert primary_metric([1, 5, 10, 20]) == "recall@20"
    assert primary_metric([5, 50]) == "recall@50"
    assert method_names({"gru4rec": {}, "dataset": {}, "pop": {}, "protocol": {}}) == [
        "gru4rec",
        "pop",
    ]


def test_bucket_labels():
    assert bucket_labels([2, 3, 5, 10]) == ["2", "3-4", "5-9", "10+"]


def test_breakdown_by_position_and_session_length_hand_example():
    run = run_of("m", SESSION, POSITION, GOOD, [0] * 6)
    lengths = np.array([3, 2, 4])  # sessions 0, 1, 2 -> 2, 1, 3 predictions
    table = breakdown([run], lengths, k=1, ties="pessimistic", n_positions=2, length_edges=[2, 3])
    position = table[table["by"] == "position"].set_index("bucket")
    assert position.index.tolist() == ["1", "2+"]
    assert position["predictions"].tolist() == [3, 3]
    # Position 1: ranks 0, 5, 0 -> 2 hits of 3; positions 2+: ranks 1, 0, 30 -> 1 of 3.
    assert position["recall@1"].tolist() == pytest.approx([2 / 3, 1 / 3])
    length = table[table["by"] == "session_length"].set_index("bucket")
    assert length.index.tolist() == ["2", "3+"]
    assert length["predictions"].tolist() == [1, 5]
    assert length["recall@1"].tolist() == pytest.approx([0.0, 3 / 5])
    assert set(table.columns) >= {"method", "order", "recall@1", "mrr@1", "ndcg@1"}


def test_breakdown_drops_empty_buckets():
    run = run_of("m", [0], [1], [0], [0])
    table = breakdown([run], np.array([2]), k=5, ties="pessimistic")
    assert table.groupby("by")["bucket"].apply(list).to_dict() == {
        "position": ["1"],
        "session_length": ["2"],
    }


def test_shuffle_within_sessions_permutes_inside_each_session_only():
    sessions = SessionArrays.from_sequences([list(range(10)), [20, 21], list(range(30, 60))])
    shuffled = shuffle_within_sessions(sessions, seed=0)
    assert np.array_equal(shuffled.offsets, sessions.offsets)
    for s in range(3):
        before = sessions.items[sessions.offsets[s] : sessions.offsets[s + 1]]
        after = shuffled.items[shuffled.offsets[s] : shuffled.offsets[s + 1]]
        assert sorted(after.tolist()) == before.tolist()
    assert not np.array_equal(shuffled.items, sessions.items)
    assert np.array_equal(shuffle_within_sessions(sessions, 0).items, shuffled.items)


CHAIN = [list(range(start, start + 6)) for start in range(0, 24, 6)] * 5  # i -> i + 1


def test_shuffle_check_hurts_an_order_model_and_not_popularity():
    train = SessionArrays.from_sequences(CHAIN)
    test = SessionArrays.from_sequences(CHAIN[:4])
    scorers = [Markov(train, 24), Popularity(train, 24)]
    ordered = run_methods(scorers, test, 24, batch_size=8, exclude_seen=True)
    metrics = {run.name: run.predictions.metrics([1], "pessimistic") for run in ordered}
    assert metrics["markov"]["recall@1"] == 1.0
    shuffled = run_methods(
        scorers, shuffle_within_sessions(test, seed=3), 24, batch_size=8, exclude_seen=True
    )
    check = shuffle_check(metrics, shuffled, ks=[1], ties="pessimistic")
    markov = check["markov"]["recall@1"]
    assert markov["ordered"] == 1.0
    assert markov["shuffled"] < 0.5
    assert markov["relative_change"] == pytest.approx(markov["shuffled"] - 1.0)
    assert set(check["pop"]) == {"recall@1", "mrr@1", "ndcg@1"}


def test_evaluate_all_on_a_small_chain():
    train = SessionArrays.from_sequences(CHAIN)
    test = SessionArrays.from_sequences(CHAIN[:4])
    config = config_from_base(
        "evaluation",
        ks=[1, 5],
        n_bootstrap=50,
        baselines={"pop": {}, "markov": {}},
        shuffle_check=["markov"],
    )
    scorers, fit_seconds = fit_baselines(train, 24, config.baselines, seed=0)
    assert set(fit_seconds) == {"pop_fit", "markov_fit"}
    metrics, table = evaluate_all(scorers, train, test, 24, config, seed=0)
    assert method_names(metrics) == ["pop", "markov"]
    assert metrics["markov"]["recall@1"] == 1.0
    assert metrics["markov"]["coverage@5"] > 0
    protocol = metrics["protocol"]
    assert protocol["ks"] == [1, 5]
    assert protocol["comparisons"] == {}  # no trained method among the methods
    assert set(protocol["shuffle_check"]) == {"markov"}
    assert set(protocol["seconds"]) == {"pop", "markov", "markov_shuffled", "total"}
    assert isinstance(table, pd.DataFrame)
    assert set(table["method"]) == {"pop", "markov"}
    # Same seed, same everything.
    again, _ = evaluate_all(scorers, train, test, 24, config, seed=0)
    strip = {m: v for m, v in again.items() if m != "protocol"}
    assert strip == {m: v for m, v in metrics.items() if m != "protocol"}


def test_shuffle_check_of_a_method_that_is_not_evaluated_is_refused():
    """No method is fitted with options that are not configured: the check reruns
    evaluated methods only."""
    with pytest.raises(ParameterError, match=r"shuffle_check names \['markov'\], which are not"):
        config_from_base("evaluation", baselines={"pop": {}}, shuffle_check=["markov"])
    train = SessionArrays.from_sequences(CHAIN)
    config = config_from_base(
        "evaluation", ks=[1], n_bootstrap=0, baselines={"pop": {}}, shuffle_check=["gru4rec"]
    )
    scorers, _ = fit_baselines(train, 24, {"pop": {}}, seed=0)  # no gru4rec scorer given
    with pytest.raises(ValueError, match="not evaluated here"):
        evaluate_all(scorers, train, SessionArrays.from_sequences(CHAIN[:4]), 24, config, seed=0)
