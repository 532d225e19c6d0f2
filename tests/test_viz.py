"""kedro-viz for real: `kedro viz run` on a finished project copy, its API, and the page.

The server runs in its own process group and is always stopped with the whole group, also
when a test fails. The browser check needs Debian's `chromium` (`.ci/run` installs it); only
that test skips, with the reason, when it is absent.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from kedro.pipeline import Pipeline

from movielens_sbr.pipeline_registry import register_pipelines

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Root in containers needs --no-sandbox; the virtual time budget lets the page finish its
# requests and layout before the DOM or the screenshot is taken.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")
CHROMIUM_FLAGS += ("--hide-scrollbars", "--virtual-time-budget=15000")
VIZ_RUN = (sys.executable, "-m", "kedro", "viz", "run")
LAYERS = ["raw", "intermediate", "primary", "model_input", "models", "model_output", "reporting"]
# No proxy at all for our own requests to 127.0.0.1.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A free port below 49152 (kedro-viz refuses the ephemeral range)."""
    for port in random.Random().sample(range(20_000, 49_000), 50):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found for kedro-viz")


def get_json(url: str) -> dict:
    with _OPENER.open(url, timeout=30) as response:
        return json.loads(response.read())


def stop_process_group(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the process group of ``process``, SIGKILL what is left after ``timeout``."""
    group = process.pid  # started with start_new_session=True: its pid is the group id
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process.poll()  # reap the leader so that it does not linger as a zombie
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
    process.wait(timeout=timeout)


def start_viz(project: Path, port: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "true",
        # `kedro viz run` asks PyPI for a newer release (30 s timeout). A closed local proxy
        # makes that check fail at once, so the test stays off the network.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [*VIZ_RUN, "--host", "127.0.0.1", "--port", str(port), "--no-browser"],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.fixture(scope="module")
def viz(finished_project: Path):
    """The base URL of a kedro-viz server on the finished project; stopped afterwards."""
    port = free_port()
    log = finished_project / "kedro-viz.log"
    process = start_viz(finished_project, port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"kedro viz run exited early:\n{log.read_text()[-3000:]}")
            try:
                get_json(f"{url}/api/main")
                break
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"kedro viz run did not answer in 120 s:\n{log.read_text()[-3000:]}"
                    )
                time.sleep(0.5)
        yield url
    finally:
        stop_process_group(process)


@pytest.fixture(scope="module")
def registered() -> dict[str, Pipeline]:
    return register_pipelines()


def catalog_layers() -> dict[str, str]:
    """Layer of every catalog entry (factory patterns included), from conf/base/catalog.yml."""
    catalog = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "conf/base/catalog.yml").read_text()
    )
    return {name: entry["metadata"]["kedro-viz"]["layer"] for name, entry in catalog.items()}


def layer_of(dataset: str, layers: dict[str, str]) -> str | None:
    """The layer Kedro gives ``dataset``: an exact entry, else the most specific pattern."""
    if dataset in layers:
        return layers[dataset]
    matches = [
        pattern
        for pattern in layers
        if "{" in pattern
        and re.fullmatch(re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(pattern)), dataset)
    ]
    if not matches:
        return None
    # Kedro ranks patterns by the number of characters outside the placeholders.
    best = max(matches, key=lambda p: len(re.sub(r"\{[^}]*\}", "", p)))
    return layers[best]


def is_parameters(dataset: str) -> bool:
    return dataset == "parameters" or dataset.startswith("params:")


@pytest.mark.slow
def test_api_lists_every_pipeline_node_and_dataset(viz: str, registered: dict[str, Pipeline]):
    main = get_json(f"{viz}/api/main")
    assert {p["id"] for p in main["pipelines"]} == set(registered)
    assert main["layers"] == LAYERS  # in data-flow order
    tags = {t["id"] for t in main["tags"]}
    assert tags >= {"ingestion", "sessions", "training", "evaluation", "plots"}
    layers = catalog_layers()

    for name, pipeline in registered.items():
        graph = get_json(f"{viz}/api/pipelines/{name}")
        # kedro-viz shows no layers at all when the layers of a pipeline form a cycle.
        assert set(graph["layers"]) >= {n["layer"] for n in graph["nodes"] if n.get("layer")}
        tasks = {n["full_name"]: n for n in graph["nodes"] if n["type"] == "task"}
        assert set(tasks) == {node.name for node in pipeline.nodes}, name
        for node in pipeline.nodes:
            assert set(tasks[node.name]["tags"]) == set(node.tags), node.name
        data = {n["name"]: n for n in graph["nodes"] if n["type"] == "data"}
        # kedro-viz draws `parameters` (all of them) and `params:x` as parameter nodes.
        datasets = {d for d in pipeline.datasets() if not is_parameters(d)}
        assert set(data) == datasets, name
        for dataset, node in data.items():
            assert node["layer"] == layer_of(dataset, layers), dataset
            assert node["layer"] in LAYERS, dataset
        parameters = {n["name"] for n in graph["nodes"] if n["type"] == "parameters"}
        assert parameters == {d for d in pipeline.datasets() if is_parameters(d)}, name


@pytest.mark.slow
def test_node_details_and_dataset_previews(viz: str):
    nodes = {n["name"]: n for n in get_json(f"{viz}/api/main")["nodes"]}
    for node in nodes.values():
        with _OPENER.open(f"{viz}/api/nodes/{node['id']}", timeout=30) as response:
            assert response.status == 200, node["name"]

    train = get_json(f"{viz}/api/nodes/{nodes['train_gru4rec']['id']}")
    assert "def train(" in train["code"] and "setup.train(" in train["code"]
    assert train["inputs"] and train["outputs"]

    ratings = get_json(f"{viz}/api/nodes/{nodes['ratings']['id']}")
    assert ratings["preview_type"] == "TablePreview"
    assert ratings["preview"]["columns"][:2] == ["user", "item"]
    assert len(ratings["preview"]["data"]) == 10  # preview_args.nrows in the catalog

    plot = get_json(f"{viz}/api/nodes/{nodes['training_history_plot']['id']}")
    assert plot["preview_type"] == "ImagePreview"
    assert plot["preview"].startswith("iVBORw0KGgo")  # a base64 PNG


def chromium(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run headless Chromium with ``args``."""
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (.ci/run installs it)")
def test_page_renders_the_dag(viz: str, registered: dict[str, Pipeline], finished_project: Path):
    screenshot = finished_project / "kedro-viz.png"
    dom = chromium("--window-size=1600,1000", f"--screenshot={screenshot}", "--dump-dom", f"{viz}/")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a blank page is a few kB
    dom = dom.stdout
    texts = {
        re.sub(r"\s+", " ", text).strip().lower()
        for text in re.findall(r"<text[^>]*>([^<]*)</text>", dom)
    }
    for node in registered["__default__"].nodes:
        # Names may be shown as written or "prettified" (underscores -> spaces).
        assert {node.name.lower(), node.name.replace("_", " ").lower()} & texts, node.name


def test_stop_process_group_ends_the_children_too():
    process = subprocess.Popen(
        ["sh", "-c", "sleep 60 & sleep 60"], start_new_session=True, stdout=subprocess.DEVNULL
    )
    time.sleep(0.2)
    stop_process_group(process, timeout=5)
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)
    assert process.returncode is not None
