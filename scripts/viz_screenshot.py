"""Screenshot of one pipeline in kedro-viz, for docs/images/kedro-viz.png.

Usage: python scripts/viz_screenshot.py [OUTPUT_PNG] [PIPELINE]

PIPELINE (default: training) is selected with kedro-viz's ``pid`` URL parameter; one
pipeline in a 1100x760 window at 1.5 times the pixel density keeps the node names readable.

Builds the static site with `kedro viz build` (offline, into build/), serves it on
127.0.0.1, turns off kedro-viz's first-visit hints in a throw-away browser profile and takes
the screenshot with headless Chromium (Debian's `chromium`). The server is stopped with its
process group in every case.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")
# The layout runs in a web worker, outside virtual time: a long budget lets it finish
# on a busy machine too.
CHROMIUM += ("--hide-scrollbars", "--virtual-time-budget=90000")
# kedro-viz keeps its settings in localStorage; this page sets them for the origin.
SETTINGS_PAGE = (
    "<script>localStorage.setItem('KedroViz', JSON.stringify("
    "{showFeatureHints: false, featureHintStep: 0}));</script>"
)


def main(output: Path, pipeline: str = "training") -> None:
    chromium = shutil.which("chromium") or sys.exit("chromium not found (apt-get install chromium)")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    subprocess.run([sys.executable, "-m", "kedro", "viz", "build"], cwd=ROOT, env=env, check=True)
    site = ROOT / "build"
    (site / "settings.html").write_text(SETTINGS_PAGE)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=site,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        with tempfile.TemporaryDirectory() as profile:
            browse = [chromium, *CHROMIUM, f"--user-data-dir={profile}"]
            subprocess.run(
                [*browse, "--dump-dom", f"{url}/settings.html"],
                check=True,
                capture_output=True,
                timeout=120,
            )
            output.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    *browse,
                    "--window-size=1100,760",
                    "--force-device-scale-factor=1.5",
                    f"--screenshot={output.resolve()}",
                    f"{url}/?pid={pipeline}",
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    print(f"wrote {output}")


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "kedro-viz.png",
        *sys.argv[2:3],
    )
