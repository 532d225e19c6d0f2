"""The experiments pipeline: variants of training + evaluation side by side."""

from movielens_sbr.pipelines.experiments.pipeline import VARIANTS, create_pipeline, trained_by

__all__ = ["VARIANTS", "create_pipeline", "trained_by"]
