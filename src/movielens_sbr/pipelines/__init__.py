"""The pipelines, joined only through the data catalog."""

import importlib

from kedro.pipeline import Pipeline


def training_pipeline(method) -> Pipeline:
    """The pipeline training a trained method of ``movielens_sbr.methods``: the package
    named after its parameter section (``training`` for GRU4Rec)."""
    return importlib.import_module(f"movielens_sbr.pipelines.{method.section}").create_pipeline()
