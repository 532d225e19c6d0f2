"""SIGKILL a `kedro run` after each node in turn (run by tests/test_run_commit.py).

Usage: python kill_at_node_boundaries.py PROJECT PARAMS_JSON

For every node of the default pipeline, in the order the sequential runner executes them, a
forked child runs the whole pipeline and kills itself with SIGKILL as soon as that node has
finished (its outputs saved). Forking from a parent that has imported everything but run
nothing keeps each kill cheap. After each kill, the parent records the version every
versioned dataset of a fresh catalog would load. Prints one JSON object:
``{"killed_after": [node, ...], "versions": [{dataset: version}, ...]}``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io.core import AbstractVersionedDataset


class KillAfter:
    """Kills the process with SIGKILL (no cleanup of any kind) as soon as the named node
    has finished: its outputs saved. (Kedro calls ``after_node_run`` before it saves them.)"""

    def __init__(self, node_name: str):
        self.node_name = node_name
        self.unsaved: set[str] | None = None

    @hook_impl
    def after_node_run(self, node) -> None:
        if node.name == self.node_name:
            self.unsaved = set(node.outputs)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        if self.unsaved is not None:
            self.unsaved.discard(dataset_name)
            if not self.unsaved:
                os.kill(os.getpid(), signal.SIGKILL)


def resolved_versions(project: Path) -> dict[str, str | None]:
    with KedroSession.create(project_path=project) as session:
        catalog = session.load_context().catalog
        versions = {}
        for name in sorted(pipelines["__default__"].datasets()):
            dataset = catalog.get(name, fallback_to_runtime_pattern=True)
            if isinstance(dataset, AbstractVersionedDataset):
                versions[name] = dataset.resolve_load_version() if dataset.exists() else None
        return versions


def main() -> None:
    project, params = Path(sys.argv[1]), json.loads(sys.argv[2])
    bootstrap_project(project)
    os.chdir(project)
    names = [node.name for node in pipelines["__default__"].nodes]  # execution order
    report: dict[str, list] = {"killed_after": [], "versions": []}
    for name in names:
        child = os.fork()
        if child == 0:
            try:
                with KedroSession.create(project_path=project, runtime_params=params) as session:
                    session._hook_manager.register(KillAfter(name))
                    session.run()
            finally:
                os._exit(3)  # only reached if the kill did not happen
        _, status = os.waitpid(child, 0)
        if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            raise SystemExit(f"the run was not killed after {name} (status {status})")
        report["killed_after"].append(name)
        report["versions"].append(resolved_versions(project))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
