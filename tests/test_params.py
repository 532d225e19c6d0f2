"""Parameter files: the shipped ones are valid, bad values are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from movielens_sbr import methods
from movielens_sbr.params import (
    ParameterError,
    base_section,
    sections,
    validate_parameters,
    validate_section,
)

CONF = Path(__file__).resolve().parents[1] / "conf" / "base"


def shipped_parameters() -> dict:
    params: dict = {}
    for path in sorted(CONF.glob("parameters*.yml")):
        params.update(yaml.safe_load(path.read_text()))
    return params


def test_shipped_parameter_files_are_valid():
    params = shipped_parameters()
    assert {"seed", "ingestion", "sessions", "training", "evaluation"} <= set(params)
    validate_parameters(params)


@pytest.mark.parametrize(
    ("section", "values", "named"),
    [
        ("training", {"batch_size": -5}, "training.batch_size"),
        ("training", {"layers": []}, "training.layers"),
        ("training", {"layers": [64, 0]}, "training.layers.1"),
        ("training", {"layer_size": 100}, "training.layer_size"),
        ("training", {"epochs": "many"}, "training.epochs"),
        ("training", {"epochs": True}, "training.epochs"),  # YAML `true` is not 1
        ("training", {"learning_rate": False}, "training.learning_rate"),
        ("sessions", {"gap_minutes": 0}, "sessions.gap_minutes"),
        ("sessions", {"tie_order": "items"}, "sessions.tie_order"),
        ("evaluation", {"ks": []}, "evaluation.ks"),
        ("evaluation", {"ties": "optimist"}, "evaluation.ties"),
        ("sessions", {"min_rating": 6}, "sessions.min_rating"),
        ("sessions", {"test_fraction": 0}, "sessions.test_fraction"),
        ("training", {"dropout_hidden": 1.0}, "training.dropout_hidden"),
        ("training", {"resume": "maybe"}, "training.resume"),
        ("training", {"resume": 1}, "training.resume"),
        ("training", {"distribute": "tpu"}, "training.distribute"),
        ("ingestion", {"on_bad_lines": "ignore"}, "ingestion.on_bad_lines"),
        ("ingestion", {"max_skipped_fraction": 2}, "ingestion.max_skipped_fraction"),
        ("ingestion", {"on_bad_line": "skip"}, "ingestion.on_bad_line"),
        ("recommending", {"method": "gru5rec"}, "recommending.method"),
    ],
)
def test_bad_values_name_the_key(section, values, named):
    with pytest.raises(ParameterError) as error:
        validate_section(section, base_section(section, **values))
    message = str(error.value)
    assert f"{named} " in message
    assert f"parameters_{section}.yml" in message
    assert len(message.splitlines()) == 1  # one problem, one line


def test_every_invalid_value_is_reported_at_once():
    with pytest.raises(ParameterError) as error:
        validate_section("evaluation", base_section("evaluation", ks=[0], n_bootstrap=-1))
    lines = str(error.value).splitlines()
    assert lines[0] == "2 invalid parameters:"
    assert lines[1].startswith("evaluation.ks.0 = 0 in conf/base/parameters_evaluation.yml")
    assert lines[2].startswith("evaluation.n_bootstrap = -1 in")
    # Across sections too.
    params = shipped_parameters()
    params["training"]["epochs"] = True
    params["sessions"]["gap_minutes"] = -1
    with pytest.raises(ParameterError) as error:
        validate_parameters(params)
    assert "training.epochs = True" in str(error.value)
    assert "sessions.gap_minutes = -1" in str(error.value)


def test_a_missing_key_is_an_error_not_a_default():
    values = base_section("training")
    del values["epochs"]
    with pytest.raises(ParameterError, match=r"training\.epochs is missing in .*add it"):
        validate_section("training", values)


def test_empty_or_non_mapping_section_is_refused():
    params = shipped_parameters()
    params["training"] = None
    with pytest.raises(ParameterError, match=r"training is empty in .*remove the `training:` line"):
        validate_parameters(params)
    params["training"] = 5
    with pytest.raises(ParameterError, match=r"training = 5 in .*must be a mapping"):
        validate_parameters(params)


def test_unknown_top_level_key_is_refused():
    with pytest.raises(ParameterError) as error:
        validate_parameters({**shipped_parameters(), "epochs": 3})
    assert "unknown top-level parameter 'epochs'" in str(error.value)
    assert "training.epochs" in str(error.value)  # how to fix it


def test_misspelled_choice_lists_the_allowed_values():
    with pytest.raises(ParameterError, match="'random', 'file' or 'item'"):
        validate_section("sessions", base_section("sessions", tie_order="time"))


def test_bad_seed():
    with pytest.raises(ParameterError, match="seed"):
        validate_parameters({**shipped_parameters(), "seed": -1})
    with pytest.raises(ParameterError, match="seed"):
        validate_parameters({**shipped_parameters(), "seed": True})


def test_unknown_baseline_and_bad_options_are_named():
    with pytest.raises(ParameterError, match="unknown baseline 'gru5rec'"):
        validate_section("evaluation", base_section("evaluation", baselines={"gru5rec": {}}))
    with pytest.raises(ParameterError, match="unknown baseline 'gru4rec'"):  # trained, not fitted
        validate_section("evaluation", base_section("evaluation", baselines={"gru4rec": {}}))
    bad = {"sr": {"step": 3}, "markov": {}}
    with pytest.raises(ParameterError) as error:
        validate_section("evaluation", base_section("evaluation", baselines=bad))
    assert "baselines.sr has unknown options ['step']; it takes ['steps']" in str(error.value)
    assert "baselines.sr misses options ['steps']" in str(error.value)


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"epochs": {"choices": [1, 2]}}, "search_space.gru4rec.epochs is not tunable"),
        ({"loss": {"choices": ["bpr"]}}, "search_space.gru4rec.loss: 'bpr' is not allowed"),
        ({"layer_size": {"choices": [0, 64]}}, "search_space.gru4rec.layer_size: 0 is not"),
        ({"learning_rate": {"low": 0.1, "high": 0.01}}, "low must be below high"),
        ({"learning_rate": {"low": 0.0, "high": 0.1, "log": True}}, "log range needs low > 0"),
        ({"dropout_hidden": {"low": 0.0, "high": 1.5}}, "1.5 is not allowed"),
        ({"momentum": [0.1, 0.2]}, "search_space.gru4rec.momentum"),
        ({"momentum": {"values": [0.1]}}, "expected {choices"),
    ],
)
def test_bad_search_space_is_named(space, message):
    spaces = {**base_section("tuning")["search_space"], "gru4rec": space}
    with pytest.raises(ParameterError) as error:
        validate_section("tuning", base_section("tuning", search_space=spaces))
    assert message in str(error.value)
    assert "parameters_tuning.yml" in str(error.value)


def test_every_trained_method_has_a_search_space_checked_against_its_own_schema():
    tuning = base_section("tuning")
    assert set(tuning["search_space"]) == set(methods.names(trained=True))
    for method in methods.trained():
        validate_section("tuning", {**tuning, "method": method.name})
    with pytest.raises(ParameterError, match="not a trained method"):
        validate_section("tuning", {**tuning, "method": "pop"})
    # A GRU4Rec option is not an option of the other trained methods.
    other = methods.names(trained=True)[1]
    spaces = {**tuning["search_space"], other: {"momentum": {"low": 0.0, "high": 0.5}}}
    with pytest.raises(ParameterError, match=f"search_space.{other}.momentum is not tunable"):
        validate_section("tuning", {**tuning, "search_space": spaces})


def test_misspelled_section_is_named_with_the_known_ones():
    params = {**shipped_parameters(), "trainig": {"epochs": 2}, "sesions": {}}
    with pytest.raises(ParameterError) as error:
        validate_parameters(params)
    message = str(error.value)
    assert "'trainig' in conf/*/parameters*.yml or --params (did you mean 'training'?)" in message
    assert "(did you mean 'sessions'?)" in message
    assert "'ingestion'" in message  # the known sections are listed


def test_namespaced_sections_are_checked_whole():
    params = shipped_parameters()
    params["experiments"] = {"variant": {"training": {}}}
    with pytest.raises(ParameterError) as error:
        validate_parameters(params)
    message = str(error.value)
    assert "experiments.variant.training.epochs is missing" in message
    assert "parameters_experiments.yml" in message
    params["experiments"] = {"variant": {"training": base_section("training")}}
    validate_parameters(params)  # a complete copy is fine


def test_on_bad_lines_lists_the_allowed_values():
    with pytest.raises(ParameterError, match="'fail' or 'skip'"):
        validate_section("ingestion", base_section("ingestion", on_bad_lines="warn"))


def test_evaluation_protocol_parameters_are_checked():
    def check(**values):
        validate_section("evaluation", base_section("evaluation", **values))

    with pytest.raises(ParameterError, match=r"evaluation\.n_bootstrap"):
        check(n_bootstrap=-1)
    with pytest.raises(ParameterError, match=r"evaluation\.confidence"):
        check(confidence=1.5)
    with pytest.raises(ParameterError, match="must be increasing session lengths"):
        check(length_buckets=[2, 10, 5])
    with pytest.raises(ParameterError, match="must be increasing session lengths"):
        check(length_buckets=[5, 10])
    with pytest.raises(ParameterError, match=r"shuffle_check = \['knn'\].*unknown methods"):
        check(shuffle_check=["knn"])
    # The global seed reaches seeded baselines; it is not one of their options.
    als = {"factors": 8, "regularization": 1.0, "alpha": 1.0, "iterations": 2, "seed": 3}
    with pytest.raises(ParameterError, match=r"baselines\.als has unknown options \['seed'\]"):
        check(baselines={"als": als})


def test_schemas_and_conf_base_agree():
    """conf/base is the one source: it sets every key of every schema and nothing else,
    and neither the schemas nor the model and baseline code bring defaults of their own."""
    import dataclasses
    import inspect

    from movielens_sbr import methods
    from movielens_sbr.model.gru4rec import GRU4RecConfig

    params = shipped_parameters()
    for section, schema in sections().items():
        assert set(params[section]) == set(schema.model_fields), section
        assert all(field.is_required() for field in schema.model_fields.values()), section
    model_fields = {field.name for field in dataclasses.fields(GRU4RecConfig)}
    assert model_fields == set(params["training"]) - {"eval_batch_size", "resume", "distribute"} | {
        "seed"
    }
    assert all(
        field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        for field in dataclasses.fields(GRU4RecConfig)
    )
    baselines = params["evaluation"]["baselines"]
    assert list(baselines) == methods.names(trained=False)  # every baseline, registry order
    for name, options in baselines.items():
        method = methods.get(name)
        assert set(options or {}) == set(method.options), name
        signature = inspect.signature(method.build).parameters
        assert all(
            signature[option].default is inspect.Parameter.empty for option in method.options
        )


def resolved_parameters(runtime_params: dict | None = None) -> dict:
    """The shipped parameters as Kedro resolves them (interpolations and resolvers applied)."""
    from kedro.config import OmegaConfigLoader

    from movielens_sbr.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(
        str(CONF.parent), **CONFIG_LOADER_ARGS, runtime_params=runtime_params or {}
    )
    return loader["parameters"]


def test_experiment_variants_are_the_defaults_with_their_changes():
    params = resolved_parameters({"training": {"epochs": 1}, "sasrec": {"epochs": 1}})
    validate_parameters(params)
    variants = params["experiments"]
    assert variants["loss_cross_entropy"]["training"] == params["training"] | {
        "loss": "cross_entropy"
    }
    assert variants["sasrec_loss_bce"]["sasrec"] == params["sasrec"] | {"loss": "bce"}
    # A runtime override of the defaults reaches every variant.
    sections = [s for k, v in variants.items() if k != "evaluation" for n, s in v.items()]
    assert {s["epochs"] for s in sections if "epochs" in s} == {1}
    assert variants["sessions_user"]["sessions"]["session_mode"] == "user"
    assert set(variants["evaluation"]["baselines"]) == {"pop", "markov"}
    # The original implementation's recipe, everything else the defaults.
    original = variants["gru4rec_original"]["training"]
    recipe = {
        "layers": [256],
        "embedding": "constrained",
        "batch_size": 128,
        "loss": "sampled_cross_entropy",
        "n_sample": 2048,
        "dropout_embedding": 0.3,
        "dropout_hidden": 0.1,
        "learning_rate": 0.05,
        "momentum": 0.2,
    }
    assert original == params["training"] | recipe


def test_bad_value_in_a_namespace_names_the_namespaced_key():
    params = shipped_parameters()
    params["experiments"] = {"loss_x": {"training": base_section("training", batch_size=-1)}}
    with pytest.raises(ParameterError) as error:
        validate_parameters(params)
    assert "experiments.loss_x.training.batch_size" in str(error.value)
    assert "parameters_experiments.yml" in str(error.value)


def test_bad_dataset_is_named_with_the_valid_ones():
    with pytest.raises(ParameterError) as error:
        validate_parameters(
            {**shipped_parameters(), "ingestion": base_section("ingestion", dataset="ml-30m")}
        )
    message = str(error.value)
    assert "ingestion.dataset = " in message
    assert "'ml-30m'" in message
    assert "['ml-100k', 'ml-10m', 'ml-1m', 'ml-20m', 'ml-25m', 'ml-32m'" in message
    assert "yoochoose" in message


@pytest.mark.parametrize(
    "env",
    ["ml-100k", "ml-1m", "ml-10m", "ml-latest-small", "ml-20m", "ml-25m", "ml-32m", "yoochoose"],
)
def test_every_dataset_environment_is_valid_and_consistent(env):
    from kedro.config import OmegaConfigLoader

    from movielens_sbr.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(str(CONF.parent), **CONFIG_LOADER_ARGS, env=env)
    params = loader["parameters"]
    validate_parameters(params)
    catalog = loader["catalog"]
    assert params["ingestion"]["dataset"] == catalog["movielens_archive"]["dataset"] == env
    # Each dataset writes under its own folder (ml-1m keeps the historical data/).
    expected = "data" if env == "ml-1m" else f"data/{env}"
    assert catalog["ratings"]["filepath"] == f"{expected}/02_intermediate/ratings.parquet"
    # An environment changes single keys: the rest of a section keeps the defaults.
    assert params["training"]["epochs"] == resolved_parameters()["training"]["epochs"]
    assert params["sasrec"]["epochs"] == resolved_parameters()["sasrec"]["epochs"]
    # A catalogue too large for the full softmax is too large for both trained models.
    large = params["training"]["loss"] != "cross_entropy"
    assert (params["sasrec"]["loss"] != "cross_entropy") == large


def load_context(project, runtime_params: dict | None = None):
    """Create the Kedro context of ``project``: the setup hook validates the parameters."""
    from kedro.framework.session import KedroSession

    with KedroSession.create(project_path=project, runtime_params=runtime_params) as session:
        return session.load_context()


def test_kedro_refuses_a_section_emptied_in_conf_local_naming_the_file(tmp_path, monkeypatch):
    from conftest import make_project_copy

    project = make_project_copy(tmp_path / "project", tmp_path / "none.zip", monkeypatch)
    local = project / "conf" / "local"
    local.mkdir(exist_ok=True)
    (local / "parameters.yml").write_text("training:\n  # epochs: 3\n  # layers: [64]\n")
    with pytest.raises(ParameterError) as error:
        load_context(project)
    message = str(error.value)
    assert f"training is empty in {local / 'parameters.yml'}" in message
    assert len(message.splitlines()) == 1
    (local / "parameters.yml").write_text("training:\n  epochs: 3\n")
    assert load_context(project).params["training"]["layers"] == [128]  # the rest: conf/base


@pytest.mark.parametrize(
    ("runtime_params", "message"),
    [
        ({"training": 5}, "training = 5 in conf/base/parameters_training.yml or its overrides"),
        ({"epochs": 3}, "unknown top-level parameter 'epochs'"),
        ({"training": {"epochs": True}}, "training.epochs = True"),
    ],
)
def test_kedro_refuses_bad_runtime_params_clearly(tmp_path, monkeypatch, runtime_params, message):
    from conftest import make_project_copy

    project = make_project_copy(tmp_path / "project", tmp_path / "none.zip", monkeypatch)
    with pytest.raises(ParameterError) as error:  # not an InterpolationResolutionError
        load_context(project, runtime_params)
    assert message in str(error.value)
