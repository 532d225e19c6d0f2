"""Epoch progress: events counted, and without a terminal a log line with rate and ETA."""

from __future__ import annotations

import logging

from movielens_sbr.model.progress import EpochProgress, epoch_record


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


def test_epoch_record_holds_speed_and_validation_and_is_logged(caplog):
    caplog.set_level(logging.INFO, logger="movielens_sbr.model.progress")
    record = epoch_record(2, 5, loss=1.5, seconds=4.0, n_events=100, validation={"recall@20": 0.3})
    assert record == {
        "epoch": 2,
        "loss": 1.5,
        "train_seconds": 4.0,
        "events_per_second": 25.0,
        "valid_recall@20": 0.3,
    }
    assert caplog.records[-1].getMessage() == (
        "epoch 2/5: loss 1.5000, 25 events/s, 4.0 s, valid_recall@20 0.3000"
    )
