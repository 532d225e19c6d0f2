"""The evaluation report as Markdown that reads well on GitHub (no Kedro).

Plots are linked relative to the report's own versioned folder
(``evaluation_report.md/<version>/evaluation_report.md``): ``{save_version}`` in a link is
filled in by ``movielens_sbr.datasets.MarkdownReportDataset`` with the run's save version,
which every versioned dataset of one Kedro run shares.
"""

from __future__ import annotations

import pandas as pd

from movielens_sbr.evaluation.protocol import method_names

VERSION_PLACEHOLDER = "{save_version}"


def plot_link(filename: str) -> str:
    """Relative link from the versioned report to a versioned plot of the same run."""
    return f"../../{filename}/{VERSION_PLACEHOLDER}/{filename}"


def console_summary(metrics: dict) -> list[str]:
    """Plain-text lines for the end of a run: each method's primary metric (with its
    interval) and MRR at the same K, best first."""
    protocol = metrics.get("protocol", {})
    primary = protocol.get("primary_metric", "recall@20")
    mrr = "mrr@" + primary.split("@")[1]
    methods = sorted(method_names(metrics), key=lambda m: -metrics[m].get(primary, -1.0))
    width = max((len(m) for m in methods), default=0)
    return [
        f"  {method:<{width}}  {primary} {_with_interval(metrics[method], primary)}  "
        f"{mrr} {_number(metrics[method].get(mrr))}"
        for method in methods
    ]


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _with_interval(values: dict, name: str) -> str:
    text = _number(values.get(name))
    if f"{name}_ci_low" in values:
        text += f" [{values[f'{name}_ci_low']:.4f}, {values[f'{name}_ci_high']:.4f}]"
    return text


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    align = ["---"] + ["---:"] * (len(header) - 1)
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(align) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _signed(value: float) -> str:
    return f"{value:+.4f}"


def _headline(metrics: dict, methods: list[str], k: int) -> list[str]:
    names = [f"recall@{k}", f"mrr@{k}", f"ndcg@{k}"]
    best = {name: max(methods, key=lambda m: metrics[m].get(name, -1.0)) for name in names}
    seconds = metrics.get("protocol", {}).get("seconds", {})
    rows = []
    for method in methods:
        values = metrics[method]
        cells = [f"`{method}`"]
        for name in names:
            cell = _with_interval(values, name)
            cells.append(f"**{cell}**" if best[name] == method else cell)
        cells.append(_number(values.get(f"coverage@{k}"), 3))
        cells.append(_number(values.get(f"popularity@{k}"), 3))
        cells.append(_number(seconds.get(method), 1))
        rows.append(cells)
    header = [
        "method",
        f"Recall@{k}",
        f"MRR@{k}",
        f"NDCG@{k}",
        f"coverage@{k}",
        f"popularity@{k}",
        "eval s",
    ]
    return _table(header, rows)


def _all_cutoffs(metrics: dict, methods: list[str], ks: list[int]) -> list[str]:
    header = ["method"] + [f"{m}@{k}" for m in ("Recall", "MRR", "NDCG") for k in ks]
    rows = [
        [f"`{method}`"]
        + [_number(metrics[method].get(f"{m}@{k}")) for m in ("recall", "mrr", "ndcg") for k in ks]
        for method in methods
    ]
    return _table(header, rows)


def _comparisons(comparisons: dict, k: int, n_bootstrap: int) -> list[str]:
    if not comparisons:
        return ["No paired comparison (no trained method, or nothing to compare it with)."]
    lines = [
        "Differences between two methods; each interval comes from the same session "
        "resamples for both (paired bootstrap), so it is narrower than the two separate "
        "intervals suggest.",
        "",
    ]
    for comparison in comparisons.values():
        lines += ["", *_comparison(comparison, k, n_bootstrap)]
    return lines


def _comparison(comparison: dict, k: int, n_bootstrap: int) -> list[str]:
    method, other = comparison["method"], comparison["baseline"]
    selected_by = comparison["selected_by"]
    primary = comparison.get("primary_metric", selected_by)
    title = (
        f"`{method}` minus `{other}`, the baseline with the best {selected_by} on this test set:"
        if selected_by
        else f"`{method}` minus `{other}`, two trained models:"
    )
    rows = []
    for name in (f"recall@{k}", f"mrr@{k}", f"ndcg@{k}"):
        if name not in comparison:
            continue
        interval = (
            f"[{_signed(comparison[f'{name}_ci_low'])}, {_signed(comparison[f'{name}_ci_high'])}]"
            if f"{name}_ci_low" in comparison
            else "-"
        )
        rows.append([name, _signed(comparison[name]), interval])
    lines = [title, "", *_table(["metric", "difference", "95 % interval"], rows)]
    share = comparison.get(f"{primary}_share_not_better")
    if share is not None:
        sentence = (
            f"`{method}` beats `{other}` on {primary} in every one of the "
            f"{n_bootstrap:,} resamples."
            if share == 0
            else f"`{method}` does not beat `{other}` on {primary} in "
            f"{share:.1%} of the {n_bootstrap:,} resamples."
        )
        lines += ["", sentence]
    return lines


def _breakdown(table: pd.DataFrame, by: str, metric: str, methods: list[str]) -> list[str]:
    part = table[table["by"] == by].sort_values("order")
    if part.empty:
        return []
    buckets = part.drop_duplicates("order")
    header = [by.replace("_", " "), *buckets["bucket"].tolist()]
    rows = [["predictions"] + [f"{n:,}" for n in buckets["predictions"]]]
    groups = dict(tuple(part.groupby("method", sort=False)))
    # Rows in the order of the other tables, not in the order the breakdown was built.
    for method in [m for m in methods if m in groups] + [m for m in groups if m not in methods]:
        values = groups[method].set_index("order")[metric]
        rows.append([f"`{method}`"] + [_number(values.get(o)) for o in buckets["order"]])
    return _table(header, rows)


def _shuffle(check: dict, k: int) -> list[str]:
    if not check:
        return ["Not run (`evaluation.shuffle_check` is empty)."]
    rows = []
    for method, values in check.items():
        for name in (f"recall@{k}", f"mrr@{k}"):
            entry = values[name]
            rows.append(
                [
                    f"`{method}`",
                    name,
                    _number(entry["ordered"]),
                    _number(entry["shuffled"]),
                    f"{entry['relative_change']:+.1%}",
                ]
            )
    return [
        "The same test sessions with their events shuffled within each session (seeded). "
        "A method that uses the order of events loses accuracy; one that only uses which "
        "items co-occur does not.",
        "",
        *_table(["method", "metric", "in order", "shuffled", "change"], rows),
    ]


def _time(seconds: dict, methods: list[str]) -> list[str]:
    rows = [
        [
            f"`{method}`",
            _number(seconds.get(f"{method}_fit"), 2),
            _number(seconds.get(method), 2),
            _number(seconds.get(f"{method}_shuffled"), 2),
        ]
        for method in methods
    ]
    lines = [
        "Wall-clock seconds on the machine of this run (they grow with other jobs sharing the "
        "CPU): fitting a baseline on train (the GRU is trained by the training pipeline), "
        "scoring every test prediction, and scoring the shuffled sessions of the "
        "sequentiality check.",
        "",
        *_table(["method", "fit s", "test predictions s", "shuffled s"], rows),
    ]
    if "total" in seconds:
        lines += ["", f"The whole evaluation protocol took {seconds['total']:.1f} s."]
    return lines


def _splits(statistics: dict) -> list[str]:
    rows = []
    for split in ("train", "valid", "test"):
        if split not in statistics:
            continue
        s = statistics[split]
        rows.append(
            [
                split,
                f"{s['events']:,}",
                f"{s['sessions']:,}",
                f"{s['items']:,}",
                f"{s['users']:,}",
                f"{s['session_length_median']:.0f}",
                f"{s['predictions']:,}",
            ]
        )
    lines = _table(
        ["split", "events", "sessions", "items", "users", "median length", "predictions"], rows
    )
    bounds = statistics.get("boundaries", {})
    parameters = statistics.get("parameters", {})
    if bounds:
        lines += [
            "",
            f"Split rule `{bounds.get('rule')}`: validation from {bounds.get('valid_start')}, "
            f"test from {bounds.get('test_start')} (UTC).",
        ]
    if parameters:
        settings = ", ".join(f"`{key}={value}`" for key, value in parameters.items())
        lines += ["", f"Session parameters: {settings}."]
    return lines


def _sessions_line(parameters: dict) -> str:
    """The session settings that change every figure, named up front."""
    if not parameters:
        return ""
    # Neutral words: the events are ratings for MovieLens, clicks for YOOCHOOSE.
    mode = parameters.get("session_mode")
    if mode == "user":
        sessions = "a session is all events of one user id (for clicks: one click session)"
    else:
        sessions = (
            f"a session ends after {parameters.get('gap_minutes', 0):g} minutes without an event"
        )
    ties = parameters.get("tie_order")
    order = (
        "events in file order" if ties == "file" else f"events of the same second in `{ties}` order"
    )
    return f"Sessions: {sessions}; {order}; split rule `{parameters.get('split_rule')}`. "


def render(metrics: dict, breakdown: pd.DataFrame, split_statistics: dict) -> str:
    """The whole report."""
    protocol = metrics.get("protocol", {})
    dataset = metrics.get("dataset", {})
    ks = protocol.get("ks") or sorted(
        {
            int(key.split("@")[1])
            for m in method_names(metrics)
            for key in metrics[m]
            if key.startswith("recall@") and "_ci_" not in key
        }
    )
    k = max(ks)
    methods = method_names(metrics)
    n_bootstrap = protocol.get("n_bootstrap", 0)
    confidence = protocol.get("confidence", 0.95)
    lines = [
        "# Evaluation report",
        "",
        f"Next-item prediction at every position of every test session "
        f"({dataset.get('test_predictions', 0):,} predictions in "
        f"{dataset.get('test_sessions', 0):,} sessions), each ranked against all "
        f"{dataset.get('n_items', 0):,} items. Ties: `{protocol.get('ties', '?')}`; items "
        f"already in the session "
        + ("removed from the ranking" if protocol.get("exclude_seen") else "kept in the ranking")
        + f" (`exclude_seen: {str(protocol.get('exclude_seen')).lower()}`). "
        + _sessions_line(split_statistics.get("parameters", {}))
        + (
            f"Intervals: {confidence:.0%} percentile bootstrap over test sessions, "
            f"{n_bootstrap:,} resamples, seed {protocol.get('seed')}."
            if n_bootstrap
            else "No intervals (`n_bootstrap: 0`)."
        ),
        "",
        f"Data: `{dataset.get('archive', '?')}` (MD5 `{dataset.get('archive_md5', '?')}`). "
        "How the protocol works and what it shows: "
        "[docs/evaluation.md]({project_root}/docs/evaluation.md).",
        "",
        f"## Methods at K = {k}",
        "",
        f"Best value in bold. coverage@{k}: share of the catalogue recommended at least once "
        f"in a top {k}; popularity@{k}: mean popularity percentile of the recommended items "
        "(0.5 = as popular as the median training item, 1 = the most popular).",
        "",
        *_headline(metrics, methods, k),
        "",
        f"![Recall, MRR and NDCG at {k} with intervals]({plot_link('metrics.png')})",
        "",
        "## Paired comparison",
        "",
        *_comparisons(protocol.get("comparisons", {}), k, n_bootstrap),
        "",
        "## Every cut-off",
        "",
        *_all_cutoffs(metrics, methods, ks),
        "",
        "## By position in the session and by session length",
        "",
        f"Recall@{k} of the prediction made after seeing p events (position p), and of "
        "the predictions in sessions of each length.",
        "",
        f"![Recall@{k} by position and session length]({plot_link('breakdown.png')})",
        "",
        *_breakdown(breakdown, "position", f"recall@{k}", methods),
        "",
        *_breakdown(breakdown, "session_length", f"recall@{k}", methods),
        "",
        "## Sequentiality check",
        "",
        *_shuffle(protocol.get("shuffle_check", {}), k),
        "",
        "## Splits",
        "",
        *_splits(split_statistics),
        "",
    ]
    seconds = protocol.get("seconds")
    if seconds:
        lines += ["## Time", "", *_time(seconds, methods), ""]
    return "\n".join(lines)
