"""Sessions as one flat item array plus offsets: the data model every consumer shares.

Session ``s`` is ``items[offsets[s]:offsets[s + 1]]``. Training (``model/batching.py``),
the evaluation, the baselines and the recommender all read sessions in this form, and
take the index arithmetic on it from here (session and position of each event, padded
rows, the running sessions of a longest-first batch, the top of a score matrix).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


def segment_of_each(lengths: np.ndarray) -> np.ndarray:
    """For consecutive segments of ``lengths``, the segment index of every element."""
    return np.repeat(np.arange(len(lengths)), lengths)


def position_in_segment(lengths: np.ndarray) -> np.ndarray:
    """For consecutive segments of ``lengths``, every element's position in its segment."""
    return np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def longer_than(sorted_lengths: np.ndarray) -> np.ndarray:
    """``counts[t]`` = how many of ``sorted_lengths`` (longest first) exceed ``t``, for
    ``t = 0 .. max``: with sessions sorted longest first, the ones still running at step
    ``t`` are the first ``counts[t]`` (``counts[max]`` is 0)."""
    steps = int(sorted_lengths[0]) if len(sorted_lengths) else 0
    return np.searchsorted(-sorted_lengths, -np.arange(steps + 1), side="left")


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` columns per row and their scores, ties by column index; -inf entries last.

    Equal to ``np.argsort(-scores, kind="stable")[:, :k]``, but sorts only the entries at
    or above each row's k-th largest score.
    """
    n_rows, n_cols = scores.shape
    k = min(k, n_cols)
    if k == n_cols or n_rows == 0:
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return order, np.take_along_axis(scores, order, axis=1)
    kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1]
    rows, cols = np.nonzero(scores >= kth[:, None])  # k or more per row (ties)
    values = scores[rows, cols]
    sort = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[sort], cols[sort], values[sort]
    position = np.arange(len(rows)) - np.searchsorted(rows, np.arange(n_rows))[rows]
    keep = position < k
    order = np.empty((n_rows, k), dtype=np.int64)
    top = np.empty((n_rows, k), dtype=scores.dtype)
    order[rows[keep], position[keep]] = cols[keep]
    top[rows[keep], position[keep]] = values[keep]
    return order, top


@dataclass(frozen=True)
class SessionArrays:
    """Sessions as a flat item array plus offsets."""

    items: np.ndarray  # int32, concatenated item indices
    offsets: np.ndarray  # int64, len n_sessions + 1

    @property
    def n_sessions(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def from_frame(cls, events: pd.DataFrame, item_column: str = "item_idx") -> SessionArrays:
        """Build from a frame sorted by session (contiguous ``session_id`` blocks)."""
        sessions = events["session_id"].to_numpy()
        starts = np.flatnonzero(np.r_[True, sessions[1:] != sessions[:-1]]) if len(sessions) else []
        offsets = np.r_[starts, len(sessions)].astype(np.int64)
        return cls(events[item_column].to_numpy().astype(np.int32), offsets)

    @classmethod
    def from_sequences(cls, sessions: Sequence[Sequence[int] | np.ndarray]) -> SessionArrays:
        """Build from one sequence of item indices per session (empty ones allowed)."""
        lengths = np.array([len(session) for session in sessions], dtype=np.int64)
        items = np.concatenate(sessions) if len(sessions) else np.zeros(0)
        return cls(items.astype(np.int32), np.r_[0, np.cumsum(lengths)])

    def subset(self, session_order: np.ndarray) -> SessionArrays:
        """The sessions in ``session_order``, in that order."""
        lengths = self.lengths[session_order]
        offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
        starts = self.offsets[session_order]
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return SessionArrays(self.items[gather], offsets)

    def session_of_event(self) -> np.ndarray:
        """Session index of every event of ``items``."""
        return segment_of_each(self.lengths)

    def position_of_event(self) -> np.ndarray:
        """Position of every event of ``items`` in its session (0 = first)."""
        return position_in_segment(self.lengths)

    def longest_first(self, min_length: int = 0) -> np.ndarray:
        """Indices of the sessions of at least ``min_length`` events, longest first (ties
        in index order)."""
        lengths = self.lengths
        order = np.flatnonzero(lengths >= min_length)
        return order[np.argsort(-lengths[order], kind="stable")]

    def padded(self, order: np.ndarray) -> np.ndarray:
        """Sessions in ``order`` as rows of a ``[n, max_length]`` int32 array (padding -1)."""
        lengths = self.lengths[order]
        matrix = np.full((len(order), int(lengths.max())), -1, dtype=np.int32)
        rows = segment_of_each(lengths)
        cols = position_in_segment(lengths)
        matrix[rows, cols] = self.items[np.repeat(self.offsets[order], lengths) + cols]
        return matrix
