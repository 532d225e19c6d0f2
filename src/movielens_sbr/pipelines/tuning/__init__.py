"""The tuning pipeline (hyperparameter search on the validation split)."""

from movielens_sbr.pipelines.tuning.pipeline import create_pipeline

__all__ = ["create_pipeline"]
