"""GRU4Rec network, training loop and scorer on tiny cases."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from conftest import gru4rec_config
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.evaluator import evaluate
from movielens_sbr.model import gru4rec
from movielens_sbr.model.checkpoints import CheckpointMismatchError
from movielens_sbr.model.gru4rec import (
    GRU4RecNetwork,
    GRU4RecScorer,
    build_step_model,
    train,
)
from movielens_sbr.params import ParameterError

N_ITEMS = 12
TINY = dict(layers=(16,), embedding_dim=8, batch_size=4, steps_per_call=8, learning_rate=0.05)


def chain_sessions(n_sessions: int = 40, length: int = 6, seed: int = 0) -> SessionArrays:
    """Sessions that always follow item i with item i + 1 (mod N_ITEMS)."""
    starts = np.random.default_rng(seed).integers(0, N_ITEMS, n_sessions)
    items = (starts[:, None] + np.arange(length)) % N_ITEMS
    return SessionArrays(items.ravel().astype(np.int32), np.arange(0, items.size + 1, length))


@pytest.mark.parametrize("embedding", ["embedding", "onehot"])
def test_step_model_shapes_and_two_layers(embedding):
    config = gru4rec_config(**{**TINY, "layers": (16, 8)}, embedding=embedding)
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
    config = gru4rec_config(
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
        gru4rec_config(**TINY, epochs=3),
        lambda model: {"recall@20": next(scores)},
    )
    assert result.best_epoch == 2
    assert [h["valid_recall@20"] for h in result.history] == [0.1, 0.9, 0.2]


def test_same_seed_same_weights():
    weights = [
        train(
            chain_sessions(), N_ITEMS, gru4rec_config(**TINY, epochs=1, seed=7)
        ).model.get_weights()
        for _ in range(2)
    ]
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)


def test_scorer_matches_the_model_step_by_step_and_resets_per_batch():
    model = build_step_model(N_ITEMS, gru4rec_config(**TINY))
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
    model = build_step_model(N_ITEMS, gru4rec_config(**TINY))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    inputs = [np.array([4], np.int32), np.zeros((1, 16), np.float32)]
    np.testing.assert_allclose(loaded(inputs)[0], model(inputs)[0], rtol=1e-6)


def test_constrained_export_copies_the_tied_weights():
    network = GRU4RecNetwork(N_ITEMS, gru4rec_config(**TINY, embedding="constrained"))
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
        gru4rec_config(embedding="bag")


# ---------------------------------------------------------------------------------------------
# Checkpoints and resuming


class Interrupted(Exception):
    """Stands for Ctrl-C or a crash between two epochs."""


def stop_after(last_epoch: int):
    def callback(epoch: int, record: dict) -> None:
        if epoch == last_epoch:
            raise Interrupted

    return callback


def without_timings(history: list[dict]) -> list[dict]:
    return [
        {k: v for k, v in record.items() if k not in {"train_seconds", "events_per_second"}}
        for record in history
    ]


RESUME_CONFIGS = {
    "bpr_max-adagrad-dropout": dict(
        loss="bpr_max",
        embedding="constrained",
        optimizer="adagrad",
        momentum=0.3,
        dropout_hidden=0.2,
        dropout_embedding=0.1,
        n_sample=4,
    ),
    "sampled-adam": dict(loss="sampled_cross_entropy", optimizer="adam", n_sample=4),
}


@pytest.mark.parametrize("options", RESUME_CONFIGS.values(), ids=RESUME_CONFIGS.keys())
def test_interrupted_training_resumes_to_the_uninterrupted_result(tmp_path, options):
    config = gru4rec_config(**TINY, epochs=3, seed=5, **options)
    valid = chain_sessions(n_sessions=10, seed=1)

    def validate_on_chain(model):
        return evaluate(GRU4RecScorer(model), valid, N_ITEMS).metrics([20])

    # Only the first configuration validates (best epoch kept), to keep the test short; the
    # other keeps the last epoch.
    validate = validate_on_chain if "dropout_hidden" in options else None

    full = train(chain_sessions(), N_ITEMS, config, validate, checkpoint_dir=tmp_path / "full")
    with pytest.raises(Interrupted):
        train(
            chain_sessions(),
            N_ITEMS,
            config,
            validate,
            checkpoint_dir=tmp_path / "cut",
            on_epoch_end=stop_after(1),
        )
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == ["last.npz"]
    epochs_seen: list[int] = []
    resumed = train(
        chain_sessions(),
        N_ITEMS,
        config,
        validate,
        checkpoint_dir=tmp_path / "cut",
        resume=True,
        on_epoch_end=lambda epoch, record: epochs_seen.append(epoch),
    )

    assert epochs_seen == [2, 3]  # epoch 1 was not trained again
    assert resumed.best_epoch == full.best_epoch
    assert without_timings(resumed.history) == without_timings(full.history)
    for first, second in zip(full.model.get_weights(), resumed.model.get_weights(), strict=True):
        np.testing.assert_array_equal(first, second)


def test_resume_after_the_last_epoch_returns_the_same_model(tmp_path):
    config = gru4rec_config(**TINY, epochs=2)
    first = train(chain_sessions(), N_ITEMS, config, checkpoint_dir=tmp_path)
    again = train(
        chain_sessions(),
        N_ITEMS,
        config,
        checkpoint_dir=tmp_path,
        resume=True,
        on_epoch_end=stop_after(1),  # would raise if any epoch ran
    )
    assert again.history == first.history
    for a, b in zip(first.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_without_checkpoint_starts_from_the_first_epoch(tmp_path):
    result = train(
        chain_sessions(),
        N_ITEMS,
        gru4rec_config(**TINY, epochs=1),
        checkpoint_dir=tmp_path,
        resume=True,
    )
    assert [h["epoch"] for h in result.history] == [1]
    assert (tmp_path / "last.npz").exists()


def test_resume_refuses_a_checkpoint_of_other_parameters_or_data(tmp_path):
    config = gru4rec_config(**TINY, epochs=1)
    train(chain_sessions(), N_ITEMS, config, checkpoint_dir=tmp_path)

    with pytest.raises(CheckpointMismatchError, match=r"learning_rate: 0\.05 -> 0\.1.*resume"):
        train(
            chain_sessions(),
            N_ITEMS,
            gru4rec_config(**{**TINY, "learning_rate": 0.1}, epochs=1),
            checkpoint_dir=tmp_path,
            resume=True,
        )
    with pytest.raises(CheckpointMismatchError, match="training data"):
        train(chain_sessions(seed=9), N_ITEMS, config, checkpoint_dir=tmp_path, resume=True)


def test_failed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    config = gru4rec_config(**TINY, epochs=1)
    train(chain_sessions(), N_ITEMS, config, checkpoint_dir=tmp_path)
    before = (tmp_path / "last.npz").read_bytes()

    def disk_full(handle, **arrays):
        handle.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gru4rec.np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left"):
        train(chain_sessions(), N_ITEMS, gru4rec_config(**TINY, epochs=2), checkpoint_dir=tmp_path)

    assert (tmp_path / "last.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.npz"]  # no leftover
    resumed = train(chain_sessions(), N_ITEMS, config, checkpoint_dir=tmp_path, resume=True)
    assert [h["epoch"] for h in resumed.history] == [1]


def test_sparse_updates_take_the_row_path_and_match_dense_training(monkeypatch):
    from movielens_sbr.model.optimizers import AdagradMomentum

    calls = []
    row_step = AdagradMomentum._sparse_update_step

    def counted(self, gradient, variable, learning_rate):
        calls.append(variable.name)
        return row_step(self, gradient, variable, learning_rate)

    monkeypatch.setattr(AdagradMomentum, "_sparse_update_step", counted)
    options = dict(
        TINY, epochs=1, seed=3, optimizer="adagrad", momentum=0.0, n_sample=4,
        loss="sampled_cross_entropy", embedding="constrained",
    )  # fmt: skip
    dense, sparse = (
        train(
            chain_sessions(), N_ITEMS, gru4rec_config(**options, sparse_updates=flag)
        ).model.get_weights()
        for flag in (False, True)
    )
    assert calls, "the sampled loss's item-table gradient should reach the optimiser as rows"
    for first, second in zip(dense, sparse, strict=True):
        np.testing.assert_allclose(first, second, rtol=1e-4, atol=1e-6)


def test_resume_from_a_truncated_checkpoint_names_the_file_and_the_fix(tmp_path):
    config = gru4rec_config(**TINY, epochs=1)
    train(chain_sessions(), N_ITEMS, config, checkpoint_dir=tmp_path)
    checkpoint = tmp_path / "last.npz"
    checkpoint.write_bytes(checkpoint.read_bytes()[:200])

    with pytest.raises(CheckpointMismatchError, match="cannot be read") as error:
        train(chain_sessions(), N_ITEMS, config, checkpoint_dir=tmp_path, resume=True)
    assert str(checkpoint) in str(error.value) and "Delete it" in str(error.value)


def test_a_batch_larger_than_the_training_sessions_is_refused_before_any_work(monkeypatch):
    """`training.batch_size=100000` on a few thousand sessions used to run for minutes
    with no progress and no error: it now fails at once, saying what to set."""
    built = []
    monkeypatch.setattr(gru4rec, "GRU4RecNetwork", lambda *args: built.append(args))
    with pytest.raises(ValueError) as refused:
        gru4rec.train(chain_sessions(n_sessions=7_012), 10, gru4rec_config(batch_size=100_000))
    assert str(refused.value) == (
        "training.batch_size=100000 is larger than the 7,012 training sessions (each lane of "
        "a batch walks one session): set training.batch_size to at most 7012, e.g. "
        "--params training.batch_size=512"
    )
    assert isinstance(refused.value, ParameterError)  # `kedro run` prints only this line
    assert built == []  # refused before the network was built
    # As many lanes as sessions is allowed.
    gru4rec.check_batch_size(7_012, 7_012)
