"""The champion served by `mlflow models serve` answers like `movielens-sbr recommend --json`.

The server runs on 127.0.0.1 in its own process group and is always stopped with the whole
group, also when the test fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from movielens_sbr.console import main
from movielens_sbr.model_registry import registered_name
from test_viz import free_port, stop_process_group

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post_json(url: str, payload: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    with _OPENER.open(request, timeout=60) as response:
        return json.loads(response.read())


def wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped:\n{log.read_text()[-3000:]}")
        try:
            with _OPENER.open(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
    raise TimeoutError(f"no answer from {url} after {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_served_champion_answers_like_the_cli(finished_project: Path, monkeypatch):
    monkeypatch.chdir(finished_project)
    session = ["1", "2", "Movie 3 (1953)"]
    cli = CliRunner().invoke(
        main,
        ["--project", str(finished_project), "recommend", "--json", "-n", "5"]
        + [arg for movie in session for arg in ("-m", movie)],
    )
    assert cli.exit_code == 0, cli.output
    expected = json.loads(cli.stdout)
    assert len(expected["recommendations"]) == 5
    assert expected["model"]["aliases"] == ["champion"]

    port = free_port()
    log = finished_project / "mlflow-serve.log"
    model_uri = f"models:/{registered_name('ml-1m', 'gru4rec')}@champion"
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri]
    command += ["--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)]
    env = {
        **os.environ,
        # mlflow starts `uvicorn` from PATH: the one of this environment.
        "PATH": os.pathsep.join((str(Path(sys.executable).parent), os.environ["PATH"])),
        "MLFLOW_TRACKING_URI": f"sqlite:///{finished_project / 'mlflow.db'}",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    with log.open("wb") as out:
        server = subprocess.Popen(
            command,
            cwd=finished_project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ping", server, log)
        answer = post_json(
            f"http://127.0.0.1:{port}/invocations",
            {"dataframe_records": [{"session": session, "n": 5}]},
        )
    finally:
        stop_process_group(server)
    served = answer["predictions"][0]
    assert served["recommendations"] == expected["recommendations"]
    assert served["session"] == expected["session"]
