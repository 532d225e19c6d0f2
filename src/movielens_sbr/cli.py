"""Project commands of ``kedro`` (Kedro reads ``<package>/cli.py``): ``kedro run`` whose
user errors end with their one-line message instead of a traceback.

A user error is one the user fixes (a missing or broken archive, a bad parameter, a
pipeline run before its inputs exist): its message says what, where and how to fix. Any
other exception is a real crash and keeps Kedro's full traceback.
"""

from __future__ import annotations

import copy

import click
from kedro.framework.cli.project import run as _kedro_run


def user_errors() -> tuple[type[Exception], ...]:
    """The exception types that stand for a user's mistake (imported when needed)."""
    from movielens_sbr.data.movielens import ArchiveError
    from movielens_sbr.data.parsing import ParseError
    from movielens_sbr.data.sessions import EmptyDataError
    from movielens_sbr.hooks import MissingInputsError
    from movielens_sbr.methods import UnknownMethodError
    from movielens_sbr.model.checkpoints import CheckpointMismatchError
    from movielens_sbr.params import ParameterError
    from movielens_sbr.run_commit import LineageError

    return (
        ArchiveError,
        ParseError,
        EmptyDataError,
        MissingInputsError,
        UnknownMethodError,
        CheckpointMismatchError,
        ParameterError,
        LineageError,
    )


def user_error(error: BaseException) -> BaseException | None:
    """The user error behind ``error`` (Kedro wraps a dataset's in a ``DatasetError``)."""
    kinds, seen = user_errors(), set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kinds):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _run(*args, **kwargs):
    try:
        return _kedro_run.callback(*args, **kwargs)
    except Exception as error:
        found = user_error(error)
        if found is None:
            raise
        raise click.ClickException(str(found)) from None


run = copy.copy(_kedro_run)
run.callback = _run


@click.group(name="movielens-sbr")
def cli() -> None:
    """Project commands."""


cli.add_command(run, "run")
