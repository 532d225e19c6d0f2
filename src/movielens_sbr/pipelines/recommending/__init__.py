"""The recommending pipeline."""

from movielens_sbr.pipelines.recommending.pipeline import create_pipeline

__all__ = ["create_pipeline"]
