"""Bootstrap intervals over sessions: sums, draws, intervals and paired differences."""

from __future__ import annotations

import numpy as np
import pytest

from movielens_sbr.evaluation.bootstrap import (
    percentile_interval,
    resample_counts,
    resampled_metrics,
    session_sums,
)


def test_session_sums_hand_example():
    session = np.array([7, 3, 7, 7, 3, 9])
    values = {"hit": np.array([1.0, 0, 1, 0, 1, 0]), "rr": np.array([0.5, 0, 1, 0, 0.25, 0])}
    sums = session_sums(session, values)
    # Sessions renumbered densely in sorted order: 3 -> 0, 7 -> 1, 9 -> 2.
    assert sums.names == ["hit", "rr"]
    assert sums.counts.tolist() == [2, 3, 1]
    assert sums.sums.tolist() == [[1.0, 0.25], [2.0, 1.5], [0.0, 0.0]]
    assert sums.point().tolist() == pytest.approx([3 / 6, 1.75 / 6])


def test_resample_counts_draw_every_resample_of_full_size_and_are_seeded():
    counts = resample_counts(50, 200, seed=1)
    assert counts.shape == (200, 50)
    assert (counts.sum(axis=1) == 50).all()
    assert np.array_equal(counts, resample_counts(50, 200, seed=1))
    assert not np.array_equal(counts, resample_counts(50, 200, seed=2))
    assert resample_counts(0, 10, seed=0).shape == (10, 0)


def test_one_draw_of_each_session_gives_the_point_estimate():
    sums = session_sums(np.array([0, 0, 1, 2, 2, 2]), {"m": np.array([1.0, 0, 1, 0, 0, 1])})
    identity = np.ones((1, 3))
    assert resampled_metrics(sums, identity)[0, 0] == pytest.approx(sums.point()[0])
    # Session 1 drawn three times, the others never: the metric is session 1's mean.
    assert resampled_metrics(sums, np.array([[0.0, 3.0, 0.0]]))[0, 0] == pytest.approx(1.0)


def test_interval_width_matches_the_binomial_standard_error():
    """One prediction per session, hit probability 0.3: half-width ~ 1.96 sqrt(pq/n)."""
    n = 2000
    hits = (np.random.default_rng(0).random(n) < 0.3).astype(float)
    sums = session_sums(np.arange(n), {"hit": hits})
    samples = resampled_metrics(sums, resample_counts(n, 2000, seed=3))
    low, high = percentile_interval(samples)[:, 0]
    mean = hits.mean()
    expected = 1.96 * np.sqrt(mean * (1 - mean) / n)
    assert low < mean < high
    assert (high - low) / 2 == pytest.approx(expected, rel=0.1)


def test_clustered_predictions_widen_the_interval():
    """Predictions of one session that all agree count as one draw, not as many."""
    rng = np.random.default_rng(4)
    per_session = (rng.random(300) < 0.5).astype(float)
    hits = np.repeat(per_session, 10)
    clustered = session_sums(np.repeat(np.arange(300), 10), {"hit": hits})
    independent = session_sums(np.arange(3000), {"hit": hits})
    width = {}
    for name, sums in (("clustered", clustered), ("independent", independent)):
        n_sessions = len(sums.counts)
        low, high = percentile_interval(
            resampled_metrics(sums, resample_counts(n_sessions, 1000, seed=5))
        )[:, 0]
        width[name] = high - low
    assert width["clustered"] > 2.5 * width["independent"]  # sqrt(10) ~ 3.2


def test_paired_difference_of_a_method_with_itself_is_exactly_zero():
    sums = session_sums(np.array([0, 1, 1, 2]), {"m": np.array([1.0, 0, 1, 0])})
    draws = resample_counts(3, 100, seed=0)
    paired = resampled_metrics(sums, draws) - resampled_metrics(sums, draws)
    assert np.all(paired == 0.0)
