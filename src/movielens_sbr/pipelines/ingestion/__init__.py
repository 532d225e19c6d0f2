"""The ingestion pipeline."""

from movielens_sbr.pipelines.ingestion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
