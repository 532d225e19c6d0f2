"""The sessions pipeline."""

from movielens_sbr.pipelines.sessions.pipeline import create_pipeline

__all__ = ["create_pipeline"]
