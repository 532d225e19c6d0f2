"""Cross-cutting concerns: parameter validation, seeds, missing inputs, atomic saves,
timing, run records."""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline

from movielens_sbr import methods, tracking
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
        loader = context.config_loader
        envs = {loader.base_env, loader.env or loader.default_run_env} - {None}
        validate_parameters(params, [Path(loader.conf_source) / env for env in sorted(envs)])
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


class RunSummaryHook:
    """Ends a run that evaluated with its headline figures and where the report is."""

    @hook_impl
    def after_pipeline_run(self, pipeline: Pipeline, catalog) -> None:
        if "metrics" not in pipeline.all_outputs() or not catalog.exists("metrics"):
            return
        from movielens_sbr.evaluation.report import console_summary

        lines = [f"Test metrics of this run ({_saved_path(catalog, 'metrics')}):"]
        lines += console_summary(catalog.load("metrics"))
        if "evaluation_report" in pipeline.all_outputs():
            lines.append(f"Report: {_saved_path(catalog, 'evaluation_report')}")
        logger.info("\n".join(lines))


class RunTrackingHook:
    """Experiment tracking without a server: every successful run leaves a record.

    ``data/09_tracking/runs/<run id>.json`` holds the parameters, the content of every
    metrics dataset saved (``metrics``, ``experiments.<variant>.metrics``), the files of the
    models saved, the git commit and the start and end times; records are never
    overwritten. ``data/09_tracking/runs.md`` compares all recorded runs, one row per run,
    metrics dataset and method, with the parameters that differ between runs.
    """

    def __init__(self, folder: str = "data/09_tracking") -> None:
        self.folder = folder
        self._reset()

    def _reset(self) -> None:
        self._metrics: dict[str, dict] = {}
        self._models: list[str] = []
        self._started = ""

    @hook_impl
    def after_context_created(self, context) -> None:
        self._params = context.params
        self._project = Path(context.project_path)

    @hook_impl
    def before_pipeline_run(self) -> None:
        self._reset()
        self._started = _utc_now()

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if dataset_name == "metrics" or dataset_name.endswith(".metrics"):
            self._metrics[dataset_name] = data
        elif dataset_name.rsplit(".", 1)[-1] in {m.model_dataset for m in methods.trained()}:
            self._models.append(dataset_name)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], catalog) -> None:
        record = tracking.run_record(
            run_id=run_params["run_id"],
            started=self._started,
            finished=_utc_now(),
            pipelines=list(run_params.get("pipeline_names") or ["__default__"]),
            parameters=self._params,
            metrics=self._metrics,
            models={name: _saved_path(catalog, name) for name in self._models},
            git=tracking.git_state(self._project),
            runtime_params=run_params.get("runtime_params") or {},
        )
        folder = self._project / self.folder
        (folder / "runs").mkdir(parents=True, exist_ok=True)
        path = folder / "runs" / f"{record['run_id'].replace(':', '.')}.json"
        _write_atomically(path, json.dumps(record, indent=2, default=str))
        records = [json.loads(p.read_text()) for p in sorted((folder / "runs").glob("*.json"))]
        _write_atomically(folder / "runs.md", tracking.runs_markdown(records))
        logger.info("Run recorded in %s; all runs compared in %s", path, folder / "runs.md")


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _saved_path(catalog, name: str) -> str:
    """The file a versioned dataset was just saved to (its description if not a file)."""
    dataset = catalog.get(name)
    try:
        return str(dataset._get_versioned_path(dataset.resolve_save_version()))
    except AttributeError:  # not a versioned file dataset
        return str(dataset)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)
