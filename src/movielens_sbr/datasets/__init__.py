"""Custom Kedro datasets."""

from movielens_sbr.datasets.checkpoint_directory import CheckpointDirectory
from movielens_sbr.datasets.movielens_archive import MovieLensArchiveDataset

__all__ = ["CheckpointDirectory", "MovieLensArchiveDataset"]
