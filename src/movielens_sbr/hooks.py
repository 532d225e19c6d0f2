"""Cross-cutting concerns: parameter validation, seeds, missing inputs, atomic saves, timing."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import numpy as np
from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline

from movielens_sbr.datasets.atomic import make_atomic
from movielens_sbr.params import validate_parameters
from movielens_sbr.provenance import run_manifest

logger = logging.getLogger(__name__)


class ProjectSetupHook:
    """Validates the parameters and fixes the global seeds before anything runs."""

    @hook_impl
    def after_context_created(self, context) -> None:
        logging.getLogger("movielens_sbr").setLevel(logging.INFO)
        params = context.params
        validate_parameters(params)
        seed = int(params.get("seed", 0))
        random.seed(seed)
        np.random.seed(seed)  # noqa: NPY002 - third-party code may use the global state


class MissingInputsHook:
    """Fails fast, naming the pipeline to run first, when an input has not been produced."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline, catalog) -> None:
        from kedro.framework.project import pipelines as registered

        producers = {
            dataset: name
            for name, registered_pipeline in registered.items()
            if name != "__default__"
            for dataset in registered_pipeline.outputs()
        }
        missing = [
            name
            for name in sorted(pipeline.inputs())
            if name in producers and not name.startswith("params:") and not catalog.exists(name)
        ]
        if missing:
            needed = sorted({producers[name] for name in missing})
            raise RuntimeError(
                f"Inputs {missing} do not exist yet: run "
                + " and ".join(f"`kedro run --pipeline {name}`" for name in needed)
                + " first, or plain `kedro run` for everything."
            )


class AtomicSavesHook:
    """Every file a dataset saves is written beside its target and renamed when complete.

    So an interrupted save (crash, Ctrl-C, full disk) never leaves a truncated file under
    the real name, and the previous version of a versioned dataset stays the latest.
    """

    def __init__(self) -> None:
        self._catalog = None

    @hook_impl
    def after_catalog_created(self, catalog) -> None:
        self._catalog = catalog

    @hook_impl
    def before_dataset_saved(self, dataset_name: str) -> None:
        if self._catalog is not None:
            make_atomic(self._catalog.get(dataset_name, fallback_to_runtime_pattern=True))


class RunManifestHook:
    """After a successful run, saves ``run_manifest``: versions, commit, archive MD5, params.

    It is saved through the same catalog as the run's outputs, so its version folder has
    the same timestamp as the metrics, model and splits of that run.
    """

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline, catalog) -> None:
        if "run_manifest" not in catalog:
            return
        summary = catalog.load("archive_summary") if catalog.exists("archive_summary") else None
        outputs = {}
        for name in sorted(pipeline.all_outputs()):
            version = getattr(catalog.get(name), "_version", None)
            if version is not None:
                outputs[name] = version.save
        manifest = run_manifest(
            run_params["run_id"],
            run_params["pipeline_names"],
            run_params["project_path"],
            summary,
            catalog.load("parameters"),
            outputs,
        )
        make_atomic(catalog.get("run_manifest"))
        catalog.save("run_manifest", manifest)
        logger.info("Run manifest saved (git %s)", manifest["git"]["commit"])


class NodeTimingHook:
    """Logs how long every node takes, and a summary at the end of the run."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self.durations: dict[str, float] = {}

    @hook_impl
    def before_node_run(self, node) -> None:
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node) -> None:
        seconds = time.perf_counter() - self._started.pop(node.name, time.perf_counter())
        self.durations[node.name] = seconds
        logger.info("Node %s took %.2f s", node.name, seconds)

    @hook_impl
    def after_pipeline_run(self) -> None:
        if self.durations:
            total = sum(self.durations.values())
            logger.info(
                "Node times (total %.1f s): %s",
                total,
                ", ".join(f"{name} {sec:.1f} s" for name, sec in self.durations.items()),
            )
        self.durations = {}
