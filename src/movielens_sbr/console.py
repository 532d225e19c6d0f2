"""``movielens-sbr``: next movies for a session or a user, similar movies, batch scoring.

(Not ``cli.py``: Kedro reserves ``<package>/cli.py`` for project commands of ``kedro``.)

Run inside the Kedro project after ``kedro run`` (or pass ``--project PATH``). Kedro and
TensorFlow are imported only when a command runs, so ``--help`` is instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

METHOD_HELP = (
    "gru4rec (default), sasrec or a baseline: pop, markov, spop, sr, iknn, sknn, vsknn, als"
)


def _load(ctx: click.Context, model: str | None):
    from movielens_sbr.recommend import Recommender, RecommendError

    try:
        return Recommender.load(ctx.obj["project"], model_version=model, env=ctx.obj["env"])
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


def _print_table(table) -> None:
    shown = table.assign(
        genres=table["genres"].map("|".join),
        year=table["year"].astype("string").fillna(""),
        score=table["score"].map(lambda s: f"{s:.4f}"),
    )
    click.echo(shown.to_string(index=False))


@click.group()
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
    """Session-based movie recommendations from the trained GRU4Rec model."""
    ctx.obj = {"project": project, "env": env}


@main.command()
@click.option(
    "--movie",
    "-m",
    "movies",
    multiple=True,
    help="A watched movie, id or title, in watch order (repeat).",
)
@click.option("--user", type=int, default=None, help="Use this user's most recent session.")
@click.option("-n", "n", type=int, default=10, show_default=True, help="How many movies.")
@click.option(
    "--exclude-seen/--include-seen",
    default=True,
    show_default=True,
    help="Leave out movies already watched (the session; with --user, all earlier ones).",
)
@click.option("--model", default=None, help="Model version (default: the latest).")
@click.option("--method", default="gru4rec", show_default=True, help=METHOD_HELP)
@click.option("--genre", "genres", multiple=True, help="Only movies of this genre (repeat).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def recommend(ctx, movies, user, n, exclude_seen, model, method, genres, as_json) -> None:
    """Top N next movies after the session given by --movie or --user.

    Without any known movie, the most popular ones (within --genre) are returned and the
    output says so (cold start). Movies the model does not know are reported and ignored.
    """
    if movies and user is not None:
        raise click.UsageError("give --movie or --user, not both")
    movies = [int(m) if m.strip().isdigit() else m for m in movies]
    recommender = _load(ctx, model)
    earlier: list[int] = []
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
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    who = f"user {user}, most recent session" if user is not None else "session"
    shown = [str(recommender.titles.get(i, i)) for i in result.session[-5:]]
    more = len(result.session) - len(shown)
    session = (f"... {more} earlier, then " if more else "") + " | ".join(shown)
    click.echo(f"{who} ({len(result.session)} known movies): {session or '-'}")
    if result.ignored:
        click.echo(f"ignored (not known to the model): {', '.join(map(str, result.ignored))}")
    if result.cold_start:
        within = f" within {', '.join(result.genres)}" if result.genres else ""
        click.echo(f"cold start: no known movie, so the most popular movies{within}")
    click.echo(f"method {result.method}, model version {result.model_version}")
    _print_table(result.table)


@main.command()
@click.argument("movie")
@click.option("-n", "n", type=int, default=10, show_default=True)
@click.option(
    "--method",
    type=click.Choice(["embedding", "iknn", "als", "sasrec"]),
    default="embedding",
    show_default=True,
    help="embedding: cosine of GRU4Rec's learned item embeddings; iknn: co-occurrence in the "
    "training sessions; als: cosine of the ALS item factors (fitted on the training sessions "
    "as in the evaluation); sasrec: cosine of SASRec's item embedding.",
)
@click.option("--model", default=None, help="Model version (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def similar(ctx, movie, n, method, model, as_json) -> None:
    """Movies most similar to MOVIE (an id or a title)."""
    recommender = _load(ctx, model)
    query = int(movie) if movie.strip().isdigit() else movie
    result = _fail_cleanly(recommender.similar, query, n, method=method)
    if as_json:
        payload = result.to_dict(recommender.titles)
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    click.echo(f"similar to {recommender.titles.get(result.session[0])} ({method}):")
    _print_table(result.table)


@main.command()
@click.argument("sessions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-n", "n", type=int, default=10, show_default=True)
@click.option("--exclude-seen/--include-seen", default=True, show_default=True)
@click.option("--model", default=None, help="Model version (default: the latest).")
@click.option("--method", default="gru4rec", show_default=True, help=METHOD_HELP)
@click.option("--genre", "genres", multiple=True, help="Only movies of this genre (repeat).")
@click.pass_context
def batch(ctx, sessions, output, n, exclude_seen, model, method, genres) -> None:
    """Top N for every session of SESSIONS (Parquet: session_id, item[, timestamp]) to OUTPUT.

    OUTPUT (Parquet) has session_id, rank, item, title, score, cold_start, n_ignored.
    """
    import pandas as pd

    recommender = _load(ctx, model)
    frame = pd.read_parquet(sessions)
    table = _fail_cleanly(
        recommender.recommend_sessions,
        frame,
        n,
        exclude_seen=exclude_seen,
        method=method,
        genres=list(genres),
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(output, index=False)
    n_sessions = table["session_id"].nunique()
    click.echo(
        f"{n_sessions} sessions, {len(table)} rows -> {output} "
        f"({int(table.groupby('session_id')['cold_start'].first().sum())} cold start)",
        err=False,
    )


if __name__ == "__main__":
    sys.exit(main())
