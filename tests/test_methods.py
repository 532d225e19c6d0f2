"""The registry of methods: every method builds and scores, and the rest reads from it."""

from __future__ import annotations

import numpy as np
import pytest

from movielens_sbr import methods
from movielens_sbr.data.session_arrays import SessionArrays
from movielens_sbr.evaluation.evaluator import evaluate
from movielens_sbr.params import ParameterError, base_section, config_from_base, sections

N_ITEMS = 12


def chain(n_sessions: int = 30, length: int = 5, seed: int = 0) -> SessionArrays:
    """Sessions that follow item i with item i + 1 (mod N_ITEMS)."""
    starts = np.random.default_rng(seed).integers(0, N_ITEMS, n_sessions)
    items = (starts[:, None] + np.arange(length)) % N_ITEMS
    return SessionArrays(items.ravel().astype(np.int32), np.arange(0, items.size + 1, length))


def built(method: methods.Method, train: SessionArrays):
    """The scorer of ``method`` (a tiny untrained model for a trained method) and the
    object its ``item_vectors`` reads."""
    if method.name == "sasrec":
        from movielens_sbr.model.sasrec import build_model
        from movielens_sbr.model.sasrec import model_config as sasrec_config
        from movielens_sbr.params import config_from_base

        config = config_from_base("sasrec", max_len=3, hidden_size=4)
        model = build_model(N_ITEMS, sasrec_config(config, seed=0))
        return method.from_model(model), model
    if method.trained:
        from conftest import gru4rec_config
        from movielens_sbr.model.gru4rec import build_step_model

        model = build_step_model(N_ITEMS, gru4rec_config(layers=(4,), embedding_dim=4))
        return method.from_model(model), model
    options = base_section("evaluation")["baselines"][method.name]
    scorer = method.fit(train, N_ITEMS, options, seed=0)
    return scorer, scorer


@pytest.mark.parametrize("name", methods.names())
def test_every_method_builds_and_scores_sessions(name):
    method = methods.get(name)
    train = chain()
    scorer, source = built(method, train)
    assert scorer.name == name  # the metrics are keyed by the registered name
    scorer.start(3)
    first = np.asarray(scorer.step(np.array([0, 4, 7], dtype=np.int32)))
    second = np.asarray(scorer.step(np.array([1, 5], dtype=np.int32)))
    assert first.shape == (3, N_ITEMS) and second.shape == (2, N_ITEMS)
    assert np.isfinite(first).all() and np.isfinite(second).all()
    predictions = evaluate(scorer, chain(6, seed=1), N_ITEMS)
    assert len(predictions.greater) == 6 * 4  # every position of every session
    if method.similarity is not None:
        vectors = np.asarray(method.item_vectors(source))
        assert vectors.shape[0] == N_ITEMS
        if method.similarity == "rows":
            assert vectors.shape == (N_ITEMS, N_ITEMS)
    if not method.trained and name in ("markov", "sr"):  # order models learn the chain
        assert predictions.metrics([1])["recall@1"] == 1.0


def test_kinds_and_names():
    assert methods.names(trained=True) == [m.name for m in methods.trained()]
    assert set(methods.names()) == set(methods.names(trained=True)) | set(
        methods.names(trained=False)
    )
    for method in methods.trained():
        assert method.model_dataset == f"{method.name}_model"
        assert method.section in sections()
    assert all(methods.get(n).similarity for n in methods.names(similarity=True))
    assert all(method.help and "\n" not in method.help for method in methods.all_methods())
    with pytest.raises(methods.UnknownMethodError, match=r"unknown method 'gru5rec'; choose"):
        methods.get("gru5rec")
    with pytest.raises(TypeError):
        methods.get(methods.names(trained=False)[0]).from_model(None)


def test_pipelines_take_every_trained_model_from_the_registry():
    from movielens_sbr.pipelines import evaluation

    inputs = evaluation.create_pipeline().inputs()
    assert {method.model_dataset for method in methods.trained()} <= inputs


class Constant:
    """A fitted method defined outside the project, for the registry test."""

    name = "constant"

    def __init__(self, train, n_items, *, value: float):
        self.scores = np.full(n_items, value, dtype=np.float32)

    def start(self, n_sessions):
        pass

    def step(self, items):
        return np.broadcast_to(self.scores, (len(items), len(self.scores)))


def test_a_new_entry_is_all_a_fitted_method_needs(monkeypatch):
    """Registering a method makes it valid in the parameters and fitted by the protocol."""
    from movielens_sbr.evaluation import protocol

    with pytest.raises(ParameterError, match="unknown baseline 'constant'"):
        config_from_base("evaluation", baselines={"constant": {"value": 1.0}}, shuffle_check=[])
    entry = methods.Method("constant", "a constant score", f"{__name__}:Constant", False)
    registry = {**methods._REGISTRY, "constant": entry}
    monkeypatch.setattr(methods, "_REGISTRY", registry)
    config = config_from_base(
        "evaluation", baselines={"constant": {"value": 1.0}}, shuffle_check=[]
    )
    (scorer,), _ = protocol.fit_baselines(chain(), N_ITEMS, config.baselines, seed=0)
    assert scorer.name == "constant" and scorer.scores[0] == 1.0
    with pytest.raises(ParameterError, match=r"baselines\.constant misses options \['value'\]"):
        config_from_base("evaluation", baselines={"constant": {}}, shuffle_check=[])
    assert "constant" in config_from_base("recommending", method="constant").method


def test_cli_method_choices_and_help_are_the_registry():
    from click.testing import CliRunner

    from movielens_sbr.console import batch, main, recommend, similar

    for command in (recommend, batch):
        option = next(param for param in command.params if param.name == "method")
        assert list(option.type.choices) == methods.names()
        assert option.default is None  # recommending.method of the configuration
    option = next(param for param in similar.params if param.name == "method")
    assert list(option.type.choices) == [methods.EMBEDDING, *methods.names(similarity=True)]
    shown = " ".join(CliRunner().invoke(main, ["recommend", "--help"]).output.split())
    for method in methods.all_methods():
        assert f"{method.name}: {method.help}" in shown
    refused = CliRunner().invoke(main, ["recommend", "--method", "gru5rec"])
    assert refused.exit_code == 2 and "gru5rec" in refused.output


def test_every_trained_method_has_a_section_of_its_own():
    # The section names the method's training pipeline and its `<section>_history`
    # dataset: two methods sharing one would write the same history twice.
    sections = [method.section for method in methods.trained()]
    assert len(set(sections)) == len(sections), sections
