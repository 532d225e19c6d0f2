"""Custom Kedro datasets."""

from movielens_sbr.datasets.movielens_archive import MovieLensArchiveDataset

__all__ = ["MovieLensArchiveDataset"]
