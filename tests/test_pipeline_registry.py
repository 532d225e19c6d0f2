"""The registered pipelines: one training pipeline per trained method, named by its section."""

import dataclasses

import pytest

from movielens_sbr import methods
from movielens_sbr.pipeline_registry import register_pipelines


def test_one_training_pipeline_per_trained_method():
    pipelines = register_pipelines()
    for method in methods.trained():
        outputs = pipelines[method.section].all_outputs()
        assert method.model_dataset in outputs and method.history_dataset in outputs
    default = pipelines["__default__"]
    assert {m.model_dataset for m in methods.trained()} <= default.all_outputs()
    assert "tuning" in pipelines and "experiments" in pipelines


@pytest.mark.parametrize("section", ["training", "evaluation", "tuning"])
def test_a_section_that_already_names_a_pipeline_is_refused(monkeypatch, section):
    twin = dataclasses.replace(methods.get("gru4rec"), name="twin", section=section)
    monkeypatch.setitem(methods._REGISTRY, "twin", twin)
    with pytest.raises(ValueError, match=rf"'twin' has the parameter section '{section}'"):
        register_pipelines()
