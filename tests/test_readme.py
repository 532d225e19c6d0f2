"""Every command the README shows runs as written, on a tiny generated project; every
output block was generated from its commands by scripts/readme_outputs.py."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import make_project_copy, make_ratings_lines, write_archive

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_outputs", ROOT / "scripts/readme_outputs.py")
readme = importlib.util.module_from_spec(_spec)
sys.modules["readme_outputs"] = readme  # dataclasses look their module up there
_spec.loader.exec_module(readme)

TEXT = (ROOT / "README.md").read_text()

# The movies the README's examples name, with their MovieLens ids; the other items of the
# tiny archive get made-up titles.
README_MOVIES = {
    1: ("Toy Story (1995)", "Animation|Children's|Comedy"),
    6: ("Heat (1995)", "Action|Crime|Thriller"),
    260: ("Star Wars: Episode IV - A New Hope (1977)", "Action|Adventure|Fantasy|Sci-Fi"),
    589: ("Terminator 2: Judgment Day (1991)", "Action|Sci-Fi|Thriller"),
    1196: ("Star Wars: Episode V - The Empire Strikes Back (1980)", "Action|Sci-Fi|War"),
    1210: ("Star Wars: Episode VI - Return of the Jedi (1983)", "Action|Romance|Sci-Fi"),
    1240: ("Terminator, The (1984)", "Action|Sci-Fi|Thriller"),
    2571: ("Matrix, The (1999)", "Action|Sci-Fi|Thriller"),
    2628: ("Star Wars: Episode I - The Phantom Menace (1999)", "Action|Adventure|Sci-Fi"),
}

# Commands that are not run here (matched by substring), and what runs them instead.
NOT_RUN = {
    "kedro viz run": "a server: tests/test_viz.py starts it and checks every page",
    "kedro mlflow ui": "a server of MLflow's own; tests/test_serving.py serves the model",
    "kedro jupyter lab": "a server: the notebooks are executed by tests/notebooks",
    "--pipelines experiments": "tests/pipelines/experiments/test_experiments_pipeline.py "
    "runs it on a finished project",
    "--env ml-": "another release's download: tests/test_datasets_run.py runs `kedro run "
    "--env` on fixtures of every format",
    "--env yoochoose": "tests/test_datasets_run.py runs it on a fixture",
}
MAKE = (
    "installs the environment: CI runs `make test` itself, and `make run` is "
    "`make install` + `kedro run`, which runs here"
)


# A small model, so that every `kedro run` of the README takes seconds here.
TINY_LOCAL_PARAMETERS = """\
training: {epochs: 1, layers: [16], embedding_dim: 16, batch_size: 8}
sasrec: {epochs: 1, max_len: 10, hidden_size: 8, n_blocks: 1, batch_size: 16}
evaluation: {n_examples: 3, n_bootstrap: 20}
tuning:
  n_trials: 2
  epochs: 1
  search_space: {gru4rec: {layer_size: {choices: [16]}, batch_size: {choices: [8]}}}
"""


def not_run_reason(command: str) -> str | None:
    if readme.program(command) == "make":
        return MAKE
    return next((why for key, why in NOT_RUN.items() if key in command), None)


def expected_failure(command: str) -> bool:
    """A console example whose shown output is an error exits with code 1."""
    for block in readme.blocks(TEXT):
        for shown, output in zip(block.commands, block.outputs(), strict=False):
            if shown == command and output and output[0].startswith("Error:"):
                return True
    return False


def test_readme_lists_commands():
    commands = readme.all_commands(TEXT)
    assert any(c.startswith("kedro run") for c in commands)
    assert any(c.startswith("movielens-sbr recommend") for c in commands)


def test_every_output_block_was_generated_from_its_commands():
    lines = TEXT.splitlines()
    stale = []
    for block in readme.blocks(TEXT):
        if block.language != "console":
            continue
        marker = readme.marker_of(lines, block)
        if marker is None or marker.group(1) != readme.fingerprint(block.commands):
            stale.append(block.commands)
    assert not stale, (
        f"console blocks edited without regenerating their output: {stale}; run "
        "`python scripts/readme_outputs.py` after `kedro run` on the real archive"
    )


def test_generated_sections_are_filled():
    for name in ("results", "run"):
        section = TEXT.split(f"{readme.PREFIX}{name} -->")[1].split(
            f"<!-- end of generated {name}"
        )[0]
        assert section.strip(), f"README section {name!r} is empty: run scripts/readme_outputs.py"
    assert "| **gru4rec** |" in TEXT


def test_replace_section_keeps_the_rest():
    text = f"a\n{readme.PREFIX}run -->\nold\n<!-- end of generated run -->\nb\n"
    assert readme.replace_section(text, "run", ["new"]) == text.replace("old", "new")


def test_regenerate_replaces_outputs_and_keeps_the_rest():
    text = "intro\n```console\n$ echo hi\nold\n```\nend\n"
    once = readme.regenerate(text, lambda command: ([f"ran {command}"], ""))
    assert "$ echo hi\nran echo hi\n```" in once and "old" not in once
    assert once.startswith("intro\n<!-- generated by scripts/readme_outputs.py: commands ")
    assert readme.regenerate(once, lambda command: ([f"ran {command}"], "")) == once
    assert once.endswith("```\nend\n")


def _tiny_archive(path: Path) -> Path:
    ids = sorted(README_MOVIES) + [3000 + n for n in range(40 - len(README_MOVIES))]
    lines = []
    for line in make_ratings_lines(n_users=60, n_items=len(ids)):
        user, item, rating, stamp = line.split("::")
        lines.append(f"{user}::{ids[int(item) - 1]}::{rating}::{stamp}")
    movies = [
        f"{item}::{title}::{genres}"
        for item, (title, genres) in {
            **{i: (f"Film {i} (1990)", "Drama|Comedy") for i in ids},
            **README_MOVIES,
        }.items()
    ]
    return write_archive(path, lines, movies)


def _run(command: str, project: Path) -> tuple[int, str]:
    """Run one README command in the project; in-process for kedro and movielens-sbr."""
    words = shlex.split(command)
    env = {}
    while words and re.match(r"^[A-Z_]+=", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    if words[0] == "kedro":
        from kedro.framework.cli.cli import KedroCLI

        result = CliRunner().invoke(KedroCLI(project_path=project), words[1:], env=env)
        return result.exit_code, f"{result.output}\n{result.exception!r}"
    if words[0] == "movielens-sbr":
        from movielens_sbr.console import main

        result = CliRunner().invoke(main, words[1:], env=env)
        return result.exit_code, result.output
    done = subprocess.run(
        [sys.executable if words[0] == "python" else words[0], *words[1:]],
        check=False,
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow
def test_every_readme_command_runs_on_a_tiny_project(tmp_path: Path, monkeypatch):
    archive = _tiny_archive(tmp_path / "input" / "ml-1m.zip")
    project = make_project_copy(tmp_path / "project", archive, monkeypatch)
    (project / "conf" / "local").mkdir(exist_ok=True)
    (project / "conf" / "local" / "parameters.yml").write_text(TINY_LOCAL_PARAMETERS)

    ran, failed = [], []
    for command in readme.all_commands(TEXT):
        if not_run_reason(command):
            continue
        code, output = _run(command, project)
        ran.append(command)
        expected = 1 if expected_failure(command) else 0
        if code != expected:
            failed.append(f"{command!r} exited {code} (expected {expected}):\n{output[-2000:]}")
    assert not failed, "\n\n".join(failed)
    assert any(c.startswith("kedro run") for c in ran)
    assert any(c.startswith("movielens-sbr") for c in ran)


def test_no_deprecated_pipeline_option_anywhere_a_user_reads():
    """Kedro 1.7 deprecates `kedro run --pipeline`: README, docs, messages say --pipelines."""
    pattern = re.compile(r"kedro run[^\n`\"]*--pipeline(?![s\w-])")
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("notebooks/*.ipynb")]
    files += [*ROOT.glob("src/**/*.py"), *ROOT.glob("conf/**/*.yml")]
    found = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in files
        for m in pattern.finditer(p.read_text())
    ]
    assert not found, found
