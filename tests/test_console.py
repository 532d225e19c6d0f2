"""The ``movielens-sbr`` console script on a small project trained once for this module."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from kedro.framework.session import KedroSession

from conftest import TINY_SASREC, make_project_copy, write_archive, write_dataset
from movielens_sbr import methods
from movielens_sbr.console import main
from movielens_sbr.recommend import Recommender

TINY = {
    "training": {"epochs": 1, "layers": [16], "embedding_dim": 16, "batch_size": 8},
    "sasrec": TINY_SASREC,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A throw-away project where Kedro has trained a model for one epoch (no evaluation)."""
    root = tmp_path_factory.mktemp("cli")
    archive = write_archive(root / "input" / "ml-1m.zip")
    with pytest.MonkeyPatch.context() as monkeypatch:  # cwd and env restored afterwards
        path = make_project_copy(root / "project", archive, monkeypatch)
        with KedroSession.create(project_path=path, runtime_params=TINY) as session:
            session.run(
                pipeline_names=["ingestion", "sessions", "training", "sasrec", "recommending"]
            )
    return path


@pytest.fixture(scope="module")
def api(project) -> Recommender:
    return Recommender.load(project)


def invoke(project: Path, *args: str):
    return CliRunner().invoke(main, ["--project", str(project), *args])


def latest(folder: Path) -> Path:
    return sorted(folder.iterdir())[-1] / folder.name


def test_recommend_json_shape_and_same_list_as_the_api(project, api):
    result = invoke(
        project, "recommend", "--movie", "3", "--movie", "the matrix", "-n", "5", "--json"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) >= {
        "method",
        "model_version",
        "session",
        "ignored",
        "cold_start",
        "genres",
        "recommendations",
    }
    assert payload["method"] == "gru4rec" and payload["cold_start"] is False
    assert [s["item"] for s in payload["session"]] == [3, 2]
    assert payload["session"][1]["title"] == "Matrix, The (1999)"
    rows = payload["recommendations"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert set(rows[0]) == {"rank", "item", "title", "year", "genres", "score"}
    assert [r["item"] for r in rows] == api.recommend([3, 2], n=5).items
    assert not {2, 3} & {r["item"] for r in rows}  # seen movies left out by default
    assert payload["model_version"] == api.model_version


def test_cli_lists_the_evaluators_ranking_of_test_sessions(project, api):
    """The command's top 5 after a test-session prefix is the evaluation code's ranking
    (``evaluate`` with the Keras model's scorer, seen items excluded) for that prefix."""
    from movielens_sbr.data.session_arrays import SessionArrays
    from movielens_sbr.model.gru4rec import GRU4RecScorer
    from test_recommend import evaluator_rankings

    frame = pd.read_parquet(latest(project / "data/05_model_input/test_sessions.parquet"))
    test = SessionArrays.from_frame(frame)
    rankings, _ = evaluator_rankings(GRU4RecScorer(api.model), test, api.n_items)
    cases = sorted(rankings, key=lambda key: -key[1])[:2] + sorted(rankings)[:1]
    for session, position in cases:  # the longest prefixes and a short one
        start = test.offsets[session]
        prefix = api.item_of_idx[test.items[start : start + position]].tolist()
        movies = [arg for item in prefix for arg in ("-m", str(item))]
        result = invoke(project, "recommend", *movies, "-n", "5", "--json")
        assert result.exit_code == 0, result.output
        expected = np.argsort(-rankings[session, position], kind="stable")[:5]
        got = [r["item"] for r in json.loads(result.stdout)["recommendations"]]
        assert got == api.item_of_idx[expected].tolist(), (session, position)


def test_recommend_table_shows_titles_and_scores(project, api):
    result = invoke(project, "recommend", "-m", "Amelie", "-m", "Movie 7", "-n", "3")
    assert result.exit_code == 0, result.output
    top = api.recommend(["Amelie", "Movie 7"], n=3).table
    for title in top["title"]:
        assert title in result.output
    assert "Amélie (2001) | Movie 7" in result.output


def test_include_seen_and_baseline_method(project, api):
    result = invoke(
        project, "recommend", "-m", "3", "-m", "4", "--include-seen", "--method", "markov", "--json"
    )
    assert result.exit_code == 0, result.output
    items = [r["item"] for r in json.loads(result.stdout)["recommendations"]]
    assert items == api.recommend([3, 4], exclude_seen=False, method="markov").items


def test_user_takes_the_most_recent_session_and_leaves_out_earlier_movies(project, api):
    events = pd.read_parquet(latest(project / "data/03_primary/session_events.parquet"))
    user = int(events["user"].value_counts().index[0])  # a user with several sessions
    session, earlier = api.user_session(user)
    result = invoke(project, "recommend", "--user", str(user), "-n", "5", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["user"] == user
    known = [i for i in session if i in api.idx_of_item.index]
    assert [s["item"] for s in payload["session"]] == known
    recommended = {r["item"] for r in payload["recommendations"]}
    assert not recommended & (set(session) | set(earlier))


def test_cold_start_is_said_in_table_and_json(project):
    table = invoke(project, "recommend", "--movie", "987654", "--genre", "Comedy")
    assert table.exit_code == 0, table.output
    assert "cold start" in table.output and "987654" in table.output
    payload = json.loads(
        invoke(project, "recommend", "--genre", "comedy", "--json", "-n", "4").stdout
    )
    assert payload["cold_start"] is True and payload["method"] == "popular"
    assert payload["genres"] == ["Comedy"]
    assert all("Comedy" in r["genres"] for r in payload["recommendations"])


def test_ambiguous_and_unknown_titles_fail_with_candidates(project):
    ambiguous = invoke(project, "recommend", "--movie", "Movie")
    assert ambiguous.exit_code == 1
    assert "closest candidates" in ambiguous.output and "Movie 10 (1960)" in ambiguous.output
    unknown = invoke(project, "similar", "Matrx Reloaded")
    assert unknown.exit_code == 1 and "Matrix, The (1999)" in unknown.output


def test_similar_every_method(project, api):
    for method in ("embedding", "iknn", "als"):
        result = invoke(project, "similar", "Matrix", "-n", "4", "--method", method, "--json")
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert [r["item"] for r in payload["recommendations"]] == api.similar(
            2, n=4, method=method
        ).items
        assert 2 not in [r["item"] for r in payload["recommendations"]]
        assert payload["method"] == method and payload["session"] == [
            {"item": 2, "title": "Matrix, The (1999)"}
        ]
        assert [set(r) for r in payload["recommendations"]] == [
            {"rank", "item", "title", "year", "genres", "score"}
        ] * 4
        assert [r["rank"] for r in payload["recommendations"]] == [1, 2, 3, 4]
    table = invoke(project, "similar", "the matrix", "-n", "3", "--method", "als")
    assert table.exit_code == 0, table.output
    assert table.output.startswith("similar to Matrix, The (1999) (als):")
    for item in api.similar(2, n=3, method="als").items:
        assert api.titles[item] in table.output


def test_every_trained_method_recommends_and_finds_similar_movies_with_its_own_model(project):
    for method in methods.names(trained=True):
        own = Recommender.load(project, method=method)
        assert own.model_method == method
        # The method it was loaded for answers without being named again.
        assert own.recommend([1, 2], n=5).method == method
        assert own.recommend([1, 2], n=5).items == own.recommend([1, 2], n=5, method=method).items
        result = invoke(
            project,
            "recommend",
            "--movie",
            "1",
            "--movie",
            "2",
            "-n",
            "5",
            "--method",
            method,
            "--json",
        )
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert payload["method"] == method
        assert [r["item"] for r in payload["recommendations"]] == own.recommend(
            [1, 2], n=5, method=method
        ).items
        similar = invoke(project, "similar", "2", "-n", "4", "--method", method, "--json")
        assert similar.exit_code == 0, similar.output
        items = [r["item"] for r in json.loads(similar.stdout)["recommendations"]]
        assert items == own.similar(2, n=4, method=method).items
        assert items == own.similar(2, n=4).items  # its embedding is the loaded model's


def test_load_reads_the_weights_of_the_version_kedro_resolves(project):
    from movielens_sbr.kedro_project import project_catalog

    fresh = Recommender.load(project)
    catalog, _ = project_catalog(project, None)
    assert fresh.model_version == catalog.get("gru4rec_model").resolve_load_version()
    assert fresh._model is None  # weights read from the file; no Keras model built
    keras_model = fresh.model  # loaded on demand, the same version
    assert keras_model.get_layer("scores").get_weights()[0].shape[1] == fresh.n_items
    np.testing.assert_array_equal(
        fresh.item_vectors(), keras_model.get_layer("item_embedding").get_weights()[0]
    )


@pytest.mark.parametrize("method", methods.names(trained=True))
def test_recommend_command_does_not_import_tensorflow(project, method):
    """Cold start: Kedro's session, the catalog and the answer of every trained method
    (its numpy inference from the .keras file) without TensorFlow."""
    code = (
        "import sys\n"
        "from movielens_sbr.console import main\n"
        f"main(['--project', {str(project)!r}, 'recommend', '-m', '3', '--method', {method!r},"
        " '--json'], standalone_mode=False)\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib.pyplot', 'optuna')"
        " if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=project
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    expected = Recommender.load(project, method=method).recommend([3], method=method).items
    assert [r["item"] for r in answer["recommendations"]] == expected
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_model_version_option(project, api):
    version = api.model_version
    same = invoke(project, "recommend", "-m", "3", "--model", version, "--json")
    assert json.loads(same.stdout)["model_version"] == version
    missing = invoke(project, "recommend", "-m", "3", "--model", "1999-01-01T00.00.00.000Z")
    assert missing.exit_code == 1 and "cannot load the model" in missing.output


def test_missing_model_names_the_run_of_the_chosen_environment(project):
    # ml-20m writes to data/ml-20m/, where this project has run nothing.
    other = CliRunner().invoke(
        main, ["--project", str(project), "--env", "ml-20m", "recommend", "-m", "3"]
    )
    assert other.exit_code == 1
    assert "Run `kedro run --env ml-20m` there first" in other.output


def test_batch_writes_top_n_per_session_like_the_api(project, api, tmp_path):
    test = pd.read_parquet(latest(project / "data/05_model_input/test_sessions.parquet"))
    sessions = test[["session_id", "item", "timestamp"]]
    sessions.to_parquet(tmp_path / "in.parquet")
    result = invoke(
        project, "batch", str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"), "-n", "3"
    )
    assert result.exit_code == 0, result.output
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == [
        "session_id",
        "rank",
        "item",
        "title",
        "score",
        "cold_start",
        "n_ignored",
    ]
    assert out["session_id"].nunique() == test["session_id"].nunique()
    first = test[test["session_id"] == test["session_id"].min()]
    assert out[out["session_id"] == first["session_id"].iloc[0]]["item"].tolist() == (
        api.recommend(first["item"].tolist(), n=3).items
    )


def test_kedro_pipeline_wrote_versioned_recommendations(project, api):
    written = pd.read_parquet(
        latest(project / "data/07_model_output/session_recommendations.parquet")
    )
    test = pd.read_parquet(latest(project / "data/05_model_input/test_sessions.parquet"))
    pd.testing.assert_frame_equal(
        written.reset_index(drop=True),
        api.recommend_sessions(test[["session_id", "item"]]),
        check_dtype=False,
    )


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("recommend", "similar", "batch"):
        assert command in result.output


def _batch_input(project: Path, path: Path) -> Path:
    test = pd.read_parquet(latest(project / "data/05_model_input/test_sessions.parquet"))
    test[["session_id", "item"]].to_parquet(path)
    return path


def test_batch_refuses_to_overwrite_its_input(project, tmp_path):
    sessions = _batch_input(project, tmp_path / "in.parquet")
    before = sessions.read_bytes()
    (tmp_path / "link.parquet").symlink_to(sessions)
    for output in (sessions, tmp_path / "link.parquet"):
        result = invoke(project, "batch", str(sessions), str(output))
        assert result.exit_code == 2 and "OUTPUT is the SESSIONS file" in result.output
    assert sessions.read_bytes() == before


def test_batch_failing_write_leaves_the_previous_output_intact(project, tmp_path, monkeypatch):
    sessions = _batch_input(project, tmp_path / "in.parquet")
    output = tmp_path / "out.parquet"
    assert invoke(project, "batch", str(sessions), str(output), "-n", "2").exit_code == 0
    good = output.read_bytes()

    def disk_full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"\0" * 4096)  # half-written, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    result = invoke(project, "batch", str(sessions), str(output), "-n", "3")
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot write") and "No space left" in result.output
    assert output.read_bytes() == good  # the earlier good output, still readable
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def _one_error_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    return errors[0]


@pytest.mark.parametrize("bad_n", ["-3", "0", "\u0663", "2.5"])  # "\u0663": Arabic-Indic 3
def test_every_command_validates_n_the_same_way(project, tmp_path, bad_n):
    sessions = _batch_input(project, tmp_path / "in.parquet")
    for args in (
        ["recommend", "-m", "3"],
        ["similar", "3"],
        ["batch", str(sessions), str(tmp_path / "out.parquet")],
    ):
        line = _one_error_line(invoke(project, *args, "-n", bad_n), 2)
        assert "'-n'" in line
    assert not (tmp_path / "out.parquet").exists()


def test_ids_are_ascii_digits_only(project, api):
    # "\u0663" (Arabic-Indic 3) and "\u00b3" (superscript 3) are titles to match (none is
    # named so here), never id 3, and never a crash.
    for movie in ("\u0663", "\u00b3"):
        line = _one_error_line(invoke(project, "recommend", "--movie", movie), 1)
        assert f"no movie matches {movie!r}" in line
        line = _one_error_line(invoke(project, "similar", movie), 1)
        assert f"no movie matches {movie!r}" in line
    assert api.resolve(["3", 3]) == ([3, 3], [])
    _one_error_line(invoke(project, "recommend", "--user", "\u0661"), 2)


def test_batch_converts_ids_stored_as_text_and_refuses_what_is_not_an_id(project, tmp_path):
    sessions = _batch_input(project, tmp_path / "in.parquet")
    frame = pd.read_parquet(sessions)
    as_ints = invoke(project, "batch", str(sessions), str(tmp_path / "ints.parquet"), "-n", "3")
    assert as_ints.exit_code == 0, as_ints.output
    frame.astype(str).to_parquet(tmp_path / "text.parquet")
    as_text = invoke(
        project, "batch", str(tmp_path / "text.parquet"), str(tmp_path / "out.parquet"), "-n", "3"
    )
    assert as_text.exit_code == 0, as_text.output
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out.parquet"), pd.read_parquet(tmp_path / "ints.parquet")
    )
    assert "0 cold start" not in as_ints.output or "0 cold start" in as_text.output

    frame.astype({"item": str}).assign(item="Toy Story").to_parquet(tmp_path / "titles.parquet")
    line = _one_error_line(
        invoke(project, "batch", str(tmp_path / "titles.parquet"), str(tmp_path / "x.parquet")), 1
    )
    assert "item must hold whole numbers" in line and "'Toy Story'" in line
    with_nan = frame.astype({"session_id": float})
    with_nan.loc[0, "session_id"] = np.nan
    with_nan.to_parquet(tmp_path / "nan.parquet")
    line = _one_error_line(
        invoke(project, "batch", str(tmp_path / "nan.parquet"), str(tmp_path / "x.parquet")), 1
    )
    assert "1 row(s) have no session_id" in line
    assert not (tmp_path / "x.parquet").exists()


def test_unreadable_input_and_unwritable_output_are_one_error_line(project, tmp_path):
    sessions = _batch_input(project, tmp_path / "in.parquet")
    (tmp_path / "empty.parquet").write_bytes(b"")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    for bad in ("empty.parquet", "broken.parquet"):
        line = _one_error_line(
            invoke(project, "batch", str(tmp_path / bad), str(tmp_path / "out.parquet")), 1
        )
        assert "cannot read" in line
    (tmp_path / "locked").mkdir(mode=0o500)
    result = invoke(project, "batch", str(sessions), str(tmp_path / "locked" / "out.parquet"))
    if result.exit_code == 0:  # running as root: permissions do not apply
        return
    assert "cannot write" in _one_error_line(result, 1)


def test_model_accepts_only_a_saved_version_name(project):
    for version in ("../../../../evil", "..", "2099-01-01T00.00.00.000Z"):
        line = _one_error_line(invoke(project, "recommend", "-m", "3", "--model", version), 1)
        # Refused as an unknown Kedro version or registry alias; never read from disk.
        assert "is not saved; complete versions" in line or "no alias" in line


@pytest.fixture(scope="module")
def clicks_project(tmp_path_factory) -> Path:
    """A throw-away project trained under ``--env yoochoose`` on a tiny clicks file."""
    root = tmp_path_factory.mktemp("clicks")
    source = write_dataset(root / "input" / "yoochoose-data", "yoochoose")
    params = {
        **TINY,
        "training": {**TINY["training"], "n_sample": 16},  # 40 items, not 2,048 negatives
    }
    with pytest.MonkeyPatch.context() as monkeypatch:
        path = make_project_copy(root / "project", source, monkeypatch)
        with KedroSession.create(project_path=path, env="yoochoose", runtime_params=params) as s:
            s.run(pipeline_names=["ingestion", "sessions", "training"])
    return path


def test_clicks_are_items_not_movies_in_the_output(clicks_project, project):
    def run(*args: str) -> str:
        result = CliRunner().invoke(
            main, ["--project", str(clicks_project), "--env", "yoochoose", *args]
        )
        assert result.exit_code in (0, 1), result.output
        return result.output

    test = pd.read_parquet(
        latest(clicks_project / "data/yoochoose/05_model_input/test_sessions.parquet")
    )
    item = str(int(test["item"].iloc[0]))
    warm = run("recommend", "--item", item, "-n", "3")
    assert "(1 known items): item " in warm
    cold = run("recommend", "--item", "987654", "-n", "3")
    assert "cold start: no known item, so the most popular items" in cold
    unknown = run("similar", "no such thing")
    assert "no item matches 'no such thing'" in unknown
    for output in (warm, cold, unknown):
        assert not re.search(r"\bmovies?\b", output), output
    # The same lines for MovieLens still say movies.
    movies = invoke(project, "recommend", "--movie", "987654", "-n", "3").output
    assert "(0 known movies)" in movies and "no known movie, so the most popular movies" in movies


def test_help_imports_neither_pandas_nor_tensorflow():
    code = (
        "import sys\n"
        "from movielens_sbr.console import main\n"
        "main(['recommend', '--help'], standalone_mode=False)\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'pandas', 'kedro') if m in sys.modules),"
        " file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "--item" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]"
