"""Run the default pipeline once, capturing the project at every node boundary, then SIGKILL
the run after its last node (used by tests/test_run_commit.py).

Usage: python snapshot_node_boundaries.py PROJECT SNAPSHOTS PARAMS_JSON

As soon as a node has finished (its outputs saved; Kedro calls ``after_node_run`` before it
saves them), the whole project folder is copied to ``SNAPSHOTS/NN-<node>`` with hard links,
which costs no data copy: versioned files are never changed in place (a new file is
renamed into place), so a link keeps the bytes of that instant. The run waits meanwhile and
nothing is being written, so each snapshot is exactly what a SIGKILL at that boundary
leaves on disk; one run gives all of them, instead of one run per boundary. After the last
node the process kills itself with SIGKILL, before the run manifest, so the real project is
left by a real kill. Prints the snapshot folders, one per line, in node order.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project


class SnapshotThenKill:
    def __init__(self, project: Path, snapshots: Path, last_node: str):
        self.project, self.snapshots, self.last_node = project, snapshots, last_node
        self.node: str | None = None
        self.unsaved: set[str] = set()
        self.taken = 0

    @hook_impl
    def after_node_run(self, node) -> None:
        self.node, self.unsaved = node.name, set(node.outputs)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        self.unsaved.discard(dataset_name)
        if self.unsaved or self.node is None:
            return
        self.taken += 1
        target = self.snapshots / f"{self.taken:02d}-{self.node}"
        shutil.copytree(self.project, target, copy_function=os.link)
        print(target, flush=True)
        if self.node == self.last_node:
            os.kill(os.getpid(), signal.SIGKILL)
        self.node = None


def main() -> None:
    project, snapshots, params = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
    bootstrap_project(project)
    os.chdir(project)
    last_node = pipelines["__default__"].nodes[-1].name
    with KedroSession.create(project_path=project, runtime_params=params) as session:
        session._hook_manager.register(SnapshotThenKill(project, snapshots, last_node))
        session.run()
    raise SystemExit("the run was not killed after its last node")


if __name__ == "__main__":
    main()
