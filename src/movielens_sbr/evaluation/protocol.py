"""The evaluation protocol over several methods: metrics with intervals, a paired
comparison, breakdowns by position and session length, and the shuffle check (no Kedro).

Every method is a scorer (see ``evaluator``) run through the same ``evaluate`` call on
the same test sessions, so their predictions line up one to one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from movielens_sbr import methods
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.bootstrap import (
    percentile_interval,
    resample_counts,
    resampled_metrics,
    session_sums,
)
from movielens_sbr.evaluation.evaluator import Predictions, SessionScorer, evaluate
from movielens_sbr.evaluation.metrics import (
    item_coverage,
    per_prediction_metrics,
    popularity_bias,
    popularity_percentile,
)
from movielens_sbr.params import EvaluationParams

RESERVED_KEYS = ("dataset", "protocol")
"""Top-level keys of ``metrics`` that are not methods."""


def method_names(metrics: dict) -> list[str]:
    """The methods of a ``metrics`` dict, in their order."""
    return [name for name in metrics if name not in RESERVED_KEYS]


@dataclass(frozen=True)
class MethodRun:
    """One method's predictions on the test split and the time they took."""

    name: str
    predictions: Predictions
    seconds: float


def run_methods(
    scorers: list[SessionScorer],
    sessions: SessionArrays,
    n_items: int,
    *,
    batch_size: int,
    exclude_seen: bool,
    top_k: int = 0,
) -> list[MethodRun]:
    """Evaluate every scorer on the same sessions, timing each."""
    runs = []
    for scorer in scorers:
        started = time.perf_counter()
        predictions = evaluate(
            scorer,
            sessions,
            n_items,
            batch_size=batch_size,
            exclude_seen=exclude_seen,
            top_k=top_k,
        )
        runs.append(MethodRun(scorer.name, predictions, time.perf_counter() - started))
    return runs


def primary_metric(ks: list[int]) -> str:
    """The metric that ranks methods: Recall@20 when 20 is among ``ks``, else the largest K."""
    return f"recall@{20 if 20 in ks else max(ks)}"


def summarise(
    runs: list[MethodRun],
    *,
    ks: list[int],
    ties: str,
    item_counts: np.ndarray,
    n_bootstrap: int,
    seed: int,
    confidence: float = 0.95,
    reference: str | None = None,
) -> tuple[dict[str, dict[str, float]], dict]:
    """Metrics per method with bootstrap intervals, and the paired comparisons.

    Per method: ``recall@K``, ``mrr@K``, ``ndcg@K`` for every K (floats), then
    ``coverage@K`` and ``popularity@K`` for the largest K when the runs kept their top-K
    lists, then ``<metric>_ci_low`` / ``<metric>_ci_high`` for every ranking metric.

    The comparisons, keyed ``<method>_vs_<other>``, are differences with the interval of
    the difference from the same resamples (paired): every trained method of ``methods``
    among the runs minus the baseline with the best primary metric (chosen on the test
    point estimates, so it describes this test set; a baseline is any run that is not a
    trained method), then every pair of trained methods in registry order. ``reference``
    (default: every trained method) limits the first kind to that one method.
    """
    trained_names = set(methods.names(trained=True))
    trained = [run.name for run in runs if run.name in trained_names]
    references = trained if reference is None else [reference]
    top_k = max(ks)
    percentile = popularity_percentile(item_counts)
    sums = {
        run.name: session_sums(
            run.predictions.session,
            per_prediction_metrics(run.predictions.greater, run.predictions.equal, ks, ties),
        )
        for run in runs
    }
    n_sessions = len(next(iter(sums.values())).counts) if sums else 0
    draws = resample_counts(n_sessions, n_bootstrap, seed)
    samples = {name: resampled_metrics(s, draws) for name, s in sums.items()}

    metrics: dict[str, dict[str, float]] = {}
    for run in runs:
        run_sums = sums[run.name]
        values = dict(zip(run_sums.names, run_sums.point().tolist(), strict=True))
        top = run.predictions.top
        if top is not None and top.shape[1] == top_k:
            values[f"coverage@{top_k}"] = item_coverage(top, len(item_counts))
            values[f"popularity@{top_k}"] = popularity_bias(top, percentile)
        if n_bootstrap:
            low, high = percentile_interval(samples[run.name], confidence)
            for index, name in enumerate(run_sums.names):
                values[f"{name}_ci_low"] = float(low[index])
                values[f"{name}_ci_high"] = float(high[index])
        metrics[run.name] = values

    key = primary_metric(ks)
    baselines = [run.name for run in runs if run.name not in trained_names]
    pairs = []
    if baselines:
        best = max(baselines, key=lambda name: metrics[name][key])
        pairs += [(name, best, key) for name in references if name in sums]
    pairs += [(a, b, None) for i, a in enumerate(trained) for b in trained[i + 1 :]]
    comparisons = {}
    for method, other, selected_by in pairs:
        names = sums[method].names
        difference = sums[method].point() - sums[other].point()
        # selected_by: the metric that chose the best baseline; None: two trained methods.
        comparison = {"method": method, "baseline": other, "selected_by": selected_by}
        comparison["primary_metric"] = key
        for index, name in enumerate(names):
            comparison[name] = float(difference[index])
        if n_bootstrap:
            paired = samples[method] - samples[other]
            low, high = percentile_interval(paired, confidence)
            for index, name in enumerate(names):
                comparison[f"{name}_ci_low"] = float(low[index])
                comparison[f"{name}_ci_high"] = float(high[index])
            # Share of resamples in which the method does not beat the other.
            comparison[f"{key}_share_not_better"] = float(np.mean(paired[:, names.index(key)] <= 0))
        comparisons[f"{method}_vs_{other}"] = comparison
    return metrics, comparisons


def bucket_labels(edges: list[int]) -> list[str]:
    """Labels of the buckets [edges[i], edges[i+1]) and [edges[-1], inf): "2", "3-4", "50+"."""
    labels = []
    for low, high in zip(edges, [*edges[1:], None], strict=True):
        if high is None:
            labels.append(f"{low}+")
        elif high - low == 1:
            labels.append(str(low))
        else:
            labels.append(f"{low}-{high - 1}")
    return labels


def breakdown(
    runs: list[MethodRun],
    session_lengths: np.ndarray,
    *,
    k: int,
    ties: str,
    n_positions: int = 10,
    length_edges: list[int] | None = None,
) -> pd.DataFrame:
    """Recall@k, MRR@k and NDCG@k per prediction position and per session length bucket.

    Position p means predicting event p + 1 from the first p events; positions from
    ``n_positions`` on share the last bucket ("10+"). Session lengths are whole test
    sessions, bucketed by ``length_edges`` (lower bounds). One row per method and bucket.
    """
    length_edges = length_edges or [2, 3, 5, 10, 20, 50]
    position_labels = [*map(str, range(1, n_positions)), f"{n_positions}+"]
    length_labels = bucket_labels(length_edges)
    frames = []
    for run in runs:
        predictions = run.predictions
        values = per_prediction_metrics(predictions.greater, predictions.equal, [k], ties)
        groupings = {
            "position": (np.minimum(predictions.position, n_positions) - 1, position_labels),
            "session_length": (
                np.digitize(session_lengths[predictions.session], length_edges) - 1,
                length_labels,
            ),
        }
        for by, (bucket, labels) in groupings.items():
            counts = np.bincount(bucket, minlength=len(labels))
            frame = pd.DataFrame(
                {
                    "method": run.name,
                    "by": by,
                    "bucket": labels,
                    "order": np.arange(len(labels)),
                    "predictions": counts,
                }
            )
            for name, value in values.items():
                sums = np.bincount(bucket, weights=value, minlength=len(labels))
                frame[name] = np.divide(
                    sums, counts, out=np.full(len(labels), np.nan), where=counts > 0
                )
            frames.append(frame[frame["predictions"] > 0])
    return pd.concat(frames, ignore_index=True)


def shuffle_within_sessions(sessions: SessionArrays, seed: int) -> SessionArrays:
    """The same sessions with their events in a seeded random order within each session."""
    key = np.random.default_rng(seed).random(len(sessions.items))
    order = np.lexsort((key, sessions.session_of_event()))
    return SessionArrays(sessions.items[order], sessions.offsets.copy())


def shuffle_check(
    ordered: dict[str, dict[str, float]],
    shuffled: list[MethodRun],
    *,
    ks: list[int],
    ties: str,
) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics at the largest K in event order and with shuffled sessions, and the change.

    ``relative_change`` is (shuffled - ordered) / ordered: close to 0 means the method
    gains nothing from the order of events.
    """
    k = max(ks)
    result = {}
    for run in shuffled:
        values = run.predictions.metrics([k], ties)
        result[run.name] = {
            name: {
                "ordered": ordered[run.name][name],
                "shuffled": value,
                "relative_change": (value - ordered[run.name][name]) / ordered[run.name][name]
                if ordered[run.name][name]
                else 0.0,
            }
            for name, value in values.items()
        }
    return result


def fit_baselines(
    train: SessionArrays, n_items: int, baselines: dict[str, dict | None], seed: int = 0
) -> tuple[list[SessionScorer], dict[str, float]]:
    """Fit every configured baseline on the train sessions; returns them and their fit times.

    Baselines with randomness (a ``seed`` argument) get the global seed.
    """
    scorers, seconds = [], {}
    for name, options in baselines.items():
        started = time.perf_counter()
        scorers.append(methods.get(name).fit(train, n_items, options, seed))
        seconds[f"{name}_fit"] = round(time.perf_counter() - started, 3)
    return scorers, seconds


def evaluate_all(
    scorers: list[SessionScorer],
    train: SessionArrays,
    test: SessionArrays,
    n_items: int,
    config: EvaluationParams,
    seed: int,
) -> tuple[dict, pd.DataFrame]:
    """The whole protocol: ``(metrics, breakdown table)``.

    ``metrics`` maps each method to its metrics (see ``summarise``) and ``"protocol"`` to
    the settings, the paired comparisons, the shuffle check and the time per method.
    The bootstrap uses ``seed``, the shuffle ``seed + 1``.
    """
    started = time.perf_counter()
    common = {"batch_size": config.batch_size, "exclude_seen": config.exclude_seen}
    runs = run_methods(scorers, test, n_items, top_k=max(config.ks), **common)
    metrics, comparisons = summarise(
        runs,
        ks=config.ks,
        ties=config.ties,
        item_counts=np.bincount(train.items, minlength=n_items),
        n_bootstrap=config.n_bootstrap,
        seed=seed,
        confidence=config.confidence,
    )
    table = breakdown(
        runs,
        test.lengths,
        k=max(config.ks),
        ties=config.ties,
        n_positions=config.breakdown_positions,
        length_edges=config.length_buckets,
    )
    # The shuffle check reruns evaluated methods only (the parameters check that it names
    # no other), so no method is ever fitted with options that are not configured.
    by_name = {scorer.name: scorer for scorer in scorers}
    missing = [name for name in config.shuffle_check if name not in by_name]
    if missing:
        raise ValueError(
            f"evaluation.shuffle_check names {missing}, which are not evaluated here "
            f"(evaluated: {sorted(by_name)})"
        )
    ordered = dict(metrics)
    shuffled_runs = run_methods(
        [by_name[name] for name in config.shuffle_check],
        shuffle_within_sessions(test, seed + 1),
        n_items,
        **common,
    )
    metrics["protocol"] = {
        "ks": list(config.ks),
        "ties": config.ties,
        "exclude_seen": config.exclude_seen,
        "n_bootstrap": config.n_bootstrap,
        "confidence": config.confidence,
        "bootstrap_unit": "test session",
        "seed": seed,
        "primary_metric": primary_metric(config.ks),
        "comparisons": comparisons,
        "shuffle_check": shuffle_check(ordered, shuffled_runs, ks=config.ks, ties=config.ties),
        "seconds": {
            **{run.name: round(run.seconds, 3) for run in runs},
            **{f"{run.name}_shuffled": round(run.seconds, 3) for run in shuffled_runs},
            "total": round(time.perf_counter() - started, 3),
        },
    }
    return metrics, table
