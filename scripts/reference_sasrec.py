"""A reference SASRec (the code released with Klenitskiy & Vasilev, "Turning Dross Into
Gold Loss", RecSys 2023), run unmodified on this project's split and scored with this
project's evaluator.

Not part of the package: it runs in an environment of its own, beside a copy of the
reference repository (github.com/antklen/sasrec-bert4rec-recsys23), and imports only its
``datasets``, ``models`` and ``modules`` and this project's numpy evaluation:

    python -m venv ../ref-venv
    ../ref-venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    ../ref-venv/bin/pip install pytorch_lightning transformers pandas pyarrow pydantic
    kedro run && python scripts/compare_reference.py export ../ref-splits
    PYTHONPATH=src ../ref-venv/bin/python scripts/reference_sasrec.py \
        --code ../sasrec-bert4rec-recsys23/src --splits ../ref-splits --out ../ref-out
    python scripts/compare_reference.py compare \
        sasrec_reference=../ref-out/test_predictions_exclude_seen=true.npz

Settings: the repository's src/configs/SASRec.yaml with the ``dataset.max_length=200`` of
its ML-1M runs (run_final.sh): full-softmax cross-entropy, hidden 64, 2 blocks, 1 head,
dropout 0.1, batch 128, Adam 0.001, up to 100 epochs with early stopping on validation
NDCG@10 (patience 10), seen items filtered in validation. Our sessions play the role of
its users; the last event of a validation session is its validation target. Test scoring
runs the model on the last 200 items of every prefix (item ids shifted by one: 0 is its
padding), with seen items excluded and kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _reference_code() -> None:
    """Puts the reference's src/ (``--code``) on the import path before it is imported."""
    if "--code" in sys.argv:
        sys.path.insert(0, sys.argv[sys.argv.index("--code") + 1])


_reference_code()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
from models import SASRec  # noqa: E402
from modules import SeqRec  # noqa: E402
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from datasets import CausalLMDataset, CausalLMPredictionDataset, PaddingCollateFn  # noqa: E402
from movielens_sbr.data.session_arrays import SessionArrays  # noqa: E402
from movielens_sbr.evaluation.evaluator import evaluate  # noqa: E402


def as_reference_frame(sessions: pd.DataFrame) -> pd.DataFrame:
    """Sessions as the reference's (user_id, item_id, time_idx) frame; item ids shifted by
    one (0 is the reference's padding)."""
    frame = pd.DataFrame(
        {
            "user_id": sessions["session_id"].to_numpy(),
            "item_id": sessions["item_idx"].to_numpy().astype(np.int64) + 1,
        }
    )
    frame["time_idx"] = frame.groupby("user_id").cumcount()
    return frame


class ReferenceScorer:
    """Our evaluator's step interface over the reference model: at each step the whole
    prefix (its last ``max_length`` items) goes through the model, the last position
    scores every item."""

    name = "sasrec_reference"

    def __init__(self, model: torch.nn.Module, max_length: int):
        self.model = model.eval()
        self.max_length = max_length
        self.history: np.ndarray | None = None
        self.t = 0

    def start(self, n_sessions: int) -> None:
        self.history = np.zeros((n_sessions, 0), dtype=np.int64)
        self.t = 0

    def step(self, items: np.ndarray) -> np.ndarray:
        n = len(items)
        self.history = np.concatenate(
            [self.history[:n], (items.astype(np.int64) + 1)[:, None]], axis=1
        )
        inputs = torch.from_numpy(self.history[:, -self.max_length :])
        with torch.no_grad():
            outputs = self.model(inputs, (inputs != 0).float())
        return outputs[:, -1, 1:].numpy().astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", type=Path, required=True, help="the reference's src/")
    parser.add_argument("--splits", type=Path, required=True, help="compare_reference export")
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--max-length", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, default=None, help="score only, no training")
    parser.add_argument(
        "--exclude-seen",
        choices=["true", "false", "both"],
        default="both",
        help="score with seen items excluded, kept, or both",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pl.seed_everything(args.seed)

    train = pd.read_parquet(args.splits / "train.parquet")
    valid = pd.read_parquet(args.splits / "valid.parquet")
    test = pd.read_parquet(args.splits / "test.parquet")
    n_items = len(pd.read_parquet(args.splits / "item_index.parquet"))

    train_loader = DataLoader(
        CausalLMDataset(as_reference_frame(train), max_length=args.max_length),
        batch_size=128,
        shuffle=True,
        num_workers=0,
        collate_fn=PaddingCollateFn(),
    )
    eval_loader = DataLoader(
        CausalLMPredictionDataset(
            as_reference_frame(valid), max_length=args.max_length, validation_mode=True
        ),
        batch_size=256,
        shuffle=False,
        num_workers=0,
        collate_fn=PaddingCollateFn(),
    )
    model = SASRec(
        item_num=n_items,
        maxlen=args.max_length,
        hidden_units=64,
        num_blocks=2,
        num_heads=1,
        dropout_rate=0.1,
        add_head=True,
    )
    module = SeqRec(model, lr=0.001, predict_top_k=10, filter_seen=True)
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = ModelCheckpoint(
        dirpath=args.out, save_top_k=1, monitor="val_ndcg", mode="max", save_weights_only=True
    )
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=args.max_epochs,
        callbacks=[
            EarlyStopping(monitor="val_ndcg", mode="max", patience=args.patience),
            checkpoint,
        ],
        enable_progress_bar=False,
        logger=pl.loggers.CSVLogger(args.out),
        num_sanity_val_steps=0,
    )
    if args.checkpoint is None:
        started = time.time()
        trainer.fit(module, train_loader, eval_loader)
        training_s = time.time() - started
        best_path, best_score = checkpoint.best_model_path, float(checkpoint.best_model_score)
        epochs_run = trainer.current_epoch
    else:
        best_path, best_score, training_s, epochs_run = args.checkpoint, None, None, None
    best = torch.load(best_path, weights_only=False)
    module.load_state_dict(best["state_dict"])
    best_epoch = int(best["epoch"]) + 1

    test_sessions = SessionArrays.from_frame(test)
    result = {
        "reference": "antklen/sasrec-bert4rec-recsys23 (src/configs/SASRec.yaml, max_length 200)",
        "training_s": training_s,
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "best_val_ndcg@10": best_score,
        "checkpoint": str(best_path),
        "torch": torch.__version__,
        "threads": args.threads,
    }
    protocols = {"true": (True,), "false": (False,), "both": (True, False)}[args.exclude_seen]
    for exclude_seen in protocols:
        started = time.time()
        predictions = evaluate(
            ReferenceScorer(module.model, args.max_length),
            test_sessions,
            n_items,
            exclude_seen=exclude_seen,
        )
        key = f"exclude_seen={str(exclude_seen).lower()}"
        result[key] = {
            **predictions.metrics([10, 20]),
            "predictions": len(predictions.greater),
            "eval_s": time.time() - started,
        }
        predictions.save(args.out / f"test_predictions_{key}.npz")
    (args.out / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
