"""Where the time of one GRU4Rec training step goes: TensorFlow's profiler, per op type.

Usage:
    python scripts/profile_step.py [--seconds S] [--set training.KEY=VALUE ...]

Builds the trainer for conf/base's training parameters (plus overrides) on a synthetic
catalogue about the size of an ML-1M split's (3,266 items, Zipf-like popularity), times the
compiled chunks of steps, then traces a few chunks with ``tf.profiler`` and prints the
time per step of each op type, largest first. TensorFlow runs independent ops side by
side, so the op times of a step add up to more than its wall-clock time; read them as
shares. Used to find what to speed up (docs/benchmarks.md, changelog: the training speed-up).
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
N_ITEMS = 3266  # about the number of items of an ML-1M split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="timing window")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--top", type=int, default=25, help="op types to print")
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    from movielens_sbr.model.gru4rec import GRU4RecNetwork, _Trainer
    from movielens_sbr.model.training_setup import model_config
    from movielens_sbr.params import load_parameters, validate_section

    params = load_parameters(ROOT / "conf" / "base", args.set)
    config = model_config(validate_section("training", params["training"]), params["seed"])
    rng = np.random.default_rng(config.seed)
    popularity = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.8
    popularity /= popularity.sum()
    trainer = _Trainer(
        GRU4RecNetwork(N_ITEMS, config), config, rng.multinomial(380_000, popularity)
    )
    shape = (config.steps_per_call, config.batch_size)

    def chunk():
        return (
            tf.constant(rng.choice(N_ITEMS, shape, p=popularity).astype(np.int32)),
            tf.constant(rng.choice(N_ITEMS, shape, p=popularity).astype(np.int32)),
            tf.constant(rng.random(shape) < 0.05),  # a new session every ~20 events
            tf.constant(np.ones(shape, dtype=bool)),
        )

    chunks = [chunk() for _ in range(4)]
    trainer.train_chunk(*chunks[0]).numpy()  # tracing
    seconds = []
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        begin = time.perf_counter()
        trainer.train_chunk(*chunks[len(seconds) % 4]).numpy()
        seconds.append(time.perf_counter() - begin)
    step_ms = float(np.median(seconds)) / config.steps_per_call * 1e3
    print(
        f"layers {list(config.layers)}, batch {config.batch_size}, {config.loss}, "
        f"{config.embedding}, {config.optimizer}: median {step_ms:.2f} ms/step, "
        f"{config.batch_size / step_ms * 1e3:,.0f} events/s (full lanes)"
    )

    traced_chunks = 4
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for i in range(traced_chunks):
            trainer.train_chunk(*chunks[i]).numpy()
        tf.profiler.experimental.stop()
        op_ps = per_op_type(next(Path(logdir).rglob("*.xplane.pb")))
    steps = traced_chunks * config.steps_per_call
    total = sum(op_ps.values())
    print(f"traced: {total / 1e9 / steps:.2f} ms of op time per step (ops overlap)")
    for op, ps in op_ps.most_common(args.top):
        print(f"{ps / 1e9 / steps:8.3f} ms/step {100 * ps / total:5.1f} %  {op}")


def per_op_type(xplane: Path) -> collections.Counter:
    """Picoseconds per op type (XLA clusters as one type) in a profiler trace."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(xplane.read_bytes())
    totals: collections.Counter = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if name.startswith("CpuExecutable::ExecuteAsyncOnStream"):
                    totals["XLA cluster"] += event.duration_ps
                elif ":" in name and "::" not in name and " " not in name:  # "op_name:OpType"
                    totals[name.rsplit(":", 1)[1]] += event.duration_ps
    return totals


if __name__ == "__main__":
    main()
