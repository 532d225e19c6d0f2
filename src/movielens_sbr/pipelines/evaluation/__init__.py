"""The evaluation pipeline."""

from movielens_sbr.pipelines.evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
