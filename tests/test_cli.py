"""`kedro run` ends a user error with its one-line message; a real crash keeps its traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from kedro.io import DatasetError

from conftest import make_project_copy
from movielens_sbr.cli import user_error
from movielens_sbr.data.movielens import ArchiveError


def _wrapped(error: Exception) -> DatasetError:
    """``error`` as Kedro's catalog re-raises it."""
    try:
        try:
            raise error
        except Exception as inner:
            raise DatasetError(f"movielens_archive: {inner}") from inner
    except DatasetError as outer:
        return outer


def test_a_user_error_is_found_behind_kedros_wrapper():
    archive_error = ArchiveError("no archive at /x: set MOVIELENS_ARCHIVE")
    assert user_error(_wrapped(archive_error)) is archive_error


def test_a_crash_is_not_a_user_error():
    assert user_error(_wrapped(ZeroDivisionError("division by zero"))) is None
    assert user_error(KeyError("item")) is None


def test_missing_archive_ends_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from kedro.framework.cli.cli import KedroCLI

    project = make_project_copy(tmp_path / "project", tmp_path / "missing.zip", monkeypatch)
    result = CliRunner().invoke(KedroCLI(project_path=project), ["run", "--pipelines", "ingestion"])
    assert result.exit_code == 1
    assert "Error: The local MovieLens 1M archive" in result.output
    assert "missing.zip" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
