"""Project hooks, called directly with a small in-memory catalog."""

from __future__ import annotations

import logging

from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline

from movielens_sbr.hooks import RunSummaryHook

METRICS = {
    "gru4rec": {"recall@20": 0.25, "mrr@20": 0.066},
    "markov": {"recall@20": 0.15, "mrr@20": 0.043},
    "protocol": {"primary_metric": "recall@20"},
}


def _identity(value):
    return value


def test_run_summary_lists_the_metrics_of_an_evaluating_run(caplog):
    catalog = DataCatalog({"metrics": MemoryDataset(METRICS), "evaluation_report": MemoryDataset()})
    pipeline = Pipeline(
        [
            Node(_identity, "splits", "metrics", name="evaluate"),
            Node(_identity, "metrics", "evaluation_report", name="report"),
        ]
    )
    with caplog.at_level(logging.INFO, logger="movielens_sbr"):
        RunSummaryHook().after_pipeline_run(pipeline=pipeline, catalog=catalog)
    text = caplog.text
    assert "gru4rec  recall@20 0.2500  mrr@20 0.0660" in text
    assert text.index("gru4rec") < text.index("markov")
    assert "Report:" in text


def test_run_summary_is_silent_when_the_run_did_not_evaluate(caplog):
    catalog = DataCatalog({"metrics": MemoryDataset(METRICS)})
    pipeline = Pipeline([Node(_identity, "ratings", "train_sessions", name="split")])
    with caplog.at_level(logging.INFO, logger="movielens_sbr"):
        RunSummaryHook().after_pipeline_run(pipeline=pipeline, catalog=catalog)
    assert caplog.text == ""
