"""The SASRec training pipeline."""

from movielens_sbr.pipelines.sasrec.pipeline import create_pipeline

__all__ = ["create_pipeline"]
