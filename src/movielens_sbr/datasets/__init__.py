"""Custom Kedro datasets."""

from movielens_sbr.datasets.checkpoint_directory import CheckpointDirectory
from movielens_sbr.datasets.markdown_report import MarkdownReportDataset
from movielens_sbr.datasets.movielens_archive import MovieLensArchiveDataset

__all__ = ["CheckpointDirectory", "MarkdownReportDataset", "MovieLensArchiveDataset"]
