"""GRU4Rec network, training loop and scorer on tiny cases."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from movielens_sbr.evaluation.evaluator import evaluate
from movielens_sbr.model.batching import SessionArrays
from movielens_sbr.model.gru4rec import (
    GRU4RecConfig,
    GRU4RecNetwork,
    GRU4RecScorer,
    build_step_model,
    train,
)

N_ITEMS = 12
TINY = dict(layers=(16,), embedding_dim=8, batch_size=4, steps_per_call=8, learning_rate=0.05)


def chain_sessions(n_sessions: int = 40, length: int = 6, seed: int = 0) -> SessionArrays:
    """Sessions that always follow item i with item i + 1 (mod N_ITEMS)."""
    starts = np.random.default_rng(seed).integers(0, N_ITEMS, n_sessions)
    items = (starts[:, None] + np.arange(length)) % N_ITEMS
    return SessionArrays(items.ravel().astype(np.int32), np.arange(0, items.size + 1, length))


@pytest.mark.parametrize("embedding", ["embedding", "onehot"])
def test_step_model_shapes_and_two_layers(embedding):
    config = GRU4RecConfig(**{**TINY, "layers": (16, 8)}, embedding=embedding)
    model = build_step_model(N_ITEMS, config)
    scores, state_0, state_1 = model(
        [np.array([0, 3, 5], np.int32), np.zeros((3, 16), np.float32), np.zeros((3, 8), np.float32)]
    )
    assert scores.shape == (3, N_ITEMS)
    assert state_0.shape == (3, 16) and state_1.shape == (3, 8)


@pytest.mark.parametrize(
    ("loss", "embedding", "optimizer"),
    [
        ("cross_entropy", "embedding", "adam"),
        ("sampled_cross_entropy", "constrained", "adagrad"),
        ("bpr_max", "constrained", "adagrad"),
        ("cross_entropy", "onehot", "adam"),
    ],
)
def test_training_learns_a_deterministic_chain(loss, embedding, optimizer):
    sessions = chain_sessions()
    config = GRU4RecConfig(
        **TINY,
        epochs=4,
        loss=loss,
        embedding=embedding,
        optimizer=optimizer,
        n_sample=4,
        momentum=0.5 if optimizer == "adagrad" else 0.0,
    )
    result = train(sessions, N_ITEMS, config)
    predictions = evaluate(GRU4RecScorer(result.model), chain_sessions(seed=1), N_ITEMS)
    assert predictions.metrics([1])["recall@1"] > 0.9
    assert result.history[-1]["loss"] < result.history[0]["loss"]


def test_best_epoch_is_kept_by_validation_metric():
    # A validation function that prefers epoch 2 whatever happens.
    scores = iter([0.1, 0.9, 0.2])
    result = train(
        chain_sessions(),
        N_ITEMS,
        GRU4RecConfig(**TINY, epochs=3),
        lambda model: {"recall@20": next(scores)},
    )
    assert result.best_epoch == 2
    assert [h["valid_recall@20"] for h in result.history] == [0.1, 0.9, 0.2]


def test_same_seed_same_weights():
    weights = [
        train(
            chain_sessions(), N_ITEMS, GRU4RecConfig(**TINY, epochs=1, seed=7)
        ).model.get_weights()
        for _ in range(2)
    ]
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)


def test_scorer_matches_the_model_step_by_step_and_resets_per_batch():
    model = build_step_model(N_ITEMS, GRU4RecConfig(**TINY))
    scorer = GRU4RecScorer(model)
    scorer.start(2)
    first = scorer.step(np.array([1, 2], np.int32))
    second = scorer.step(np.array([2], np.int32))  # only session 0 continues
    expected_first, state, *_ = model([np.array([1, 2], np.int32), np.zeros((2, 16), np.float32)])
    expected_second, *_ = model([np.array([2], np.int32), state[:1].numpy()])
    np.testing.assert_allclose(first, expected_first, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(second, expected_second, rtol=1e-5, atol=1e-6)
    scorer.start(1)  # a new batch starts from a zero state
    np.testing.assert_allclose(
        scorer.step(np.array([1], np.int32)), first[:1], rtol=1e-5, atol=1e-6
    )


def test_saved_model_loads_without_project_code(tmp_path):
    model = build_step_model(N_ITEMS, GRU4RecConfig(**TINY))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    inputs = [np.array([4], np.int32), np.zeros((1, 16), np.float32)]
    np.testing.assert_allclose(loaded(inputs)[0], model(inputs)[0], rtol=1e-6)


def test_constrained_export_copies_the_tied_weights():
    network = GRU4RecNetwork(N_ITEMS, GRU4RecConfig(**TINY, embedding="constrained"))
    step = network.to_step_model()
    embedding = step.get_layer("item_embedding").get_weights()[0]
    assert embedding.shape == (N_ITEMS, 16)  # tied: the embedding has the last layer's size
    np.testing.assert_array_equal(step.get_layer("scores").get_weights()[0], embedding.T)
    inputs = [np.array([3, 7], np.int32), np.zeros((2, 16), np.float32)]
    hidden, _ = network.trunk(inputs)
    expected = hidden.numpy() @ embedding.T + network.output_bias.numpy()
    np.testing.assert_allclose(step(inputs)[0], expected, rtol=1e-5, atol=1e-6)


def test_invalid_config_is_rejected():
    with pytest.raises(ValueError, match="embedding"):
        GRU4RecConfig(embedding="bag")
