"""Non-neural baselines behind the evaluator's scorer interface (no Kedro imports)."""

from __future__ import annotations

import numpy as np

from movielens_sbr.model.batching import SessionArrays


def item_counts(sessions: SessionArrays, n_items: int) -> np.ndarray:
    """How often each item occurs in the sessions."""
    return np.bincount(sessions.items, minlength=n_items).astype(np.float64)


class Popularity:
    """POP: every session gets the globally most frequent training items."""

    name = "pop"

    def __init__(self, train: SessionArrays, n_items: int):
        self.scores = item_counts(train, n_items).astype(np.float32)
        self.n_sessions = 0

    def start(self, n_sessions: int) -> None:
        self.n_sessions = n_sessions

    def step(self, items: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scores, (len(items), len(self.scores)))


class Markov:
    """Item-to-item transitions: what followed the current item in training sessions.

    Items never seen after the current one all score 0; popularity, scaled below one
    transition, orders them instead of leaving a block of ties.
    """

    name = "markov"

    def __init__(self, train: SessionArrays, n_items: int):
        follows = np.ones(len(train.items), dtype=bool)
        follows[train.offsets[1:-1]] = False  # the first event of a session follows nothing
        follows[0] = False
        current = train.items[np.flatnonzero(follows) - 1].astype(np.int64)
        following = train.items[follows].astype(np.int64)
        transitions = np.bincount(current * n_items + following, minlength=n_items * n_items)
        popularity = item_counts(train, n_items)
        self.scores = (
            transitions.reshape(n_items, n_items) + popularity / (popularity.max() + 1.0)
        ).astype(np.float32)

    def start(self, n_sessions: int) -> None:
        pass

    def step(self, items: np.ndarray) -> np.ndarray:
        return self.scores[items]
