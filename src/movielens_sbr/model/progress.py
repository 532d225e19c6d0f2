"""Training progress of an epoch: a tqdm bar on a terminal, a log line every 30 s otherwise."""

from __future__ import annotations

import logging
import time

from tqdm.auto import tqdm

logger = logging.getLogger(__name__)


class EpochProgress:
    """Counts the events an epoch has trained on and shows rate, mean loss and ETA.

    Use as a context manager; call ``advance`` after each training call.
    """

    def __init__(self, label: str, n_events: int, log_every: float = 30.0):
        self.label, self.n_events, self.log_every = label, n_events, log_every
        self.done = 0
        self._bar = tqdm(
            total=n_events,
            desc=label,
            unit="ev",
            unit_scale=True,
            mininterval=2.0,
            leave=False,
            disable=None,  # a terminal gets a bar; logs get a line every `log_every` s
        )
        self._started = self._last_log = time.perf_counter()

    def __enter__(self) -> EpochProgress:
        return self

    def __exit__(self, *exc) -> None:
        self._bar.close()

    def advance(self, events: int, mean_loss: float) -> None:
        self.done += events
        self._bar.update(events)
        self._bar.set_postfix(loss=f"{mean_loss:.3f}", refresh=False)
        now = time.perf_counter()
        if self._bar.disable and now - self._last_log > self.log_every:
            rate = self.done / (now - self._started)
            logger.info(
                "%s: %d/%d events, %.0f events/s, loss %.3f, ETA %.0f s",
                self.label,
                self.done,
                self.n_events,
                rate,
                mean_loss,
                (self.n_events - self.done) / rate,
            )
            self._last_log = now


def epoch_record(
    epoch: int, n_epochs: int, loss: float, seconds: float, n_events: int, validation: dict
) -> dict:
    """An epoch's history record (loss, time, speed and ``valid_*`` metrics), logged."""
    record = {
        "epoch": epoch,
        "loss": loss,
        "train_seconds": seconds,
        "events_per_second": n_events / seconds,
        **{f"valid_{name}": value for name, value in validation.items()},
    }
    logger.info(
        "epoch %d/%d: loss %.4f, %.0f events/s, %.1f s%s",
        epoch,
        n_epochs,
        loss,
        record["events_per_second"],
        seconds,
        "".join(f", {k} {v:.4f}" for k, v in record.items() if k.startswith("valid_")),
    )
    return record
