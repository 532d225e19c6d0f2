"""docs/benchmarks.md's tables are written from benchmark JSON files, each with its run."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("benchmark_docs", ROOT / "scripts/benchmark_docs.py")
benchmark_docs = importlib.util.module_from_spec(_spec)
sys.modules["benchmark_docs"] = benchmark_docs
_spec.loader.exec_module(benchmark_docs)

RUN = {
    "date": "2026-12-03T04:40:00+00:00",
    "command": "python scripts/benchmark.py --archive /home/me/ml-1m.zip --no-seed-recipe",
    "git_commit": "abc1234",
    "cores": 2,
    "machine": "x86_64",
    "load_average_before": 1.5,
    "load_average_after": 2.0,
    "cpu_s": 900.0,
    "peak_rss_mb": 1600.0,
    "dataset": {"n_items": 3254, "train_events": 386790, "test_predictions": 45104},
    "gru4rec": {
        "config": {
            "layers": [128],
            "batch_size": 64,
            "epochs": 10,
            "embedding": "constrained",
            "loss": "cross_entropy",
        },
        "events_per_s": 14623.4,
        "epoch_s": 26.6,
        "train_s": 267.0,
        "validation_s": 30.0,
        "best_epoch": 10,
        "time_to_best_s": 267.0,
        "recall@20": 0.2478,
        "mrr@20": 0.0658,
        "eval_s": 2.2,
    },
    "sasrec": {
        "config": {
            "max_len": 200,
            "n_blocks": 2,
            "hidden_size": 64,
            "batch_size": 32,
            "loss": "cross_entropy",
            "epochs": 6,
        },
        "events_per_s": 5562.0,
        "epoch_s": 76.7,
        "train_s": 460.0,
        "validation_s": 40.0,
        "best_epoch": 6,
        "time_to_best_s": 460.0,
        "recall@20": 0.2216,
        "mrr@20": 0.0570,
        "eval_s": 30.0,
    },
    "gru4rec_256_128": {"events_per_s": 11007.0, "epoch_s": 34.7},
    "sr": {"recall@20": 0.1689, "mrr@20": 0.0473, "eval_s": 4.4, "fit_s": 1.0},
    "evaluation_protocol": {
        "seconds": 40.9,
        "seconds_per_step": {"gru4rec": 13.2, "sr": 4.4},
        "metrics": {"gru4rec": {"recall@20_ci_low": 0.2314, "recall@20_ci_high": 0.2656}},
    },
}


def test_tables_come_from_the_newest_json(tmp_path: Path):
    older = {**RUN, "gru4rec": {**RUN["gru4rec"], "events_per_s": 1.0}}
    (tmp_path / "benchmark_2026-12-01T000000+0000.json").write_text(json.dumps(older))
    (tmp_path / "benchmark_2026-12-03T044000+0000.json").write_text(json.dumps(RUN))
    text = "\n".join(benchmark_docs.generate(tmp_path))

    assert "| 14,623 | 26.6 | 267 (kept epoch 10 after 267) | 30 |" in text
    assert "| 11,007 | 34.7 |" in text
    # Every trained method of the registry has its speed row.
    assert (
        "| sasrec defaults: max_len 200, n_blocks 2, hidden_size 64, batch_size 32, "
        "loss cross_entropy, epochs 6 | 5,562 | 76.7 | 460 (kept epoch 6 after 460) | 40 |"
    ) in text
    assert "| `gru4rec` | 0.2478 [0.2314, 0.2656] | 0.0658 |" in text
    assert "| `sr` | 1.00 | 4.40 | 4.40 |" in text
    # Each table names its run; the archive path of the machine it ran on is not shown.
    assert (
        "Command: `python scripts/benchmark.py --archive /path/to/ml-1m.zip --no-seed-recipe`"
        in text
    )
    assert "/home/me" not in text
    assert "commit `abc1234`; 2 cores (x86_64), load average 1.5 -> 2.0." in text
    # A question without its JSON says which command measures it.
    assert "run `python scripts/benchmark_recommend.py`" in text


def test_the_page_keeps_its_hand_written_parts(tmp_path: Path, monkeypatch):
    page = tmp_path / "benchmarks.md"
    page.write_text(f"intro\n{benchmark_docs.START}\nold\n{benchmark_docs.END}\nchangelog\n")
    monkeypatch.setattr(benchmark_docs, "PAGE", page)
    benchmark_docs.rewrite(tmp_path)
    text = page.read_text()
    assert text.startswith(f"intro\n{benchmark_docs.START}\n### Speed: training")
    assert text.endswith(f"{benchmark_docs.END}\nchangelog\n") and "old" not in text
