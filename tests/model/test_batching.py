"""Session-parallel mini-batches: greedy lanes, the epoch schedule."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.model.batching import assign_lanes, lane_schedule

# Sessions of lengths 3, 2, 4, 1; item ids tell session and position apart.
HAND = [[10, 11, 12], [20, 21], [30, 31, 32, 33], [40]]


# ---------------------------------------------------------------------------------------------
# assign_lanes


def test_assign_lanes_hand_example():
    # Lanes 0, 1 take sessions 0, 1 (free at 2 and 1); session 2 -> lane 1 at 1 (free at 4);
    # session 3 -> lane 0 at 2 (free at 3); session 4 -> lane 0 at 3, before lane 1 frees.
    lane, start = assign_lanes(np.array([2, 1, 3, 1, 5]), batch_size=2)
    assert lane.tolist() == [0, 1, 1, 0, 0]
    assert start.tolist() == [0, 0, 1, 2, 3]


def test_assign_lanes_ties_go_to_the_lowest_lane():
    lane, start = assign_lanes(np.array([2, 2, 2, 1, 1, 1]), batch_size=3)
    assert lane.tolist() == [0, 1, 2, 0, 1, 2]
    assert start.tolist() == [0, 0, 0, 2, 2, 2]


def test_assign_lanes_with_more_lanes_than_sessions():
    lane, start = assign_lanes(np.array([4, 1]), batch_size=5)
    assert lane.tolist() == [0, 1]
    assert start.tolist() == [0, 0]


def reference_lanes(steps: np.ndarray, batch_size: int) -> tuple[list[int], list[int]]:
    """Scan lanes left to right: the next session goes to the lane that frees up first."""
    free_at = [0] * batch_size
    lanes, starts = [], []
    for length in steps.tolist():
        chosen = int(np.argmin(free_at))
        lanes.append(chosen)
        starts.append(free_at[chosen])
        free_at[chosen] += length
    return lanes, starts


@pytest.mark.parametrize("seed", range(5))
def test_assign_lanes_is_the_greedy_assignment(seed):
    rng = np.random.default_rng(seed)
    steps = rng.integers(1, 8, size=60)
    batch_size = int(rng.integers(1, 9))
    lane, start = assign_lanes(steps, batch_size)

    expected_lanes, expected_starts = reference_lanes(steps, batch_size)
    assert lane.tolist() == expected_lanes
    assert start.tolist() == expected_starts
    # Sessions in a lane run back to back without overlap, and start times never decrease.
    assert np.all(np.diff(start) >= 0)
    for lane_id in range(batch_size):
        mine = np.flatnonzero(lane == lane_id)
        assert np.array_equal(start[mine][1:], (start + steps)[mine][:-1])


# ---------------------------------------------------------------------------------------------
# lane_schedule


def test_lane_schedule_hand_example_longest_first():
    """Order 0, 2 (the two longest) then 1; the 1-event session 3 is skipped."""
    schedule = lane_schedule(
        SessionArrays.from_sequences(HAND), batch_size=2, rng=None, longest_first=True
    )

    assert schedule.inputs.tolist() == [[10, 30], [11, 31], [20, 32]]
    assert schedule.targets.tolist() == [[11, 31], [12, 32], [21, 33]]
    assert schedule.reset.tolist() == [[True, True], [False, False], [True, False]]
    assert schedule.valid.all()
    assert schedule.n_steps == 3
    assert schedule.n_events == 2 + 1 + 3
    assert schedule.inputs.dtype == np.int32
    assert schedule.targets.dtype == np.int32


def test_lane_schedule_hand_example_in_order_has_a_partial_last_batch():
    """Lane 1 hands session 1 over to session 2 at step 1; lane 0 then idles."""
    schedule = lane_schedule(
        SessionArrays.from_sequences(HAND), batch_size=2, rng=None, longest_first=False
    )

    assert schedule.inputs.tolist() == [[10, 20], [11, 30], [0, 31], [0, 32]]
    assert schedule.targets.tolist() == [[11, 21], [12, 31], [0, 32], [0, 33]]
    assert schedule.reset.tolist() == [[True, True], [False, True], [False, False], [False, False]]
    assert schedule.valid.tolist() == [[True, True], [True, True], [False, True], [False, True]]
    assert schedule.n_steps == 4
    assert schedule.n_events == sum(len(session) - 1 for session in HAND) == 6
    assert not (schedule.reset & ~schedule.valid).any()


def test_lane_schedule_with_no_usable_session_is_empty():
    schedule = lane_schedule(SessionArrays.from_sequences([[1], [2]]), batch_size=3, rng=None)
    assert schedule.inputs.shape == (0, 3)
    assert schedule.n_events == 0


def random_sessions(seed: int, n_sessions: int = 40) -> SessionArrays:
    """Sessions whose items are the event numbers, so every event is distinguishable."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 9, size=n_sessions)
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    return SessionArrays(np.arange(offsets[-1], dtype=np.int32), offsets)


def replay_lanes(schedule) -> list[list[int]]:
    """The sessions each lane walks through, rebuilt from inputs, targets and reset."""
    walked: list[list[int]] = []
    for lane_id in range(schedule.inputs.shape[1]):
        current: list[int] | None = None
        for step in range(schedule.n_steps):
            if not schedule.valid[step, lane_id]:
                continue
            item, target = int(schedule.inputs[step, lane_id]), int(schedule.targets[step, lane_id])
            if schedule.reset[step, lane_id]:
                current = [item, target]
                walked.append(current)
            else:
                assert current is not None
                assert item == current[-1]  # a lane continues its own session
                current.append(target)
    return walked


@pytest.mark.parametrize(("seed", "batch_size", "longest_first"), [(0, 4, True), (1, 7, False)])
def test_lane_schedule_walks_every_consecutive_pair_exactly_once(seed, batch_size, longest_first):
    sessions = random_sessions(seed)
    schedule = lane_schedule(
        sessions, batch_size, np.random.default_rng(seed), longest_first=longest_first
    )
    split = np.split(sessions.items, sessions.offsets[1:-1])
    usable = [session.tolist() for session in split if len(session) >= 2]

    assert schedule.n_events == sum(len(session) - 1 for session in usable)
    inputs, targets = schedule.inputs[schedule.valid], schedule.targets[schedule.valid]
    pairs = list(zip(inputs.tolist(), targets.tolist(), strict=True))
    expected_pairs = [pair for session in usable for pair in itertools.pairwise(session)]
    assert len(pairs) == len(set(pairs))
    assert sorted(pairs) == sorted(expected_pairs)

    # Every usable session is walked exactly once, whole and in order, by one lane.
    assert sorted(replay_lanes(schedule)) == sorted(usable)
    # A lane is reset exactly when a new session starts: once per session.
    assert int(schedule.reset.sum()) == len(usable)
    # Invalid cells are padding at the end of a lane, never in the middle.
    for lane_id in range(batch_size):
        column = schedule.valid[:, lane_id]
        assert not np.any(column[1:] & ~column[:-1])


def test_lane_schedule_longest_sessions_open_the_epoch():
    sessions = random_sessions(2)
    batch_size = 5
    schedule = lane_schedule(sessions, batch_size, np.random.default_rng(0), longest_first=True)
    longest = np.sort(sessions.lengths)[::-1][:batch_size]
    opened = np.searchsorted(sessions.offsets, schedule.inputs[0], side="right") - 1
    assert np.array_equal(schedule.inputs[0], sessions.offsets[opened])  # first events
    assert sorted(sessions.lengths[opened].tolist()) == sorted(longest.tolist())
    assert schedule.reset[0].all()


def test_lane_schedule_shuffling_is_seeded():
    sessions = random_sessions(3)
    first = lane_schedule(sessions, 4, np.random.default_rng(11))
    again = lane_schedule(sessions, 4, np.random.default_rng(11))
    other = lane_schedule(sessions, 4, np.random.default_rng(12))
    unshuffled = lane_schedule(sessions, 4, None)

    for name in ("inputs", "targets", "reset", "valid"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.inputs[first.valid][:50], other.inputs[other.valid][:50])
    assert first.n_events == other.n_events == unshuffled.n_events


def test_lane_schedule_packed_tail_takes_the_last_sessions_longest_first():
    """Lengths 2, 9, 3, 5 (no shuffle, one lane): the last half (3, 5) is packed to 5, 3."""
    sessions = SessionArrays.from_sequences(
        [[1, 2], list(range(10, 19)), [30, 31, 32], [40, 41, 42, 43, 44]]
    )
    schedule = lane_schedule(sessions, 1, rng=None, longest_first=False, packed_tail=0.5)
    session_starts = schedule.inputs[schedule.reset].tolist()
    assert session_starts == [1, 10, 40, 30]


def test_lane_schedule_packed_tail_shrinks_the_idle_tail():
    rng = np.random.default_rng(5)
    lengths = rng.geometric(0.05, size=600) + 1
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    sessions = SessionArrays(np.zeros(offsets[-1], dtype=np.int32), offsets)
    loose = lane_schedule(sessions, 32, np.random.default_rng(0), packed_tail=0.0)
    packed = lane_schedule(sessions, 32, np.random.default_rng(0), packed_tail=0.2)
    assert packed.n_events == loose.n_events
    assert packed.n_steps < loose.n_steps
    assert 1 - packed.n_events / packed.valid.size < 0.01
