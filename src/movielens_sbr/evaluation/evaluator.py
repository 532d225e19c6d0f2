"""Next-item evaluation at every position of every session, for any scorer (no Kedro).

A scorer walks a batch of sessions one event at a time, like GRU4Rec does:
``start(n)`` begins ``n`` sessions, then ``step(items)`` feeds the current item of the
first ``len(items)`` of them and returns their scores over all items. Sessions are sorted
by length (longest first), so the sessions still running at a step are always a prefix
of the batch and every method sees exactly the same predictions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from movielens_sbr.data.session_arrays import SessionArrays, longer_than
from movielens_sbr.evaluation.metrics import count_above, ranking_metrics, top_k_items


class SessionScorer(Protocol):
    """What the evaluator needs from a recommender."""

    name: str

    def start(self, n_sessions: int) -> None: ...

    def step(self, items: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Predictions:
    """One row per predicted event: which session, which position, and the target's rank."""

    session: np.ndarray  # index into the evaluated SessionArrays
    position: np.ndarray  # 1 = predicting the 2nd event from the 1st
    greater: np.ndarray
    equal: np.ndarray
    top: np.ndarray | None = None  # [n, top_k] recommended items (unordered), if asked for

    def metrics(self, ks: list[int], ties: str = "pessimistic") -> dict[str, float]:
        return ranking_metrics(self.greater, self.equal, ks, ties)

    def save(self, path) -> None:
        """The ranks (not the top lists) as an ``.npz`` file, e.g. an external
        implementation's predictions for ``scripts/compare_reference.py``."""
        np.savez_compressed(
            path,
            session=self.session,
            position=self.position,
            greater=self.greater,
            equal=self.equal,
        )

    @classmethod
    def load(cls, path) -> Predictions:
        """Predictions written by ``save``."""
        with np.load(path, allow_pickle=False) as stored:
            return cls(stored["session"], stored["position"], stored["greater"], stored["equal"])


# Bytes per (session, item) alive during one step: the scorer's float32 scores (and, for
# TensorFlow, its own output buffer), the masked copy, the seen mask and the two
# comparison masks of ``count_above``. Measured peaks stay below this (docs/benchmarks.md).
BYTES_PER_SCORE = 20
DEFAULT_MEMORY_MB = 2048.0


def batch_size_for_memory(n_items: int, memory_mb: float, bytes_per_score: int = BYTES_PER_SCORE):
    """Sessions per batch whose per-step score arrays fit in ``memory_mb`` (at least 1)."""
    return max(1, int(memory_mb * 2**20) // (n_items * bytes_per_score))


def evaluate(
    scorer: SessionScorer,
    sessions: SessionArrays,
    n_items: int,
    *,
    batch_size: int = 1024,
    exclude_seen: bool = True,
    top_k: int = 0,
    memory_mb: float | None = DEFAULT_MEMORY_MB,
) -> Predictions:
    """Rank the true next item against all ``n_items`` at every position of every session.

    With ``exclude_seen`` the items already in the session prefix are removed from the
    ranking (a MovieLens user rates a movie once, so they can never be the next item).
    With ``top_k`` > 0 the ``top_k`` recommended items of every prediction are kept too
    (for coverage and popularity bias). ``batch_size`` is lowered so that a batch's score
    arrays fit in ``memory_mb`` (``batch_size_for_memory``; by default 2 GiB, where 1024
    sessions fit up to 100k items); the batch size never changes the results.
    """
    if memory_mb is not None:
        batch_size = min(batch_size, batch_size_for_memory(n_items, memory_mb))
    lengths = sessions.lengths
    order = sessions.longest_first(min_length=2)
    parts: list[tuple[np.ndarray, ...]] = []
    for begin in range(0, len(order), batch_size):
        batch = order[begin : begin + batch_size]
        items = sessions.padded(batch)
        running = longer_than(lengths[batch])
        scorer.start(len(batch))
        seen = np.zeros((len(batch), n_items), dtype=bool) if exclude_seen else None
        for position in range(1, items.shape[1]):
            n_active = int(running[position])
            current = items[:n_active, position - 1]
            targets = items[:n_active, position]
            scores = scorer.step(current)
            if seen is not None:
                seen[np.arange(n_active), current] = True
                scores = np.where(seen[:n_active], -np.inf, scores)
            greater, equal = count_above(scores, targets)
            top = top_k_items(scores, top_k) if top_k > 0 else np.zeros((n_active, 0), np.int32)
            parts.append(
                (
                    batch[:n_active],
                    np.full(n_active, position, dtype=np.int32),
                    greater,
                    equal,
                    top,
                )
            )
    if not parts:
        raise ValueError("No session has two events or more: nothing to evaluate.")
    session, position, greater, equal, top = (
        np.concatenate(column) for column in zip(*parts, strict=True)
    )
    return Predictions(session, position, greater, equal, top if top_k > 0 else None)
