"""Parameter files: the shipped ones are valid, bad values are named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from movielens_sbr.params import ParameterError, validate_parameters, validate_section

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
        ("training", {"layer_size": 100}, "training.layer_size"),
        ("training", {"epochs": "many"}, "training.epochs"),
        ("sessions", {"gap_minutes": 0}, "sessions.gap_minutes"),
        ("sessions", {"tie_order": "items"}, "sessions.tie_order"),
        ("evaluation", {"ks": []}, "evaluation.ks"),
        ("evaluation", {"ties": "optimist"}, "evaluation.ties"),
        ("sessions", {"min_rating": 6}, "sessions.min_rating"),
        ("sessions", {"test_fraction": 0}, "sessions.test_fraction"),
        ("training", {"dropout_hidden": 1.0}, "training.dropout_hidden"),
        ("training", {"resume": "maybe"}, "training.resume"),
        ("training", {"distribute": "tpu"}, "training.distribute"),
        ("ingestion", {"on_bad_lines": "ignore"}, "ingestion.on_bad_lines"),
        ("ingestion", {"max_skipped_fraction": 2}, "ingestion.max_skipped_fraction"),
        ("ingestion", {"on_bad_line": "skip"}, "ingestion.on_bad_line"),
    ],
)
def test_bad_values_name_the_key(section, values, named):
    with pytest.raises(ParameterError) as error:
        validate_section(section, values)
    assert named in str(error.value)
    assert f"parameters_{section}.yml" in str(error.value)


def test_misspelled_choice_lists_the_allowed_values():
    with pytest.raises(ParameterError, match="'random', 'file' or 'item'"):
        validate_section("sessions", {"tie_order": "time"})


def test_bad_seed():
    with pytest.raises(ParameterError, match="seed"):
        validate_parameters({"seed": -1})


def test_unknown_baseline_and_unknown_option_are_named():
    with pytest.raises(ParameterError, match="unknown baselines"):
        validate_section("evaluation", {"baselines": {"gru5rec": {}}})
    with pytest.raises(ParameterError, match=r"baselines\.sr accepts \['steps'\]"):
        validate_section("evaluation", {"baselines": {"sr": {"step": 3}}})


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"epochs": {"choices": [1, 2]}}, "search_space.epochs is not tunable"),
        ({"loss": {"choices": ["bpr"]}}, "search_space.loss: 'bpr' is not allowed"),
        ({"layer_size": {"choices": [0, 64]}}, "search_space.layer_size: 0 is not allowed"),
        ({"learning_rate": {"low": 0.1, "high": 0.01}}, "low must be below high"),
        ({"learning_rate": {"low": 0.0, "high": 0.1, "log": True}}, "log range needs low > 0"),
        ({"dropout_hidden": {"low": 0.0, "high": 1.5}}, "1.5 is not allowed"),
        ({"momentum": [0.1, 0.2]}, "search_space.momentum"),
        ({"momentum": {"values": [0.1]}}, "expected {choices"),
    ],
)
def test_bad_search_space_is_named(space, message):
    with pytest.raises(ParameterError) as error:
        validate_section("tuning", {"search_space": space})
    assert message in str(error.value)
    assert "parameters_tuning.yml" in str(error.value)


def test_misspelled_section_is_named_with_the_known_ones():
    with pytest.raises(ParameterError) as error:
        validate_parameters({"seed": 1, "trainig": {"epochs": 2}, "sesions": {}})
    message = str(error.value)
    assert "'trainig' (did you mean 'training'?)" in message
    assert "'sesions' (did you mean 'sessions'?)" in message
    assert "'ingestion'" in message  # the known sections are listed


def test_other_namespaces_are_left_to_their_pipelines():
    validate_parameters({"seed": 1, "experiments": {"variant": {"training": {}}}})


def test_on_bad_lines_lists_the_allowed_values():
    with pytest.raises(ParameterError, match="'fail' or 'skip'"):
        validate_section("ingestion", {"on_bad_lines": "warn"})


def test_evaluation_protocol_parameters_are_checked():
    with pytest.raises(ParameterError, match=r"evaluation\.n_bootstrap"):
        validate_section("evaluation", {"n_bootstrap": -1})
    with pytest.raises(ParameterError, match=r"evaluation\.confidence"):
        validate_section("evaluation", {"confidence": 1.5})
    with pytest.raises(ParameterError, match="length_buckets must be increasing"):
        validate_section("evaluation", {"length_buckets": [2, 10, 5]})
    with pytest.raises(ParameterError, match="length_buckets must be increasing"):
        validate_section("evaluation", {"length_buckets": [5, 10]})
    with pytest.raises(ParameterError, match=r"shuffle_check names unknown methods \['knn'\]"):
        validate_section("evaluation", {"shuffle_check": ["knn"]})
    # The global seed reaches seeded baselines; it is not one of their options.
    with pytest.raises(ParameterError, match=r"baselines\.als accepts"):
        validate_section("evaluation", {"baselines": {"als": {"seed": 3}}})
    config = validate_section("evaluation", {})
    assert config.ks == [1, 5, 10, 20]
    assert config.shuffle_check == ["gru4rec", "markov"]


def resolved_parameters(runtime_params: dict | None = None) -> dict:
    """The shipped parameters as Kedro resolves them (interpolations and resolvers applied)."""
    from kedro.config import OmegaConfigLoader

    from movielens_sbr.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(
        str(CONF.parent), **CONFIG_LOADER_ARGS, runtime_params=runtime_params or {}
    )
    return loader["parameters"]


def test_experiment_variants_are_the_defaults_with_their_changes():
    params = resolved_parameters({"training": {"epochs": 1}})
    validate_parameters(params)
    variants = params["experiments"]
    assert variants["loss_cross_entropy"]["training"] == params["training"] | {
        "loss": "cross_entropy"
    }
    # A runtime override of the defaults reaches every variant.
    assert {v["training"]["epochs"] for k, v in variants.items() if k != "evaluation"} == {1}
    assert variants["sessions_user"]["sessions"]["session_mode"] == "user"
    assert set(variants["evaluation"]["baselines"]) == {"pop", "markov"}


def test_bad_value_in_a_namespace_names_the_namespaced_key():
    params = {"experiments": {"loss_x": {"training": {"batch_size": -1}}}}
    with pytest.raises(ParameterError) as error:
        validate_parameters(params)
    assert "experiments.loss_x.training.batch_size" in str(error.value)
    assert "parameters_experiments.yml" in str(error.value)


def test_bad_dataset_is_named_with_the_valid_ones():
    with pytest.raises(ParameterError) as error:
        validate_parameters({"ingestion": {"dataset": "ml-30m"}})
    message = str(error.value)
    assert "ingestion.dataset: " in message
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
