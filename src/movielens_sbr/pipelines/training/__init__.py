"""The training pipeline."""

from movielens_sbr.pipelines.training.pipeline import create_pipeline

__all__ = ["create_pipeline"]
