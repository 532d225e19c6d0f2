"""Two workers on 127.0.0.1 run the same `kedro run --pipelines training` under
``training.distribute: multi_worker`` (MultiWorkerMirroredStrategy, TF_CONFIG)."""

from __future__ import annotations

import contextlib
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
import mlflow
import pytest
from kedro.framework.session import KedroSession

from conftest import make_project_copy, write_archive
from movielens_sbr.model.checkpoints import weights_digest

PARAMS = (
    "training.distribute=multi_worker,training.epochs=2,training.layers=[16],"
    "training.embedding_dim=16,training.batch_size=8"
)
COMMAND = [sys.executable, "-m", "kedro", "run", "--pipelines", "training", "--params", PARAMS]
# A guard against a hang (a failing worker ends the test at once): the two runs took 71-112 s
# on the 2 cores with other jobs at load averages of 13-28 (mostly imports).
TIMEOUT_SECONDS = 360


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


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(process: subprocess.Popen) -> None:
    """End the worker's whole process group, its leader exited or not: TERM, then KILL
    what is left after 10 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            process.poll()  # reaps the leader, so that it does not keep the group alive
            if not group_alive(process.pid):
                return
            time.sleep(0.1)
    process.wait()


def start_workers(project: Path, logs: list[Path]) -> list[subprocess.Popen]:
    """One `kedro run` per log, each its own process group, with the same cluster."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(len(logs))]}
    workers = []
    for index, log in enumerate(logs):
        task = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        environment = {**os.environ, "TF_CONFIG": json.dumps(task), "COLUMNS": "300"}
        with open(log, "w") as handle:  # the child keeps its own copy of the descriptor
            workers.append(
                subprocess.Popen(
                    COMMAND,
                    cwd=project,
                    env=environment,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stop() ends all of it
                )
            )
    return workers


def outputs(logs: list[Path], characters: int = 4000) -> str:
    """The end of every worker's output (stdout and stderr), for a failure message."""
    return "\n".join(
        f"--- worker {index} ({log}):\n{log.read_text(errors='replace')[-characters:]}"
        for index, log in enumerate(logs)
    )


def wait_for_all(workers: list[subprocess.Popen], logs: list[Path]) -> None:
    """Until every worker has exited 0; fails at once when one fails (the others would
    wait for it in their collective operations) or when the time is up."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while any(worker.poll() is None for worker in workers):
        failed = [i for i, worker in enumerate(workers) if worker.poll() not in (None, 0)]
        if failed:
            pytest.fail(f"worker(s) {failed} failed:\n{outputs(logs)}")
        if time.monotonic() > deadline:
            pytest.fail(f"workers still running after {TIMEOUT_SECONDS} s:\n{outputs(logs)}")
        time.sleep(0.5)
    codes = [worker.returncode for worker in workers]
    assert codes == [0] * len(workers), f"exit codes {codes}:\n{outputs(logs)}"


def versions(path: Path) -> list[Path]:
    return sorted(path.iterdir()) if path.exists() else []


def mlflow_runs(project: Path) -> dict[str, list[str]]:
    """Run name -> statuses of the project's MLflow runs."""
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    runs: dict[str, list[str]] = {}
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id]):
            runs.setdefault(run.info.run_name, []).append(run.info.status)
    return runs


@pytest.mark.slow
def test_two_workers_train_the_same_model_and_only_the_chief_saves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    archive = write_archive(tmp_path / "input" / "ml-1m.zip")
    project = make_project_copy(tmp_path / "project", archive, monkeypatch)
    for pipeline in ("ingestion", "sessions"):
        with KedroSession.create(project_path=project) as session:
            session.run(pipeline_names=[pipeline])
    manifests_before = versions(project / "data/08_reporting/run_manifest.json")

    logs = [tmp_path / f"worker_{index}.log" for index in range(2)]
    workers: list[subprocess.Popen] = []
    started = time.monotonic()
    try:
        workers = start_workers(project, logs)
        wait_for_all(workers, logs)
    finally:
        for worker in workers:
            stop(worker)
    print(f"both workers finished in {time.monotonic() - started:.0f} s")  # shown with -rP

    texts = [log.read_text() for log in logs]
    assert "Worker worker 0 of 2 (chief" in texts[0], outputs(logs)
    assert "Worker worker 1 of 2 (saves nothing)" in texts[1], outputs(logs)
    assert "Not the chief worker: this run saves nothing" in texts[1]
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
    # One run manifest more, the chief's, of the same run as the model.
    manifests = versions(data / "08_reporting/run_manifest.json")
    assert [m.name for m in manifests if m not in manifests_before] == [models[0].name]
    # One MLflow run of the training, the chief's, finished; the other worker tracked nothing.
    runs = mlflow_runs(project)
    assert runs.get("training") == ["FINISHED"], runs


WORKER_1 = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker"}}


@pytest.mark.parametrize("index", [0, 1])
def test_only_the_chief_saves_and_tracks_and_every_worker_reads_complete_runs(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The hooks a non-chief worker runs through (without TensorFlow): its outputs go to
    memory, it saves no run manifest and opens no MLflow store, and it still reads the
    versions of complete runs, which the manifest marks."""
    from kedro.io import DataCatalog, MemoryDataset, Version
    from kedro.pipeline import Pipeline, node
    from kedro_datasets.json import JSONDataset

    from movielens_sbr.hooks import ChiefSavesHook, KedroMlflowHook, RunManifestHook
    from movielens_sbr.run_commit import read_complete_runs_only

    def versioned(name: str, save: str | None = None) -> JSONDataset:
        return JSONDataset(filepath=str(tmp_path / f"{name}.json"), version=Version(None, save))

    versioned("item_index", "2026-01-01T00.00.00.000Z").save({"complete": True})
    versioned("run_manifest", "2026-01-01T00.00.00.000Z").save({})
    versioned("item_index", "2026-01-02T00.00.00.000Z").save({"complete": False})  # no manifest
    params = {"training": {"distribute": "multi_worker"}}
    catalog = DataCatalog(
        {
            "parameters": MemoryDataset(params),
            "item_index": versioned("item_index"),
            "model": versioned("model", "2026-01-03T00.00.00.000Z"),
            "run_manifest": versioned("run_manifest", "2026-01-03T00.00.00.000Z"),
        }
    )
    read_complete_runs_only(catalog)
    pipeline = Pipeline([node(lambda index: index, "item_index", "model", name="train")])
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({**WORKER_1, "task": {"type": "worker", "index": index}})
    )

    ChiefSavesHook().before_pipeline_run(pipeline, catalog)
    assert catalog.load("item_index") == {"complete": True}  # a complete run's version
    catalog.save("model", {"trained": True})
    RunManifestHook().after_pipeline_run(
        {"run_id": "r", "pipeline_names": ["training"], "project_path": str(tmp_path)},
        pipeline,
        catalog,
    )
    saved = sorted(path.name for path in (tmp_path / "model.json").glob("*"))
    manifests = sorted(path.name for path in (tmp_path / "run_manifest.json").glob("*"))
    if index == 0:  # the chief
        assert saved == ["2026-01-03T00.00.00.000Z"]
        assert manifests == ["2026-01-01T00.00.00.000Z", "2026-01-03T00.00.00.000Z"]
    else:
        assert saved == [] and manifests == ["2026-01-01T00.00.00.000Z"]
        assert isinstance(catalog.get("model"), MemoryDataset)

        class Context:
            def __init__(self):
                self.params = params

            @property
            def config_loader(self):
                raise AssertionError("a non-chief worker reads no MLflow configuration")

        tracking = KedroMlflowHook()
        tracking.after_context_created(Context())
        tracking.before_pipeline_run({}, pipeline, catalog)
        tracking.before_node_run(None, catalog, {}, False)
        tracking.after_pipeline_run({}, pipeline, catalog)
        assert tracking._off and tracking._hook is None  # kedro-mlflow never set up


def test_without_tf_config_a_process_is_no_worker(monkeypatch: pytest.MonkeyPatch):
    """``training.distribute: multi_worker`` in the configuration does not stop the sessions
    that do not train (the recommender, other pipelines) where TF_CONFIG is not set:
    nothing is redirected; training itself stops with the line saying what to set."""
    from kedro.io import DataCatalog, MemoryDataset
    from kedro.pipeline import Pipeline, node

    from movielens_sbr.hooks import ChiefSavesHook

    monkeypatch.delenv("TF_CONFIG", raising=False)
    model = MemoryDataset()
    catalog = DataCatalog(
        {"parameters": MemoryDataset({"training": {"distribute": "multi_worker"}}), "m": model}
    )
    ChiefSavesHook().before_pipeline_run(Pipeline([node(lambda: 1, None, "m")]), catalog)
    assert catalog.get("m") is model
