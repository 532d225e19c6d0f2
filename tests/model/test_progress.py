"""Epoch progress: events counted, and without a terminal a log line with rate and ETA."""

from __future__ import annotations

import logging

from movielens_sbr.model.progress import EpochProgress


def test_without_a_terminal_progress_is_logged_with_rate_loss_and_eta(caplog):
    caplog.set_level(logging.INFO, logger="movielens_sbr.model.progress")
    with EpochProgress("epoch 1/3", n_events=100, log_every=0.0) as progress:
        progress.advance(40, mean_loss=2.5)
        progress.advance(20, mean_loss=2.25)
    assert progress.done == 60
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2  # pytest's captured output is no terminal: no bar, log lines
    assert lines[0].startswith("epoch 1/3: 40/100 events, ")
    assert lines[1].startswith("epoch 1/3: 60/100 events, ")
    assert "events/s, loss 2.250, ETA " in lines[1]


def test_log_lines_are_spaced_by_the_interval(caplog):
    caplog.set_level(logging.INFO, logger="movielens_sbr.model.progress")
    with EpochProgress("epoch 1/1", n_events=10, log_every=3600.0) as progress:
        for _ in range(10):
            progress.advance(1, mean_loss=1.0)
    assert progress.done == 10
    assert caplog.records == []
