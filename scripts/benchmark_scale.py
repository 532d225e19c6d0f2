"""Scaling benchmark on a synthetic log shaped like MovieLens 32M: time and peak memory per step.

Usage:
    python scripts/benchmark_scale.py [--sizes 1M,4M,16M,32M] [--train-steps 640]
        [--eval-predictions 20000] [--replicas 1] [--set SECTION.KEY=VALUE ...] [--no-table]
        [--alternate KEY=V1,V2 --rounds 2]

For each size, the log is generated (``movielens_sbr.data.synthetic``, seed 0) and written
as an ML-32M zip, then every step runs in its own Python process, so that the peak
resident memory (``ru_maxrss``) reported for a step is that step's alone (with its
inputs loaded from Parquet and its libraries imported, as a Kedro node would have):

- ``ingest``: ratings.csv and movies.csv of the zip -> the ``ratings`` and ``movies`` frames;
- ``sessions``: order + sessionise, cleanse, time split, item index (conf/base parameters);
- ``train``: the lane schedule of one epoch, then ``--train-steps`` compiled training steps
  after two warm-up chunks (tracing), with the training settings of ``conf/ml-32m``
  (sampled cross-entropy over 2,048 negatives, sparse optimiser updates); one epoch is
  extrapolated as schedule time + epoch steps x time per step;
  with ``--replicas 2`` under ``MirroredStrategy`` over the CPU split into two logical devices;
- ``train_sasrec``: SASRec's training windows of one epoch, then its trainer's epoch loop
  over two warm-up batches and a quarter of ``--train-steps`` timed batches of windows
  drawn at random, with the settings of ``conf/ml-32m`` (sampled cross-entropy);
  one epoch is extrapolated as windows time + batches x time per step;
- ``evaluate``: GRU4Rec (and SASRec, after ``train_sasrec``) ranking every item on a
  seeded sample of test sessions holding ``--eval-predictions`` predictions, in batches
  capped by the evaluator's memory budget, extrapolated to all test predictions by the
  count of predictions;
- ``baselines``: POP and Markov fitted on all train sessions, scored on the same sample.

``--alternate KEY=V1,V2 --rounds N`` runs only the train step, with each value in turn
(``replicas=1,2``, ``training.sparse_updates=false,true``), N rounds, and prints a table
with the ratio of CPU seconds per step within each round; its JSON goes to ``--results``.

Results are merged by size into data/08_reporting/benchmarks/scale.json (so sizes can be
run separately), and docs/benchmarks.md's generated tables, "Scaling" among them, are
rewritten (``scripts/benchmark_docs.py``). Absolute times depend on what else the machine
runs: each step records the load average before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from movielens_sbr.params import load_parameters
from movielens_sbr.provenance import git_commit, peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf" / "base"

RESULTS = ROOT / "data" / "08_reporting" / "benchmarks" / "scale.json"
WORK = ROOT / "data" / "02_intermediate" / "scale"
STEPS = ("generate", "ingest", "sessions", "train", "train_sasrec", "evaluate", "baselines")
# The ML-32M environment's settings of the trained models (sampled losses, sparse updates),
# from its own parameter files, so that the benchmark trains as `kedro run --env ml-32m`.
ENV = ROOT / "conf" / "ml-32m"


def env_overrides(env: Path = ENV) -> list[str]:
    """``SECTION.KEY=VALUE`` overrides of an environment's training and SASRec files."""
    import yaml

    overrides = []
    for section in ("training", "sasrec"):
        values = yaml.safe_load((env / f"parameters_{section}.yml").read_text())[section]
        overrides += [f"{section}.{key}={json.dumps(value)}" for key, value in values.items()]
    return overrides


TRAIN_CONFIG_KEYS = (
    "layers", "embedding", "loss", "n_sample", "batch_size", "optimizer", "sparse_updates",
)  # fmt: skip
TABLE_START = "<!-- scale table: written by scripts/benchmark_scale.py -->"
TABLE_END = "<!-- /scale table -->"


def parse_size(text: str) -> int:
    text = text.strip().upper()
    factor = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * factor)


def label(n_events: int) -> str:
    return f"{n_events / 1e6:g}M"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Clock:
    """Wall-clock and CPU seconds and the peak RSS so far, per named part of a step."""

    def __init__(self):
        self.parts: dict[str, dict] = {}
        self.inputs_rss_mb = rss_mb()

    def __call__(self, name: str, function, *args, **kwargs):
        started, cpu_started = time.perf_counter(), time.process_time()
        value = function(*args, **kwargs)
        self.parts[name] = {
            "seconds": time.perf_counter() - started,
            # CPU seconds of all the process's threads: less sensitive than wall-clock time
            # to the other jobs sharing the cores.
            "cpu_seconds": time.process_time() - cpu_started,
            "peak_rss_mb_so_far": peak_rss_mb(),
        }
        return value


# --- the steps (each runs in its own process) -------------------------------------------


def ingest(archive: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ratings.csv and movies.csv of an ML-32M-layout zip -> the ``ratings``/``movies`` frames,
    through the ingestion pipeline's own nodes (ratings.csv streamed from the zip member by
    pyarrow, checked line by line as in ``kedro run --env ml-32m``)."""
    from movielens_sbr.data.movielens import read_archive
    from movielens_sbr.params import base_section
    from movielens_sbr.pipelines.ingestion.nodes import parse_movies_node, parse_ratings_node

    raw = read_archive(archive, "ml-32m")
    movies, _ = parse_movies_node(raw, base_section("ingestion", dataset="ml-32m"))
    ratings, _ = parse_ratings_node(raw, movies, base_section("ingestion", dataset="ml-32m"))
    return ratings, movies


def step_generate(work: Path, n_events: int, args) -> dict:
    from movielens_sbr.data.synthetic import generate, write_archive

    clock = Clock()
    ratings, movies = clock("generate", generate, n_events, seed=0)
    clock("write_zip", write_archive, ratings, movies, work / "ml-32m-synthetic.zip")
    return {
        "parts": clock.parts,
        "users": int(ratings["user"].nunique()),
        "items_rated": int(ratings["item"].nunique()),
        "zip_mb": (work / "ml-32m-synthetic.zip").stat().st_size / 2**20,
    }


def step_ingest(work: Path, n_events: int, args) -> dict:
    clock = Clock()
    ratings, movies = clock("parse", ingest, work / "ml-32m-synthetic.zip")
    result = {"parts": clock.parts, "ratings": len(ratings), "movies": len(movies)}
    ratings.to_parquet(work / "ratings.parquet")  # hand-over to the next step, not timed
    return result


def step_sessions(work: Path, n_events: int, args) -> dict:
    from movielens_sbr.data import sessions

    params = load_parameters(CONF, args.set)
    config = params["sessions"]
    ratings = pd.read_parquet(work / "ratings.parquet")
    clock = Clock()
    events = clock("order", sessions.order_events, ratings, config["tie_order"], params["seed"])
    del ratings
    events = clock("sessionise", sessions.sessionize, events, "gap", config["gap_minutes"])
    n_sessions_raw = int(events["session_id"].iloc[-1]) + 1
    events, rounds = clock(
        "cleanse",
        sessions.cleanse,
        events,
        config["min_session_length"],
        config["min_item_support"],
        config["collapse_repeats"],
    )
    events["session_id"] = pd.factorize(events["session_id"])[0]
    train, valid, test, _ = clock(
        "split",
        sessions.split_by_time,
        events,
        config["valid_fraction"],
        config["test_fraction"],
        config["min_session_length"],
    )
    del events

    def index_and_attach():
        item_index = sessions.build_item_index(train)
        return item_index, *(sessions.attach_item_idx(s, item_index) for s in (train, valid, test))

    item_index, train, valid, test = clock("item_index", index_and_attach)
    for name, frame in (("train", train), ("valid", valid), ("test", test)):
        frame.to_parquet(work / f"{name}.parquet")
    item_index.to_parquet(work / "item_index.parquet")
    return {
        "parts": clock.parts,
        "sessions_before_cleansing": n_sessions_raw,
        "cleansing_rounds": len(rounds),
        "n_items": len(item_index),
        **{
            name: sessions.describe_split(frame)
            for name, frame in (("train", train), ("test", test))
        },
    }


def _training_inputs(work: Path, name: str, args):
    """A trained method's configuration (conf/base, then conf/ml-32m and ``--set``), the
    train sessions, the number of items and the step's clock (which timed the sessions)."""
    from movielens_sbr import methods
    from movielens_sbr.data.session_arrays import SessionArrays
    from movielens_sbr.params import validate_section

    method = methods.get(name)
    params = load_parameters(CONF, [*env_overrides(), *args.set])
    options = validate_section(method.section, params[method.section])
    config = method.training_setup.model_config(options, params["seed"])
    frame = pd.read_parquet(work / "train.parquet", columns=["session_id", "item_idx"])
    n_items = len(pd.read_parquet(work / "item_index.parquet"))
    clock = Clock()
    return config, clock("session_arrays", SessionArrays.from_frame, frame), n_items, clock


def step_train(work: Path, n_events: int, args) -> dict:
    import contextlib

    import keras
    import tensorflow as tf

    from movielens_sbr.model.batching import lane_schedule
    from movielens_sbr.model.gru4rec import GRU4RecNetwork, _Trainer, distribution_strategy

    strategy = None
    if args.replicas > 1:  # before any TensorFlow operation: the runtime is not started yet
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.replicas
        )
        strategy = distribution_strategy("mirrored")
    config, train, n_items, clock = _training_inputs(work, "gru4rec", args)
    rng = np.random.default_rng(config.seed)
    schedule = clock("lane_schedule", lane_schedule, train, config.batch_size, rng)
    keras.utils.set_random_seed(config.seed)
    counts = np.bincount(train.items, minlength=n_items)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        network = GRU4RecNetwork(n_items, config)
        trainer = clock("build", _Trainer, network, config, counts, strategy)
    per_call = config.steps_per_call
    n_calls = 2 + max(1, args.train_steps // per_call)
    if n_calls * per_call > schedule.n_steps:
        raise ValueError(
            f"The epoch has only {schedule.n_steps} steps: lower --train-steps "
            f"(needs {n_calls * per_call} with the warm-up)"
        )

    def chunk(i: int):
        part = slice(i * per_call, (i + 1) * per_call)
        return trainer.train_chunk(
            tf.constant(schedule.inputs[part]),
            tf.constant(schedule.targets[part]),
            tf.constant(schedule.reset[part]),
            tf.constant(schedule.valid[part]),
        )

    clock("warm_up", lambda: [float(chunk(i)) for i in range(2)])
    losses = clock("timed_steps", lambda: [float(chunk(i)) for i in range(2, n_calls)])
    seconds = clock.parts["timed_steps"]["seconds"]
    timed_steps = (n_calls - 2) * per_call
    per_step = seconds / timed_steps
    cpu_per_step = clock.parts["timed_steps"]["cpu_seconds"] / timed_steps
    network.to_step_model().save(work / "model.keras")
    return {
        "parts": clock.parts,
        "config": {k: getattr(config, k) for k in TRAIN_CONFIG_KEYS},
        "replicas": args.replicas,
        "n_items": n_items,
        "train_events": len(train.items),
        "epoch_steps": schedule.n_steps,
        "epoch_events": schedule.n_events,
        "timed_steps": timed_steps,
        "seconds_per_step": per_step,
        "events_per_second": float(schedule.valid[2 * per_call : n_calls * per_call].sum())
        / seconds,
        "mean_loss_timed": float(np.mean(losses) / per_call),
        "epoch_seconds_extrapolated": clock.parts["lane_schedule"]["seconds"]
        + schedule.n_steps * per_step,
        "epoch_cpu_seconds_extrapolated": clock.parts["lane_schedule"]["cpu_seconds"]
        + schedule.n_steps * cpu_per_step,
    }


def step_train_sasrec(work: Path, n_events: int, args) -> dict:
    import keras

    from movielens_sbr.model.sasrec import _Trainer, build_model, training_windows

    config, train, n_items, clock = _training_inputs(work, "sasrec", args)
    inputs, targets = clock("windows", training_windows, train, config.max_len)
    lengths = (targets >= 0).sum(axis=1)
    n_batches = -(-len(inputs) // config.batch_size)
    n_timed = min(args.train_steps // 4, n_batches - 2)  # a SASRec step does more work
    keras.utils.set_random_seed(config.seed)
    model = build_model(n_items, config)
    counts = np.bincount(train.items, minlength=n_items)
    trainer = clock("build", _Trainer, model, config, counts)
    # The trainer's own epoch loop on a random subset of the windows: 2 batches to trace,
    # then n_timed batches timed.
    rng = np.random.default_rng(config.seed)
    windows = rng.permutation(len(inputs))
    warm_up = windows[: 2 * config.batch_size]
    timed = windows[2 * config.batch_size : (2 + n_timed) * config.batch_size]
    clock("warm_up", trainer.run_epoch, inputs[warm_up], targets[warm_up], rng, "warm-up")
    mean_loss = clock("timed_steps", trainer.run_epoch, inputs[timed], targets[timed], rng, "timed")
    seconds = clock.parts["timed_steps"]["seconds"]
    per_step = seconds / n_timed
    cpu_per_step = clock.parts["timed_steps"]["cpu_seconds"] / n_timed
    model.save(work / "sasrec.keras")
    return {
        "parts": clock.parts,
        "config": {
            k: getattr(config, k)
            for k in ("max_len", "hidden_size", "n_blocks", "loss", "n_sample", "batch_size")
        },
        "n_items": n_items,
        "train_events": int(lengths.sum()),
        "epoch_steps": n_batches,
        "timed_steps": n_timed,
        "seconds_per_step": per_step,
        "events_per_second": int(lengths[timed].sum()) / seconds,
        "mean_loss_timed": mean_loss,
        "epoch_seconds_extrapolated": clock.parts["windows"]["seconds"] + n_batches * per_step,
        "epoch_cpu_seconds_extrapolated": clock.parts["windows"]["cpu_seconds"]
        + n_batches * cpu_per_step,
    }


def _sample(test, n_predictions: int, seed: int):
    """Seeded test sessions holding about ``n_predictions`` predictions, and the total."""
    predictions = np.maximum(test.lengths - 1, 0)
    order = np.random.default_rng(seed).permutation(test.n_sessions)
    keep = order[: int(np.searchsorted(np.cumsum(predictions[order]), n_predictions)) + 1]
    return test.subset(np.sort(keep)), int(predictions[keep].sum()), int(predictions.sum())


def _timed_evaluation(clock: Clock, name: str, scorer, sample, n_items, params) -> None:
    from movielens_sbr.evaluation.evaluator import evaluate

    predictions = clock(
        name,
        evaluate,
        scorer,
        sample,
        n_items,
        batch_size=params["evaluation"]["batch_size"],
        exclude_seen=params["evaluation"]["exclude_seen"],
    )
    clock.parts[name]["recall@20"] = predictions.metrics([20])["recall@20"]


def step_evaluate(work: Path, n_events: int, args) -> dict:
    import keras

    from movielens_sbr.data.session_arrays import SessionArrays
    from movielens_sbr.evaluation.evaluator import DEFAULT_MEMORY_MB, batch_size_for_memory
    from movielens_sbr.model.gru4rec import GRU4RecScorer

    params = load_parameters(CONF, args.set)
    n_items = len(pd.read_parquet(work / "item_index.parquet"))
    test = SessionArrays.from_frame(
        pd.read_parquet(work / "test.parquet", columns=["session_id", "item_idx"])
    )
    sample, sampled, total = _sample(test, args.eval_predictions, params["seed"])
    clock = Clock()
    model = keras.models.load_model(work / "model.keras")
    _timed_evaluation(clock, "gru4rec", GRU4RecScorer(model), sample, n_items, params)
    result = {
        "n_items": n_items,
        "batch_size": min(
            params["evaluation"]["batch_size"], batch_size_for_memory(n_items, DEFAULT_MEMORY_MB)
        ),
        "sampled_predictions": sampled,
        "test_predictions": total,
    }
    if (work / "sasrec.keras").exists():  # written by the train_sasrec step
        from movielens_sbr.model.sasrec import SASRecScorer

        sasrec = keras.models.load_model(work / "sasrec.keras")
        _timed_evaluation(clock, "sasrec", SASRecScorer(sasrec), sample, n_items, params)
    for name in ("gru4rec", "sasrec"):
        if name in clock.parts:
            prefix = "" if name == "gru4rec" else "sasrec_"
            for kind in ("seconds", "cpu_seconds"):
                result[f"{prefix}{kind}_extrapolated"] = clock.parts[name][kind] * total / sampled
    return {"parts": clock.parts, **result}


def step_baselines(work: Path, n_events: int, args) -> dict:
    from movielens_sbr.data.session_arrays import SessionArrays
    from movielens_sbr.evaluation.baselines import Markov, Popularity

    params = load_parameters(CONF, args.set)
    n_items = len(pd.read_parquet(work / "item_index.parquet"))
    train = SessionArrays.from_frame(
        pd.read_parquet(work / "train.parquet", columns=["session_id", "item_idx"])
    )
    test = SessionArrays.from_frame(
        pd.read_parquet(work / "test.parquet", columns=["session_id", "item_idx"])
    )
    sample, sampled, total = _sample(test, args.eval_predictions, params["seed"])
    clock = Clock()
    result: dict = {"sampled_predictions": sampled, "test_predictions": total}
    for cls in (Popularity, Markov):
        scorer = clock(f"{cls.name}_fit", cls, train, n_items)
        _timed_evaluation(clock, cls.name, scorer, sample, n_items, params)
        for kind in ("seconds", "cpu_seconds"):
            result[f"{cls.name}_{kind}_extrapolated"] = (
                clock.parts[f"{cls.name}_fit"][kind] + clock.parts[cls.name][kind] * total / sampled
            )
    # Not run: what the dense matrices of the other baselines would take (float32).
    result["dense_gb_not_run"] = {
        "sr/iknn: [n_items, n_items], each": n_items**2 * 4 / 1e9,
        "sknn/vsknn: [train sessions, n_items], each": train.n_sessions * n_items * 4 / 1e9,
    }
    result["parts"] = clock.parts
    result["train_sessions"] = train.n_sessions
    return result


STEP_FUNCTIONS = {
    "generate": step_generate,
    "ingest": step_ingest,
    "sessions": step_sessions,
    "train": step_train,
    "train_sasrec": step_train_sasrec,
    "evaluate": step_evaluate,
    "baselines": step_baselines,
}


def run_step(name: str, work: Path, n_events: int, args) -> None:
    """Child process: run one step and write its JSON beside the data."""
    load_before = os.getloadavg()
    rss_at_start = rss_mb()  # interpreter and libraries, before the step loads anything
    started, cpu_started = time.perf_counter(), time.process_time()
    result = STEP_FUNCTIONS[name](work, n_events, args)
    result.update(
        {
            "step_seconds": time.perf_counter() - started,
            "step_cpu_seconds": time.process_time() - cpu_started,
            "peak_rss_mb": peak_rss_mb(),
            "rss_at_start_mb": rss_at_start,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        }
    )
    (work / f"{name}.json").write_text(json.dumps(result, indent=1, default=str))


# --- the parent: sizes, results, table ---------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1M,4M,16M,32M", help="events, e.g. 1M,4M")
    parser.add_argument("--steps", default=",".join(STEPS), help="subset of " + ",".join(STEPS))
    parser.add_argument("--train-steps", type=int, default=640, help="timed training steps")
    parser.add_argument("--eval-predictions", type=int, default=20_000)
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="train step: MirroredStrategy over this many logical CPU devices (1: none)",
    )
    parser.add_argument("--no-table", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="JSON merged by size (default: %(default)s)"
    )
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument(
        "--alternate",
        metavar="KEY=V1,V2",
        help="train step only: run it with each value in turn, --rounds times, and print "
        "the comparison (KEY: replicas or SECTION.KEY), e.g. training.sparse_updates=false,true",
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of --alternate")
    parser.add_argument(
        "--work-root", type=Path, default=WORK, help="the generated data (default: %(default)s)"
    )
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--n-events", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        run_step(args.step, args.work, args.n_events, args)
        return

    command = "python " + " ".join(["scripts/benchmark_scale.py", *sys.argv[1:]])
    if args.alternate:
        alternate(args, command)
        return
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    for n_events in (parse_size(size) for size in args.sizes.split(",")):
        work = args.work_root / label(n_events)
        work.mkdir(parents=True, exist_ok=True)
        entry = results.get(label(n_events), {})
        entry.update(
            {
                "n_events": n_events,
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "command": command,
                "git_commit": git_commit(ROOT, short=True) or "unknown",
                "cores": os.cpu_count(),
            }
        )
        for name in args.steps.split(","):
            print(f"[{label(n_events)}] {name} ...", flush=True)
            entry[name] = _child(name, work, n_events, args)
            entry[name]["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            print(
                f"[{label(n_events)}] {name}: {entry[name]['step_seconds']:.1f} s, "
                f"peak {entry[name]['peak_rss_mb']:,.0f} MB, "
                f"load {entry[name]['load_average_after'][0]:.2f}",
                flush=True,
            )
            results[label(n_events)] = entry
            args.results.parent.mkdir(parents=True, exist_ok=True)
            args.results.write_text(json.dumps(results, indent=1, default=str))
    if not args.no_table:
        if args.results == RESULTS:
            from benchmark_docs import rewrite  # the page's tables, this one included

            rewrite(RESULTS.parent)
        else:
            print(f"docs/benchmarks.md is written from {RESULTS}, not rewritten", file=sys.stderr)


def _child(name: str, work: Path, n_events: int, args, extra: list[str] = ()) -> dict:
    """Run one step in its own process; its results."""
    child = [sys.executable, __file__, "--step", name, "--work", str(work)]
    child += ["--n-events", str(n_events), "--train-steps", str(args.train_steps)]
    child += ["--eval-predictions", str(args.eval_predictions)]
    child += ["--replicas", str(args.replicas)]
    for override in args.set:
        child += ["--set", override]
    subprocess.run([*child, *extra], check=True, cwd=ROOT)
    return json.loads((work / f"{name}.json").read_text())


def alternate(args, command: str) -> None:
    """The train step with each value of ``--alternate`` in turn, ``--rounds`` times, on the
    data of earlier ``generate,ingest,sessions`` steps; the JSON to ``--results`` and a
    Markdown table to stdout. On a shared machine compare within a round: the ratio to the
    round's first value cancels most of the load the round ran under."""
    key, _, values_text = args.alternate.partition("=")
    values = values_text.split(",")
    if not key or len(values) < 2:
        raise SystemExit("--alternate needs KEY=V1,V2[,...], e.g. replicas=1,2")
    runs: list[dict] = []
    report = {
        "command": command,
        "git_commit": git_commit(ROOT, short=True) or "unknown",
        "cores": os.cpu_count(),
        "alternate": key,
        "runs": runs,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    for n_events in (parse_size(size) for size in args.sizes.split(",")):
        work = args.work_root / label(n_events)
        for round_ in range(1, args.rounds + 1):
            for value in values:
                extra = ["--replicas", value] if key == "replicas" else ["--set", f"{key}={value}"]
                print(f"[{label(n_events)}] round {round_}: train, {key}={value} ...", flush=True)
                result = _child("train", work, n_events, args, extra)
                runs.append(
                    {
                        "size": label(n_events),
                        "round": round_,
                        key: value,
                        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        "git_commit": git_commit(ROOT, short=True) or "unknown",
                        **result,
                    }
                )
                # After every run: a failed or interrupted later run keeps the earlier ones.
                args.results.write_text(json.dumps(report, indent=1, default=str))
    print(alternate_table(report))


def alternate_table(report: dict) -> str:
    """Markdown table of an ``--alternate`` report: one row per run, with the ratio of its
    CPU seconds per step to the first value's in the same round."""
    key = report["alternate"]
    lines = [
        f"| size | round | {key} | timed steps | wall s / step | CPU s / step "
        "| CPU / step vs the round's first | events/s | mean loss | one epoch extrapolated: "
        "wall / CPU s | load average (1 min) before-after |",
        "| --- " * 11 + "|",
    ]
    first: dict[tuple[str, int], float] = {}
    for run in report["runs"]:
        cpu = run["parts"]["timed_steps"]["cpu_seconds"] / run["timed_steps"]
        reference = first.setdefault((run["size"], run["round"]), cpu)
        lines.append(
            f"| {run['size']} | {run['round']} | {run[key]} | {run['timed_steps']} "
            f"| {run['seconds_per_step']:.4f} | {cpu:.4f} | {cpu / reference:.2f} "
            f"| {run['events_per_second']:,.0f} | {run['mean_loss_timed']:.3f} "
            f"| {run['epoch_seconds_extrapolated']:,.0f} / "
            f"{run['epoch_cpu_seconds_extrapolated']:,.0f} "
            f"| {run['load_average_before'][0]:.1f}-{run['load_average_after'][0]:.1f} |"
        )
    return "\n".join(lines)


def _part(part: dict, peak_key: str = "peak_rss_mb_so_far") -> tuple[float, float, float]:
    return part["seconds"], part.get("cpu_seconds", float("nan")), part[peak_key]


def _row_values(entry: dict) -> dict[str, tuple[float, float, float, str]]:
    """Per reported step: (wall s, CPU s, peak RSS MB, note) for one size."""
    rows: dict[str, tuple[float, float, float, str]] = {}
    if "ingest" in entry:
        wall, cpu, _ = _part(entry["ingest"]["parts"]["parse"])
        rows["ingestion (zip -> frames)"] = (wall, cpu, entry["ingest"]["peak_rss_mb"], "")
    if "sessions" in entry:
        parts = entry["sessions"]["parts"]
        for part, title in (
            ("order", "sessions: order ties"),
            ("sessionise", "sessions: sessionise"),
            ("cleanse", "sessions: cleanse"),
            ("split", "sessions: time split"),
            ("item_index", "sessions: item index"),
        ):
            rows[title] = (*_part(parts[part]), "peak so far in the step")
        rows["sessions: total"] = (
            sum(p["seconds"] for p in parts.values()),
            sum(p.get("cpu_seconds", float("nan")) for p in parts.values()),
            entry["sessions"]["peak_rss_mb"],
            "",
        )
    if "train" in entry:
        train = entry["train"]
        rows["training: lane schedule (1 epoch)"] = (
            *_part(train["parts"]["lane_schedule"]),
            "peak so far in the step",
        )
        rows["training: 1 epoch (extrapolated)"] = (
            train["epoch_seconds_extrapolated"],
            train.get("epoch_cpu_seconds_extrapolated", float("nan")),
            train["peak_rss_mb"],
            f"{train['timed_steps']} of {train['epoch_steps']:,} steps timed; "
            f"{train['events_per_second']:,.0f} ev/s; {train['n_items']:,} items",
        )
    if "train_sasrec" in entry:
        sasrec = entry["train_sasrec"]
        rows["SASRec training: 1 epoch (extrapolated)"] = (
            sasrec["epoch_seconds_extrapolated"],
            sasrec["epoch_cpu_seconds_extrapolated"],
            sasrec["peak_rss_mb"],
            f"{sasrec['timed_steps']} of {sasrec['epoch_steps']:,} steps timed; "
            f"{sasrec['events_per_second']:,.0f} ev/s; {sasrec['config']['loss']}, "
            f"{sasrec['config']['n_sample']:,} negatives",
        )
    if "evaluate" in entry:
        evaluation = entry["evaluate"]
        timed = (
            f"{evaluation['sampled_predictions']:,} of {evaluation['test_predictions']:,} "
            f"predictions timed; batch {evaluation['batch_size']}"
        )
        for model, prefix in (("GRU4Rec", ""), ("SASRec", "sasrec_")):
            if f"{prefix}seconds_extrapolated" in evaluation:
                rows[f"evaluation: {model} vs all items (extrapolated)"] = (
                    evaluation[f"{prefix}seconds_extrapolated"],
                    evaluation.get(f"{prefix}cpu_seconds_extrapolated", float("nan")),
                    evaluation["peak_rss_mb"],
                    timed,
                )
    if "baselines" in entry:
        baselines = entry["baselines"]
        for name in ("pop", "markov"):
            rows[f"evaluation: {name}, fit + all items (extrapolated)"] = (
                baselines[f"{name}_seconds_extrapolated"],
                baselines.get(f"{name}_cpu_seconds_extrapolated", float("nan")),
                baselines["parts"][name]["peak_rss_mb_so_far"],
                "same sample",
            )
    return rows


def table_block(results: dict) -> str:
    """The scaling tables (steps, runs, split sizes) between their markers."""
    sizes = sorted(results.values(), key=lambda e: e["n_events"])
    values = [_row_values(entry) for entry in sizes]
    names = list(dict.fromkeys(name for v in values for name in v))
    header = "| step | " + " | ".join(
        f"{label(e['n_events'])}: wall s / CPU s / peak MB" for e in sizes
    )
    smallest, largest = sizes[0], sizes[-1]
    ratio = largest["n_events"] / smallest["n_events"]
    lines = [
        header + f" | CPU s x{label(largest['n_events'])}/{label(smallest['n_events'])} "
        f"(events x{ratio:g}) | CPU ratio / event ratio | peak MB ratio "
        f"| notes at {label(largest['n_events'])} |"
    ]
    lines.append("| --- " * (len(sizes) + 5) + "|")
    for name in names:
        cells = []
        for v in values:
            wall, cpu, peak, _ = v.get(name, (float("nan"),) * 3 + ("",))
            cells.append(f"{wall:,.1f} / {cpu:,.1f} / {peak:,.0f}")
        first, last = values[0].get(name), values[-1].get(name)
        if first and last and first[1] > 0:
            cpu_ratio = last[1] / first[1]
            growth = f"{cpu_ratio:,.1f} | {cpu_ratio / ratio:.2f} | {last[2] / first[2]:.1f}"
        else:
            growth = "- | - | -"
        note = values[-1].get(name, (0, 0, 0, ""))[3]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {growth} | {note} |")
    context = [
        "",
        "| size | date (UTC) | commit | command | cores | load average (1 min) per step |",
    ]
    context.append("| --- | --- | --- | --- | --- | --- |")
    for entry in sizes:
        loads = ", ".join(
            f"{name} {entry[name]['load_average_before'][0]:.1f}-"
            f"{entry[name]['load_average_after'][0]:.1f}"
            for name in STEPS
            if name in entry
        )
        context.append(
            f"| {label(entry['n_events'])} | {entry['date'][:16]} | {entry['git_commit']} "
            f"| `{entry['command']}` | {entry['cores']} | {loads} |"
        )
    shape = [
        "",
        "| size | users | items rated | items after cleansing | train events | "
        "train sessions | test predictions |",
        "| --- " * 7 + "|",
    ]
    for entry in sizes:
        if "sessions" not in entry:
            continue
        s = entry["sessions"]
        shape.append(
            f"| {label(entry['n_events'])} | {entry.get('generate', {}).get('users', '-'):,} "
            f"| {entry.get('generate', {}).get('items_rated', '-'):,} | {s['n_items']:,} "
            f"| {s['train']['events']:,} | {s['train']['sessions']:,} "
            f"| {s['test']['predictions']:,} |"
        )
    return "\n".join([TABLE_START, *lines, *context, *shape, TABLE_END])


if __name__ == "__main__":
    main()
