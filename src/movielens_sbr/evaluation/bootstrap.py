"""Bootstrap confidence intervals over test sessions, vectorised (no Kedro).

Predictions of one session are correlated (same user, same prefix), so the resampling
unit is the session, not the prediction: a resample draws ``n_sessions`` sessions with
replacement and a metric is the ratio ``sum of per-prediction values / number of
predictions`` over the drawn sessions. All resamples are one matrix product of
multinomial draw counts ``[n_bootstrap, n_sessions]`` with per-session sums
``[n_sessions, n_metrics]``. Reusing the same draws for two methods gives the paired
distribution of their difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SessionSums:
    """Per-session sums of per-prediction metric values, and prediction counts."""

    names: list[str]
    sums: np.ndarray  # [n_sessions, n_metrics]
    counts: np.ndarray  # [n_sessions]

    def point(self) -> np.ndarray:
        """The metrics on the actual test set (mean over all predictions)."""
        return self.sums.sum(axis=0) / max(self.counts.sum(), 1)


def session_sums(session: np.ndarray, values: dict[str, np.ndarray]) -> SessionSums:
    """Sum every per-prediction array within each session (sessions renumbered densely).

    ``session`` gives the session of each prediction; every method evaluated on the same
    sessions gets the same dense numbering, so their sums line up row by row.
    """
    _, dense = np.unique(session, return_inverse=True)
    n_sessions = int(dense.max()) + 1 if len(dense) else 0
    names = list(values)
    sums = (
        np.stack(
            [np.bincount(dense, weights=values[name], minlength=n_sessions) for name in names],
            axis=1,
        )
        if names
        else np.zeros((n_sessions, 0))
    )
    counts = np.bincount(dense, minlength=n_sessions).astype(np.float64)
    return SessionSums(names, sums, counts)


def resample_counts(n_sessions: int, n_bootstrap: int, seed: int) -> np.ndarray:
    """How often each session is drawn in each resample: ``[n_bootstrap, n_sessions]``."""
    if n_sessions == 0 or n_bootstrap == 0:
        return np.zeros((n_bootstrap, n_sessions))
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_sessions, np.full(n_sessions, 1.0 / n_sessions), size=n_bootstrap)
    return draws.astype(np.float64)


def resampled_metrics(sums: SessionSums, counts: np.ndarray) -> np.ndarray:
    """Every metric in every resample: ``[n_bootstrap, n_metrics]``."""
    predictions = counts @ sums.counts
    return (counts @ sums.sums) / np.maximum(predictions, 1.0)[:, None]


def percentile_interval(samples: np.ndarray, confidence: float = 0.95) -> np.ndarray:
    """Percentile interval per column: ``[2, n_metrics]`` (low row, high row)."""
    tail = (1.0 - confidence) / 2.0 * 100.0
    return np.percentile(samples, [tail, 100.0 - tail], axis=0)
