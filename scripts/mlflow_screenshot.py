"""Screenshot of the MLflow UI comparing the variants of the experiments pipeline, for
docs/images/mlflow-compare-experiments.png.

Usage: python scripts/mlflow_screenshot.py [PROJECT] [OUTPUT_PNG]

PROJECT (default: this repository) is a project where `kedro run --pipelines experiments`
has finished with tracking on. The script finds the newest experiments run in its MLflow
store (`mlflow.db`) and the variant runs nested under it, starts `mlflow ui` on 127.0.0.1
(no network), opens the UI's run comparison of those variants in headless Chromium
(Debian's `chromium`) and saves the screenshot. The server is stopped with its process
group in every case.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")
CHROMIUM += ("--hide-scrollbars",)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only


def variant_runs(store: str) -> tuple[str, list[str]]:
    """The experiment id and the variant runs (in name order) under the newest finished
    experiments run."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("movielens-sbr")
    if experiment is None:
        sys.exit(f"no experiment 'movielens-sbr' in {store}: run `kedro run` first")
    ids = [experiment.experiment_id]
    parents = client.search_runs(
        ids,
        "attributes.run_name = 'experiments' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not parents:
        sys.exit(f"no finished run of `kedro run --pipelines experiments` in {store}")
    parent = parents[0].info.run_id
    children = client.search_runs(ids, f"tags.mlflow.parentRunId = '{parent}'")
    children = sorted(children, key=lambda run: run.info.run_name)
    return experiment.experiment_id, [run.info.run_id for run in children]


# Set in the UI's localStorage before the comparison opens: the assistant panel, which
# MLflow opens on a first visit from 127.0.0.1, stays closed (keys `<key>_v<version>`).
UI_SETTINGS = {
    "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": "true",
    "mlflow.assistant.panelOpen_v1": "false",
}
# In the page: the parameters and metrics that differ between the runs only.
TABLES_ONLY = """
for (const element of document.querySelectorAll('*')) {
  if (element.childElementCount !== 0) continue;
  const text = element.textContent.trim();
  if (text === 'Show diff only') {
    const row = element.closest('div').parentElement;
    const toggle = row && row.querySelector('[role=switch]');
    if (toggle && toggle.getAttribute('aria-checked') !== 'true') toggle.click();
  }
}
"""


class DevTools:
    """Just enough of the Chrome DevTools protocol: commands to one page, in order."""

    def __init__(self, websocket_url: str):
        import websocket  # websocket-client, installed with the project's dependencies

        self.socket = websocket.create_connection(websocket_url, timeout=120)
        self.next_id = 0

    def __call__(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, *texts: str, seconds: float = 240) -> None:
        """Until the page shows every one of ``texts`` (the UI loads in steps)."""
        check = " && ".join(f"document.body.innerText.includes({json.dumps(t)})" for t in texts)
        deadline = time.monotonic() + seconds
        while not self.evaluate(f"!!document.body && {check}"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page did not show {texts} in {seconds} s")
            time.sleep(1)


def screenshot(
    chromium: str, origin: str, page: str, width: int = 1600, height: int = 2400
) -> bytes:
    """The PNG of ``page`` in headless Chromium after the UI settings are stored."""
    import base64

    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen(
            [
                chromium,
                *CHROMIUM,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            active = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 60
            while not active.is_file() or not active.read_text().strip():
                if time.monotonic() > deadline:
                    raise TimeoutError("chromium did not open its DevTools port")
                time.sleep(0.2)
            port = active.read_text().split()[0]
            with _OPENER.open(f"http://127.0.0.1:{port}/json", timeout=30) as answer:
                target = next(t for t in json.loads(answer.read()) if t["type"] == "page")
            tools = DevTools(target["webSocketDebuggerUrl"])
            tools(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
            settings = ";".join(
                f"localStorage.setItem('{k}', '{v}')" for k, v in UI_SETTINGS.items()
            )
            tools("Page.navigate", url=f"{origin}/")
            tools.wait_for("Experiments")
            time.sleep(3)  # the UI stores its own first-visit settings meanwhile
            tools.evaluate(settings)
            tools("Page.navigate", url=page)
            tools.wait_for("Comparing", "Metrics", "Show diff only")
            if tools.evaluate("document.body.innerText.includes('MLflow Assistant')"):
                tools.evaluate(settings)
                tools("Page.reload")
                tools.wait_for("Comparing", "Metrics", "Show diff only")
            tools.evaluate(TABLES_ONLY)
            time.sleep(5)  # the tables redraw
            shot = tools("Page.captureScreenshot", format="png")
            return base64.b64decode(shot["data"])
        finally:
            os.killpg(browser.pid, signal.SIGTERM)
            browser.wait(timeout=20)


def main(project: Path, output: Path) -> None:
    chromium = shutil.which("chromium") or sys.exit("chromium not found (apt-get install chromium)")
    store = f"sqlite:///{(project / 'mlflow.db').resolve()}"
    experiment, runs = variant_runs(store)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    query = urllib.parse.urlencode(
        {"runs": json.dumps(runs), "experiments": json.dumps([experiment])}
    )
    page = f"{url}/#/compare-runs?{query}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
            ],
            cwd=project,
            env={**os.environ, "MLFLOW_TRACKING_URI": store},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 240
            while True:
                try:
                    _OPENER.open(f"{url}/health", timeout=5)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        sys.exit(f"mlflow ui did not start:\n{log.read().decode()[-3000:]}")
                    time.sleep(1)
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_bytes(screenshot(chromium, url, page))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
    print(f"wrote {output} ({len(runs)} runs compared: {page})")


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT,
        Path(sys.argv[2])
        if len(sys.argv) > 2
        else ROOT / "docs" / "images" / "mlflow-compare-experiments.png",
    )
