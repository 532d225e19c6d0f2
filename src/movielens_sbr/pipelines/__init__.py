"""The pipelines, joined only through the data catalog."""

from kedro.pipeline import Pipeline


def training_pipeline(method) -> Pipeline:
    """The pipeline training a trained method of ``movielens_sbr.methods``."""
    from movielens_sbr.pipelines import training

    return training.create_pipeline(method.name)
