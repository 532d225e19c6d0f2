"""Sessions as one flat item array plus offsets: the data model every consumer shares.

Session ``s`` is ``items[offsets[s]:offsets[s + 1]]``. Training (``model/batching.py``),
the evaluation and the recommender all read sessions in this form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


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

    def subset(self, session_order: np.ndarray) -> SessionArrays:
        """The sessions in ``session_order``, in that order."""
        lengths = self.lengths[session_order]
        offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
        starts = self.offsets[session_order]
        gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return SessionArrays(self.items[gather], offsets)
