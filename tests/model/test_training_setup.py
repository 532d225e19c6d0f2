"""From training parameters to the model configuration and the validation callback."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from conftest import gru4rec_config
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.evaluator import evaluate
from movielens_sbr.model.gru4rec import GRU4RecConfig, GRU4RecScorer, build_step_model
from movielens_sbr.model.training_setup import model_config, validator
from movielens_sbr.params import config_from_base, load_parameters, validate_section

CONF = Path(__file__).resolve().parents[2] / "conf" / "base"


def test_model_config_carries_every_training_choice_and_the_seed():
    params = validate_section("training", load_parameters(CONF)["training"])
    config = model_config(params, seed=7)
    assert config.seed == 7
    assert config.layers == tuple(params.layers)
    for field in dataclasses.fields(GRU4RecConfig):
        if field.name not in ("layers", "seed"):
            assert getattr(config, field.name) == getattr(params, field.name), field.name


def test_validator_scores_with_the_selection_metrics_cutoff():
    n_items = 9
    rng = np.random.default_rng(0)
    valid = SessionArrays.from_sequences([rng.integers(0, n_items, size) for size in (4, 2, 5, 3)])
    model = build_step_model(n_items, gru4rec_config(layers=(6,), embedding_dim=4))
    params = config_from_base("training", selection_metric="mrr@3", eval_batch_size=2, layers=[6])
    metrics = validator(valid, n_items, params)(model)
    assert set(metrics) == {"recall@3", "mrr@3", "ndcg@3"}
    assert metrics == pytest.approx(evaluate(GRU4RecScorer(model), valid, n_items).metrics([3]))
