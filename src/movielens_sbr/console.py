"""``movielens-sbr``: next movies for a session or a user, similar movies, batch scoring.

Its output names items as the project's dataset does (``Recommender.item_noun``: movies for
MovieLens, items for YOOCHOOSE clicks); the help, printed before any project is read, says
both.

(Not ``cli.py``: Kedro reserves ``<package>/cli.py`` for project commands of ``kedro``.)

Run inside the Kedro project after ``kedro run`` (or pass ``--project PATH``). Kedro and
TensorFlow are imported only when a command runs, so ``--help`` is instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from movielens_sbr import methods

METHOD_HELP = "Default: recommending.method of the configuration. " + methods.help_text() + "."
GENRE_HELP = "Only movies (items) of this genre (repeat)."


class _AsciiInt(click.ParamType):
    """A whole number written with the digits 0-9 only (``int()`` also reads "٢٥٧١")."""

    name = "integer"

    def __init__(self, minimum: int | None = None):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            number = value
        elif _is_ascii_number(str(value)):
            number = int(str(value).strip())
        else:
            self.fail(f"{value!r} is not a whole number", param, ctx)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{number} is below {self.minimum}", param, ctx)
        return number


def _is_ascii_number(text: str) -> bool:
    text = text.strip()
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit()


def _movie_query(text: str) -> int | str:
    """A movie id when ``text`` is ASCII digits, else a title to match."""
    return int(text) if text.strip().isascii() and text.strip().isdigit() else text


# Every command takes -n the same way: a whole number of at least 1.
n_option = click.option(
    "-n",
    "n",
    type=_AsciiInt(minimum=1),
    default=10,
    show_default=True,
    help="How many movies (items) to return.",
)


class _OneLineErrors(click.Group):
    """Any failure of a command ends as one ``Error:`` line (exit 1), never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            first_line = (str(error).strip().splitlines() or [""])[0]
            raise click.ClickException(f"{type(error).__name__}: {first_line}") from None


# One definition for every command: which model answers.
MODEL_OPTION = click.option(
    "--model",
    default=None,
    help="Registered version (3), alias (champion) or Kedro version of the model "
    "(default: the champion, else the latest).",
)


def _load(ctx: click.Context, model: str | None, method: str | None = None):
    """The project's recommender, holding ``method``'s model when it is a trained one."""
    from movielens_sbr.recommend import Recommender, RecommendError

    try:
        return Recommender.load(
            ctx.obj["project"], model_version=model, env=ctx.obj["env"], method=method
        )
    except RecommendError as error:
        raise click.ClickException(str(error)) from None
    except Exception as error:  # Kedro's "no version found", a missing dataset, ...
        run = "kedro run" + (f" --env {ctx.obj['env']}" if ctx.obj["env"] else "")
        raise click.ClickException(
            f"cannot load the model from {ctx.obj['project']}: {error}\n"
            f"Run `{run}` there first, or pass --project / --model."
        ) from None


def _fail_cleanly(function, *args, **kwargs):
    """Run a request; title and request errors become one-line CLI errors (exit code 1)."""
    from movielens_sbr.recommend import RecommendError
    from movielens_sbr.titles import TitleError

    try:
        return function(*args, **kwargs)
    except (TitleError, RecommendError) as error:
        raise click.ClickException(str(error)) from None


def _model_line(recommender) -> str:
    """Which model answered: registered version, aliases and its test figures."""
    info = recommender.model_info()
    if info["registered_model"] is None:
        return f"model version {info['kedro_version']} (latest saved; no champion registered)"
    aliases = f" @{', @'.join(info['aliases'])}" if info["aliases"] else ""
    tested = ", ".join(
        f"{name.removeprefix('test_')} {value:.4f}"
        for name, value in info.items()
        if name.startswith("test_")
    )
    return (
        f"model {info['registered_model']} version {info['version']}{aliases} "
        f"(Kedro version {info['kedro_version']}; test {tested})"
    )


def _print_table(table) -> None:
    shown = table.assign(
        genres=table["genres"].map("|".join),
        year=table["year"].astype("string").fillna(""),
        score=table["score"].map(lambda s: f"{s:.4f}"),
    )
    click.echo(shown.to_string(index=False))


@click.group(cls=_OneLineErrors)
@click.option(
    "--project",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    envvar="MOVIELENS_SBR_PROJECT",
    show_default=True,
    help="Kedro project folder (env MOVIELENS_SBR_PROJECT).",
)
@click.option("--env", default=None, help="Kedro configuration environment.")
@click.pass_context
def main(ctx: click.Context, project: Path, env: str | None) -> None:
    """Session-based recommendations (next movies, or next items for click data) from the
    trained models."""
    ctx.obj = {"project": project, "env": env}


@main.command()
@click.option(
    "--movie",
    "--item",
    "-m",
    "movies",
    multiple=True,
    help="A watched movie (or clicked item), id or title, in order (repeat).",
)
@click.option(
    "--user", type=_AsciiInt(minimum=1), default=None, help="Use this user's most recent session."
)
@n_option
@click.option(
    "--exclude-seen/--include-seen",
    default=None,
    help="Leave out the session's movies (items; with --user, all earlier ones too). "
    "Default: recommending.exclude_seen of the configuration.",
)
@MODEL_OPTION
@click.option("--method", type=click.Choice(methods.names()), default=None, help=METHOD_HELP)
@click.option("--genre", "genres", multiple=True, help=GENRE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def recommend(ctx, movies, user, n, exclude_seen, model, method, genres, as_json) -> None:
    """Top N next movies (items) after the session given by --movie or --user.

    Without any known movie, the most popular ones (within --genre) are returned and the
    output says so (cold start). Movies the model does not know are reported and ignored.
    """
    if movies and user is not None:
        raise click.UsageError("give --movie or --user, not both")
    movies = [_movie_query(m) for m in movies]
    recommender = _load(ctx, model, method)
    earlier: list[int] = []
    if exclude_seen is None:
        exclude_seen = recommender.exclude_seen
    if user is not None:
        movies, earlier = _fail_cleanly(recommender.user_session, user)
    result = _fail_cleanly(
        recommender.recommend,
        list(movies),
        n,
        exclude_seen=exclude_seen,
        method=method,
        genres=list(genres),
        exclude=earlier if exclude_seen else (),
    )
    if as_json:
        payload = result.to_dict(recommender.titles)
        payload["user"] = user
        payload["model"] = recommender.model_info()
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    who = f"user {user}, most recent session" if user is not None else "session"
    shown = [str(recommender.titles.get(i, i)) for i in result.session[-5:]]
    more = len(result.session) - len(shown)
    session = (f"... {more} earlier, then " if more else "") + " | ".join(shown)
    noun = recommender.item_noun
    click.echo(f"{who} ({len(result.session)} known {noun}s): {session or '-'}")
    if result.ignored:
        click.echo(f"ignored (not known to the model): {', '.join(map(str, result.ignored))}")
    if result.cold_start:
        within = f" within {', '.join(result.genres)}" if result.genres else ""
        click.echo(f"cold start: no known {noun}, so the most popular {noun}s{within}")
    click.echo(f"method {result.method}, {_model_line(recommender)}")
    _print_table(result.table)


@main.command()
@click.argument("movie")
@n_option
@click.option(
    "--method",
    type=click.Choice(methods.similarity_choices()),
    default=methods.EMBEDDING,
    show_default=True,
    help="embedding: cosine of the loaded model's learned item embeddings; or a method's "
    "item similarity (baselines fitted on the training sessions as in the evaluation): "
    + methods.help_text(similarity=True)
    + ".",
)
@MODEL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def similar(ctx, movie, n, method, model, as_json) -> None:
    """Movies (items) most similar to MOVIE (an id or a title)."""
    recommender = _load(ctx, model, None if method == methods.EMBEDDING else method)
    query = _movie_query(movie)
    result = _fail_cleanly(recommender.similar, query, n, method=method)
    if as_json:
        payload = result.to_dict(recommender.titles)
        payload["model"] = recommender.model_info()
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    click.echo(f"similar to {recommender.titles.get(result.session[0])} ({method}):")
    _print_table(result.table)
    click.echo(_model_line(recommender))


@main.command()
@click.argument("sessions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@n_option
@click.option(
    "--exclude-seen/--include-seen",
    default=None,
    help="Leave out each session's movies (items). Default: recommending.exclude_seen of the "
    "configuration.",
)
@MODEL_OPTION
@click.option("--method", type=click.Choice(methods.names()), default=None, help=METHOD_HELP)
@click.option("--genre", "genres", multiple=True, help=GENRE_HELP)
@click.pass_context
def batch(ctx, sessions, output, n, exclude_seen, model, method, genres) -> None:
    """Top N for every session of SESSIONS (Parquet: session_id, item[, timestamp]) to OUTPUT.

    OUTPUT (Parquet) has session_id, rank, item, title, score, cold_start, n_ignored.
    """

    from movielens_sbr.atomic_files import atomic_path

    if output.exists() and output.samefile(sessions):
        raise click.UsageError("OUTPUT is the SESSIONS file: choose another path for OUTPUT")
    frame = _read_sessions(sessions)
    recommender = _load(ctx, model, method)
    table = _fail_cleanly(
        recommender.recommend_sessions,
        frame,
        n,
        exclude_seen=exclude_seen,
        method=method,
        genres=list(genres),
    )
    # Written beside OUTPUT and renamed: a full disk or a kill leaves the old file intact.
    try:
        with atomic_path(output) as temporary:
            table.to_parquet(temporary, index=False)
    except OSError as error:
        raise click.ClickException(
            f"cannot write {output}: {error.strerror or error}; {output} is unchanged"
        ) from None
    n_sessions = table["session_id"].nunique()
    click.echo(
        f"{n_sessions} sessions, {len(table)} rows -> {output} "
        f"({int(table.groupby('session_id')['cold_start'].first().sum())} cold start); "
        f"{_model_line(recommender)}",
        err=False,
    )


def _read_sessions(path: Path):
    """The SESSIONS table with integer ``session_id`` and ``item``, or a one-line error.

    Ids stored as text ("2571") are converted; anything else (a title, NaN) is refused:
    treated as unknown movies, every session would silently become a cold start.
    """
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except Exception as error:
        raise click.ClickException(f"cannot read {path} as Parquet: {error}") from None
    missing = {"session_id", "item"} - set(frame.columns)
    if missing:
        raise click.ClickException(
            f"{path} lacks the column(s) {sorted(missing)} (has {list(frame.columns)})"
        )
    for column in ("session_id", "item"):
        values = frame[column]
        if values.isna().any():
            raise click.ClickException(
                f"{path}: {int(values.isna().sum())} row(s) have no {column}; fill or drop them"
            )
        if pd.api.types.is_integer_dtype(values):
            continue
        text = values.astype(str)
        numeric = text.map(_is_ascii_number)
        if not numeric.all():
            raise click.ClickException(
                f"{path}: {column} must hold whole numbers; row {int((~numeric).argmax())} "
                f"holds {values[~numeric].iloc[0]!r}"
            )
        frame[column] = text.str.strip().astype("int64")
    return frame


if __name__ == "__main__":
    sys.exit(main())
