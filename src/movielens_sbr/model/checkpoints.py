"""Epoch checkpoints of training (GRU4Rec, SASRec): one ``last.npz`` per folder (no Kedro,
no Keras).

A checkpoint holds everything an uninterrupted run would still have in memory after an
epoch: the network and optimizer variables, the shuffling RNG state, the history and the
best weights so far, plus the training parameters and a fingerprint of the training data,
so that resuming ends exactly where an uninterrupted run with the same seed ends, and a
checkpoint of other parameters or data is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from movielens_sbr.data.session_arrays import SessionArrays

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "last.npz"


class CheckpointMismatchError(ValueError):
    """A checkpoint was written for other training parameters or other training data."""


@dataclass
class Checkpoint:
    """The state of training after ``epoch``."""

    epoch: int
    history: list[dict]
    best_score: float
    best_epoch: int
    rng_state: dict
    network: list[np.ndarray]
    optimizer: list[np.ndarray]
    best_weights: list[np.ndarray] | None = field(default=None)


@dataclass
class BestEpoch:
    """The best epoch so far of a training loop (GRU4Rec, SASRec): its score on the
    selection metric, its number and its weights; 0 before the first epoch."""

    score: float = -np.inf
    epoch: int = 0
    weights: list[np.ndarray] | None = None

    @classmethod
    def resumed(cls, saved: Checkpoint | None) -> BestEpoch:
        """The best epoch a checkpoint recorded, or none yet."""
        if saved is None:
            return cls()
        return cls(saved.best_score, saved.best_epoch, saved.best_weights)

    def update(self, epoch: int, record: dict, metric: str | None, get_weights) -> None:
        """Keep ``epoch`` when its ``valid_<metric>`` beats the best so far; without
        validation (``metric`` None) every epoch beats the one before, so the last is kept."""
        score = record[f"valid_{metric}"] if metric is not None else epoch
        if score > self.score:
            self.score, self.epoch, self.weights = score, epoch, get_weights()

    def checkpoint(
        self, epoch: int, history: list[dict], rng_state: dict, network, optimizer
    ) -> Checkpoint:
        """The checkpoint after ``epoch`` with this best epoch."""
        return Checkpoint(
            epoch, history, self.score, self.epoch, rng_state, network, optimizer, self.weights
        )


def fingerprint(sessions: SessionArrays, n_items: int) -> str:
    """A short digest of the training data (item ids, session offsets, catalogue size)."""
    digest = hashlib.sha256(str(n_items).encode())
    digest.update(np.ascontiguousarray(sessions.items).tobytes())
    digest.update(np.ascontiguousarray(sessions.offsets).tobytes())
    return digest.hexdigest()[:16]


def weights_digest(weights: list[np.ndarray]) -> str:
    """SHA-256 of the weight arrays' bytes: equal digests, bit-identical weights."""
    digest = hashlib.sha256()
    for array in weights:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def save_checkpoint(folder: Path, checkpoint: Checkpoint, config: dict, data: str) -> None:
    """Write ``last.npz`` beside itself and rename it over the previous one (atomic).

    ``config`` is the training parameters and ``data`` the training data's ``fingerprint``.
    """
    meta = {
        "epoch": checkpoint.epoch,
        "history": checkpoint.history,
        "best_score": float(checkpoint.best_score),
        "best_epoch": checkpoint.best_epoch,
        "rng_state": checkpoint.rng_state,
        "config": json.loads(json.dumps(config)),
        "fingerprint": data,
    }
    arrays = {"meta": np.array(json.dumps(meta))}
    for prefix, values in (
        ("network", checkpoint.network),
        ("optimizer", checkpoint.optimizer),
        ("best", checkpoint.best_weights or []),
    ):
        arrays.update({f"{prefix}_{i}": value for i, value in enumerate(values)})
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{CHECKPOINT_FILE}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / CHECKPOINT_FILE)
    finally:
        temporary.unlink(missing_ok=True)


def load_checkpoint(
    folder: Path, config: dict, data: str, section: str = "training"
) -> Checkpoint | None:
    """The checkpoint in ``folder``, checked against ``config`` and the ``data`` fingerprint;
    None (with a warning) when there is none yet. ``section``: the parameter section whose
    ``resume`` the error messages name."""
    path = folder / CHECKPOINT_FILE
    if not path.exists():
        logger.warning("No checkpoint at %s: training from the first epoch", path)
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            groups: dict[str, list[np.ndarray]] = {"network": [], "optimizer": [], "best": []}
            for prefix, values in groups.items():
                count = sum(1 for key in stored.files if key.startswith(f"{prefix}_"))
                values.extend(stored[f"{prefix}_{i}"] for i in range(count))
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError) as error:
        # Checkpoints are written atomically: this one was damaged or replaced by hand.
        raise CheckpointMismatchError(
            f"The checkpoint {path} cannot be read ({type(error).__name__}: {error}): it is "
            f"truncated or damaged. Delete it to train from epoch 1, or run without "
            f"{section}.resume=true."
        ) from error
    _check(meta, config, data, path, section)
    logger.info("Resuming from %s after epoch %d", path, meta["epoch"])
    return Checkpoint(
        epoch=meta["epoch"],
        history=meta["history"],
        best_score=meta["best_score"],
        best_epoch=meta["best_epoch"],
        rng_state=meta["rng_state"],
        network=groups["network"],
        optimizer=groups["optimizer"],
        best_weights=groups["best"] or None,
    )


def _check(meta: dict, config: dict, data: str, path: Path, section: str) -> None:
    """Refuse a checkpoint of other parameters or data (``epochs`` may grow)."""
    saved = {k: v for k, v in meta["config"].items() if k != "epochs"}
    current = {k: v for k, v in json.loads(json.dumps(config)).items() if k != "epochs"}
    changed = sorted(k for k in saved.keys() | current.keys() if saved.get(k) != current.get(k))
    if changed or meta["fingerprint"] != data:
        differences = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in changed)
        what = (
            f"parameters {differences}" if changed else "training data (the splits changed since)"
        )
        raise CheckpointMismatchError(
            f"The checkpoint {path} was written with other {what}: it cannot be resumed. "
            f"Run without {section}.resume=true to start over (the checkpoint is then replaced)."
        )
