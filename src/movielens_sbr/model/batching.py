"""Session-parallel mini-batches (GRU4Rec, Hidasi et al. 2016), built with numpy.

Sessions come as ``SessionArrays`` (flat items plus offsets). Each of ``batch_size``
lanes walks one session event by event; when its session ends, the lane takes the next
session in the (shuffled) order and its hidden-state row is reset. The schedule is
computed once per epoch as ``[n_steps, batch_size]`` arrays, so the training loop never
touches Python per event.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from movielens_sbr.data.session_arrays import (
    SessionArrays,
    position_in_segment,
    segment_of_each,
)


@dataclass(frozen=True)
class LaneSchedule:
    """What each lane does at each step: ``[n_steps, batch_size]`` arrays."""

    inputs: np.ndarray  # int32 item fed at this step
    targets: np.ndarray  # int32 next item to predict
    reset: np.ndarray  # bool: the lane starts a new session at this step
    valid: np.ndarray  # bool: False for idle lanes once all sessions are taken

    @property
    def n_steps(self) -> int:
        return self.inputs.shape[0]

    @property
    def n_events(self) -> int:
        return int(self.valid.sum())


def assign_lanes(steps_per_session: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy lane assignment: the next session goes to the lane that frees up first.

    Returns (lane, first step) per session. The heap loop runs once per session, not per
    event; ties go to the lowest lane index, as when lanes are scanned left to right.
    """
    n_sessions = len(steps_per_session)
    lane = np.empty(n_sessions, dtype=np.int64)
    start = np.empty(n_sessions, dtype=np.int64)
    first = min(batch_size, n_sessions)
    lane[:first] = np.arange(first)
    start[:first] = 0
    free_at = [(int(steps_per_session[s]), s) for s in range(first)]
    heapq.heapify(free_at)
    steps = steps_per_session.tolist()
    for session in range(first, n_sessions):
        time, lane_id = free_at[0]
        lane[session] = lane_id
        start[session] = time
        heapq.heapreplace(free_at, (time + steps[session], lane_id))
    return lane, start


def lane_schedule(
    sessions: SessionArrays,
    batch_size: int,
    rng: np.random.Generator | None,
    longest_first: bool = True,
    packed_tail: float = 0.2,
) -> LaneSchedule:
    """Session-parallel schedule for one epoch; sessions are shuffled by ``rng`` if given.

    A session of length L yields L - 1 (input, target) steps. Sessions shorter than 2
    are skipped. Lanes that have no session left at the end are marked not ``valid``
    (the last, partial batch is kept rather than dropped).

    With ``longest_first`` the ``batch_size`` longest sessions open the epoch (in random
    order) and the rest follow shuffled. Otherwise a very long session that happens to
    start late keeps one lane busy while the others idle: on the MovieLens train split at
    batch 128 that idle tail is 18 % of the steps, 7 % with this ordering.

    ``packed_tail`` is the share of sessions, at the end of the shuffled order, that are
    taken longest first (the longest-processing-time rule), so that all lanes run out of
    work at nearly the same step: on that split the idle tail drops from 7 % to 0.05 % of
    the steps, i.e. 7 % more events per second, and which sessions end the epoch still
    changes with the shuffle.
    """
    order = np.flatnonzero(sessions.lengths >= 2)
    if rng is not None:
        order = rng.permutation(order)
    if longest_first and len(order) > batch_size:
        longest = np.argsort(-sessions.lengths[order], kind="stable")[:batch_size]
        is_long = np.zeros(len(order), dtype=bool)
        is_long[longest] = True
        order = np.r_[order[np.sort(longest)], order[~is_long]]
    n_tail = int(len(order) * packed_tail)
    if n_tail > 1:
        tail = order[-n_tail:]
        order[-n_tail:] = tail[np.argsort(-sessions.lengths[tail], kind="stable")]
    steps_per_session = sessions.lengths[order] - 1
    lane, start = assign_lanes(steps_per_session, batch_size)
    n_steps = int((start + steps_per_session).max()) if len(order) else 0

    session_of_step = segment_of_each(steps_per_session)
    position = position_in_segment(steps_per_session)
    event = sessions.offsets[order][session_of_step] + position
    row = start[session_of_step] + position
    col = lane[session_of_step]

    inputs = np.zeros((n_steps, batch_size), dtype=np.int32)
    targets = np.zeros((n_steps, batch_size), dtype=np.int32)
    reset = np.zeros((n_steps, batch_size), dtype=bool)
    valid = np.zeros((n_steps, batch_size), dtype=bool)
    inputs[row, col] = sessions.items[event]
    targets[row, col] = sessions.items[event + 1]
    valid[row, col] = True
    reset[start, lane] = True
    return LaneSchedule(inputs, targets, reset, valid)
