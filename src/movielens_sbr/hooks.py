"""Cross-cutting concerns: parameter validation, seeds, missing inputs, atomic saves,
timing, MLflow tracking."""

from __future__ import annotations

import functools
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from kedro.framework.hooks import hook_impl
from kedro.io import MemoryDataset
from kedro.pipeline import Pipeline

from movielens_sbr import experiment_tracking as tracking
from movielens_sbr.datasets.atomic import make_atomic
from movielens_sbr.model.cluster import worker_task
from movielens_sbr.params import validate_parameters
from movielens_sbr.provenance import git_state, run_manifest

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


class MissingInputsError(RuntimeError):
    """A pipeline's input has not been produced yet (a user error: run another first)."""


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
            raise MissingInputsError(
                f"Inputs {missing} do not exist yet: run "
                + " and ".join(f"`kedro run --pipelines {name}`" for name in needed)
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


def _is_non_chief_worker(params: dict) -> bool:
    """True in the workers of ``training.distribute: multi_worker`` other than the chief.

    Without ``TF_CONFIG`` a process is no worker: sessions that do not train (notebooks,
    the recommender, other pipelines) run as usual, and training says what to set.
    """
    tf_config = os.environ.get("TF_CONFIG")
    if params.get("training", {}).get("distribute") != "multi_worker" or not tf_config:
        return False
    return not worker_task(tf_config).is_chief


class ChiefSavesHook:
    """Under ``training.distribute: multi_worker`` every worker runs the same pipeline on
    shared storage, and only the chief saves: the other workers' outputs stay in memory.

    ``run_manifest`` stays in the catalog: reads go to the versions of complete runs, which
    its versions mark (run_commit.py); RunManifestHook saves none on these workers, and
    KedroMlflowHook tracks nothing there.
    """

    @hook_impl
    def before_pipeline_run(self, pipeline: Pipeline, catalog) -> None:
        if not _is_non_chief_worker(catalog.load("parameters")):
            return
        for name in sorted(pipeline.all_outputs()):
            catalog[name] = MemoryDataset(copy_mode="assign")
        logger.info("Not the chief worker: this run saves nothing and tracks nothing")


class RunManifestHook:
    """After a successful run, saves ``run_manifest``: versions, commit, archive MD5, params,
    and the versions of the run's inputs and outputs.

    It is saved through the same catalog as the run's outputs, so its version folder has
    the same timestamp as the metrics, model and splits of that run.
    """

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline, catalog) -> None:
        if "run_manifest" not in catalog or _is_non_chief_worker(catalog.load("parameters")):
            return  # a non-chief worker's run saved nothing: the chief's manifest marks it
        summary = catalog.load("archive_summary") if catalog.exists("archive_summary") else None
        outputs = {}
        for name in sorted(pipeline.all_outputs()):
            version = getattr(catalog.get(name), "_version", None)
            if version is not None:
                outputs[name] = version.save
        inputs = {
            name: catalog.get(name).resolve_load_version()
            for name in sorted(pipeline.inputs())
            if getattr(catalog.get(name), "_version", None) is not None
        }
        manifest = run_manifest(
            run_params["run_id"],
            run_params["pipeline_names"],
            run_params["project_path"],
            summary,
            catalog.load("parameters"),
            outputs,
            inputs,
        )
        # Saved last: the manifest marks the run as complete (run_commit.py).
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


_STARTED_RUNS: set[str] = set()
"""The MLflow runs this process has started (``MlflowRunHook``), to end if left active."""

_MLFLOW_TIME = [0.0, 0.0]  # wall and CPU seconds of this run spent in the MLflow hooks


def _timed(method):
    """Adds the time spent in an MLflow hook to ``_MLFLOW_TIME`` (logged after the run)."""

    @functools.wraps(method)
    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            _MLFLOW_TIME[0] += time.perf_counter() - wall
            _MLFLOW_TIME[1] += time.process_time() - cpu

    return timed


class KedroMlflowHook:
    """kedro-mlflow's hook, imported and set up only when a pipeline runs.

    Importing MLflow costs about 2 s of CPU and kedro-mlflow's setup opens the tracking
    store; a Kedro session that only reads the catalog (``movielens-sbr``, the notebooks,
    ``Recommender.load``) needs neither, so kedro-mlflow's ``after_context_created`` runs
    just before the first pipeline run of the context. Its pass over the catalog after it
    is created is left out: it only names kedro-mlflow's metric datasets, which this
    catalog does not use, and it would create every dataset (TensorFlow, matplotlib).
    Its other hooks are called as kedro-mlflow declares them.

    Registered under the name of kedro-mlflow's hook entry point (pluggy names a plugin
    by its ``__name__``), so Kedro skips that entry point instead of importing it only to
    unregister it (``DISABLE_HOOKS_FOR_PLUGINS`` in settings.py).
    """

    __name__ = "mlflow_hook"  # kedro-mlflow's entry point in the `kedro.hooks` group

    def __init__(self) -> None:
        self._context = None
        self._hook = None
        self._off = False  # this run's pipelines are under tracking.disable_tracking

    @hook_impl
    def after_context_created(self, context) -> None:
        self._context, self._hook = context, None
        # kedro-mlflow's commands (`kedro mlflow ui`) and notebooks read `context.mlflow`,
        # which its setup sets: the setup runs when they first read it.
        context.__setattr__("mlflow", _DeferredMlflowConfig(self))

    def _kedro_mlflow(self):
        if self._hook is None:
            from kedro_mlflow.framework.hooks import MlflowHook

            _end_runs(_STARTED_RUNS)  # left active by an earlier session of this process
            hook = MlflowHook()
            hook.after_context_created(self._context)
            self._hook = hook
        return self._hook

    def _disabled(self, run_params: dict[str, Any]) -> bool:
        """kedro-mlflow's own rule: every pipeline of the run is listed under
        ``tracking.disable_tracking.pipelines``. Such a run does not import MLflow."""
        from kedro.config import MissingConfigException

        names = run_params.get("pipeline_names") or ["__default__"]
        names = [names] if isinstance(names, str) else names
        try:
            tracking = self._context.config_loader["mlflow"].get("tracking") or {}
        except MissingConfigException:
            return False
        disabled = (tracking.get("disable_tracking") or {}).get("pipelines") or []
        return all(name in disabled for name in names)

    @hook_impl
    @_timed
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline, catalog) -> None:
        _MLFLOW_TIME[:] = [0.0, 0.0]
        # The non-chief workers of a multi-worker training track nothing (the chief's run
        # holds the training) and never open the store: workers starting together would
        # create or migrate the same SQLite store at once.
        self._off = _is_non_chief_worker(catalog.load("parameters")) or self._disabled(run_params)
        if not self._off:
            self._kedro_mlflow().before_pipeline_run(run_params, pipeline, catalog)

    @hook_impl
    @_timed
    def before_node_run(self, node, catalog, inputs: dict[str, Any], is_async: bool) -> None:
        if not self._off:
            self._kedro_mlflow().before_node_run(node, catalog, inputs, is_async)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline, catalog) -> None:
        if not self._off:
            _timed(self._kedro_mlflow().after_pipeline_run)(run_params, pipeline, catalog)
            logger.info(
                "MLflow tracking took %.1f s of this run (%.1f s of CPU): import, setup, "
                "logging, the logged and registered models",
                *_MLFLOW_TIME,
            )

    @hook_impl
    @_timed
    def on_pipeline_error(
        self, error: Exception, run_params: dict[str, Any], pipeline: Pipeline, catalog
    ) -> None:
        if not self._off:
            self._kedro_mlflow().on_pipeline_error(error, run_params, pipeline, catalog)


class _DeferredMlflowConfig:
    """``context.mlflow`` before kedro-mlflow is set up: sets it up when first read."""

    def __init__(self, hook: KedroMlflowHook) -> None:
        self._hook = hook

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hook._kedro_mlflow().mlflow_config, name)


class MlflowRunHook:
    """Completes the MLflow run that kedro-mlflow opens for every ``kedro run``.

    kedro-mlflow (``conf/base/mlflow.yml``) starts and ends the run and logs the parameters
    each node reads. This hook adds what it cannot know: every parameter (flattened), the
    dataset, the Kedro environment and the git state as tags; the numbers of every saved
    metrics file under readable names; the training history as stepped metrics; the files of
    catalog entries marked ``metadata: {mlflow: {artifact_path: ...}}`` as artifacts. Each
    experiments variant (``experiments.<variant>.*``) and each tuning trial gets its own run,
    nested under the pipeline's run, so the MLflow UI compares them side by side.
    """

    def __init__(self) -> None:
        self._catalog = None
        self._run_id: str | None = None
        self._children: dict[str, str] = {}
        # Per trained method, the (Kedro version, file) of the model this run evaluated.
        self._evaluated: dict[str, tuple[str, str]] = {}
        self._test_metrics: dict | None = None

    # tryfirst: before kedro-mlflow's reads the configuration.
    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        from movielens_sbr import model_registry

        self._params = context.params
        self._project = Path(context.project_path)
        self._env = context.env
        # Where the registry is, for the recommender, without importing MLflow.
        model_registry.remember_store(self._project, _absolute_store(context))

    @hook_impl
    def after_catalog_created(self, catalog) -> None:
        self._catalog = catalog

    # trylast/tryfirst: inside the run that kedro-mlflow's own hook starts and ends.
    @hook_impl(trylast=True)
    @_timed
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        mlflow = sys.modules.get("mlflow")  # not imported: tracking is off for this run
        active = mlflow.active_run() if mlflow is not None else None
        self._run_id = active.info.run_id if active else None  # None: tracking disabled
        if self._run_id is not None:
            _STARTED_RUNS.add(self._run_id)
        self._children = {}
        self._evaluated, self._test_metrics = {}, None
        if self._run_id is None:
            return
        git = git_state(self._project)
        tracking.log(
            self._run_id,
            params=tracking.flatten(self._params),
            tags={
                "dataset": self._params.get("ingestion", {}).get("dataset", ""),
                "kedro.env": self._env or "local",
                "git.commit": git["commit"] or "unknown",
                "git.dirty": str(git["dirty"]).lower(),
            },
        )

    @hook_impl
    @_timed
    def after_dataset_loaded(self, dataset_name: str) -> None:
        from movielens_sbr import methods

        if self._run_id is None:
            return
        method = next((m.name for m in methods.trained() if m.model_dataset == dataset_name), None)
        if method is not None:
            dataset = self._catalog.get(dataset_name)
            version = dataset.resolve_load_version()
            if version is not None:  # a versioned local file: the one evaluated
                self._evaluated[method] = (version, str(dataset._get_load_path()))

    @hook_impl
    @_timed
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if self._run_id is None:
            return
        run_id, name = self._run_of(dataset_name)
        if name == "metrics":
            tracking.log(run_id, metrics=tracking.metrics_to_log(data))
            if dataset_name == "metrics":
                self._test_metrics = data
        elif name == "training_history":
            tracking.log_steps(run_id, tracking.history_steps(data))
        elif name == "tuning_trials":
            tracking.log_trials(self._run_id, data)
        artifact_path = self._artifact_path(dataset_name)
        if artifact_path is not None and hasattr(
            self._catalog.get(dataset_name, fallback_to_runtime_pattern=True), "_filepath"
        ):
            tracking.log_artifact(run_id, _saved_path(self._catalog, dataset_name), artifact_path)

    @hook_impl(tryfirst=True)
    @_timed
    def after_pipeline_run(self) -> None:
        if self._run_id is not None and self._test_metrics:
            for method, (kedro_version, model_file) in self._evaluated.items():
                if method in self._test_metrics:  # evaluated by this run, not only loaded
                    self._register(method, kedro_version, model_file, self._test_metrics)
        if self._run_id is not None:
            _end_runs({self._run_id})
        self._finish("FINISHED")

    def _register(self, method: str, kedro_version: str, model_file: str, metrics: dict) -> None:
        """Log the evaluated model of the trained ``method``, register it as a version of
        ``movielens-sbr-<dataset>-<method>``, and make it that model's champion if it passes
        the rule of the ``registry`` parameters."""
        import mlflow

        from movielens_sbr import model_registry, serving
        from movielens_sbr.params import validate_section

        rule = validate_section("registry", self._params.get("registry", {}))
        item_index = self._catalog.get("item_index")
        same_run = Path(item_index._get_versioned_path(kedro_version))
        active = mlflow.active_run()
        if active is None or active.info.run_id != self._run_id:  # log into the run itself
            mlflow.start_run(run_id=self._run_id)
        info = serving.log_model(
            model_file,
            str(same_run if same_run.is_file() else item_index._get_load_path()),
            str(self._catalog.get("movies")._filepath),
            kedro_version,
            method,
        )
        name = model_registry.registered_name(self._params["ingestion"]["dataset"], method)
        promoted, why = model_registry.promotion(
            metrics, rule.metric, rule.min_gain_over_best_baseline, method
        )
        version = mlflow.register_model(
            info.model_uri,
            name,
            tags={
                model_registry.KEDRO_VERSION_TAG: kedro_version,
                model_registry.METHOD_TAG: method,
                "promotion": why,
                **{
                    model_registry.tag_name(m): str(metrics[method][m])
                    for m in model_registry.HEADLINE
                    if m in metrics[method]
                },
            },
        ).version
        if promoted:
            mlflow.MlflowClient().set_registered_model_alias(name, model_registry.CHAMPION, version)
            logger.info(
                "%s version %s (model %s) is the champion: %s", name, version, kedro_version, why
            )
        else:
            logger.warning(
                "%s version %s (model %s) is not promoted: %s", name, version, kedro_version, why
            )

    @hook_impl(tryfirst=True)
    def on_pipeline_error(self) -> None:
        self._finish("FAILED")

    def _finish(self, status: str) -> None:
        for child in self._children.values():
            tracking.end(child, status)
        self._children = {}
        self._run_id = None

    def _run_of(self, dataset_name: str) -> tuple[str, str]:
        """The run a dataset's numbers go to, and its name inside that run."""
        parts = dataset_name.split(".")
        if len(parts) < 3 or parts[0] != "experiments":
            return self._run_id, dataset_name
        variant = parts[1]
        if variant not in self._children:
            section = self._params.get("experiments", {}).get(variant, {})
            self._children[variant] = tracking.start_child(
                self._run_id,
                f"experiments.{variant}",
                params=tracking.flatten(section),
                tags={"experiments.variant": variant},
            )
        return self._children[variant], ".".join(parts[2:])

    def _artifact_path(self, dataset_name: str) -> str | None:
        if self._catalog is None:
            return None
        dataset = self._catalog.get(dataset_name, fallback_to_runtime_pattern=True)
        settings = (getattr(dataset, "metadata", None) or {}).get("mlflow")
        return None if settings is None else str(settings.get("artifact_path", ""))


class ChampionModelHook:
    """``kedro run --pipelines recommending`` answers from the champions, like the CLI.

    For each trained method (``movielens_sbr.methods``) whose model the run reads: only
    when the run neither trains that model nor evaluates (a run that trains or evaluates
    uses the model it trains or has just evaluated, the newest) and ``--load-versions``
    does not name one; without a champion the latest model answers.
    """

    @hook_impl
    def after_context_created(self, context) -> None:
        self._project = Path(context.project_path)
        self._dataset = context.params.get("ingestion", {}).get("dataset")

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline, catalog) -> None:
        names = {node.name for node in pipeline.nodes}
        if "recommend_batch" not in names or "evaluate_methods" in names:
            return
        from movielens_sbr import methods

        pinned = run_params.get("load_versions") or {}
        for method in methods.trained():
            dataset = method.model_dataset
            if (
                dataset in pipeline.inputs()
                and dataset not in pipeline.all_outputs()
                and not pinned.get(dataset)
            ):
                self._use_champion(catalog, method.name, dataset)

    def _use_champion(self, catalog, method: str, dataset: str) -> None:
        from kedro.io import AbstractDataset

        from movielens_sbr import model_registry

        chosen = model_registry.resolve(self._project, self._dataset, None, method)
        if chosen is None or chosen.kedro_version is None:
            return
        configs, _, _, save_version = catalog.to_config()
        catalog[dataset] = AbstractDataset.from_config(
            dataset,
            configs[dataset],
            load_version=chosen.kedro_version,
            save_version=save_version,  # the run's: Kedro refuses a second one
        )
        logger.info(
            "Recommending with %s version %s (model %s)",
            chosen.name,
            chosen.version,
            chosen.kedro_version,
        )


def _absolute_store(context) -> str | None:
    """Read a relative SQLite store of ``mlflow.yml`` from the project folder.

    kedro-mlflow makes relative file paths absolute but leaves ``sqlite:///mlflow.db``
    relative to the working folder, and MLflow keeps one store per URI: two projects
    opened in one process (tests, ``--project``) would share the first one's database.
    The resolved configuration is handed to kedro-mlflow through the config loader.
    Returns the tracking URI (None: no ``mlflow.yml``; a URI that is not set there is
    MLflow's own default then).
    """
    from kedro.config import MissingConfigException

    loader = context.config_loader
    loader.config_patterns.setdefault("mlflow", ["mlflow*", "mlflow*/**", "**/mlflow*"])
    try:
        conf = loader["mlflow"]
    except MissingConfigException:
        return None
    server = conf.get("server") or {}
    uri = str(server.get("mlflow_tracking_uri") or "")
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not Path(uri[len(prefix) :]).is_absolute():
        uri = f"{prefix}{Path(context.project_path).resolve() / uri[len(prefix) :]}"
        loader["mlflow"] = {**conf, "server": {**server, "mlflow_tracking_uri": uri}}
    return uri or None


def _end_runs(run_ids: set[str], status: str = "FINISHED") -> None:
    """End the runs of ``run_ids`` that are still on MLflow's stack of active runs.

    kedro-mlflow 2.0.3 re-enters its run before every node, and MLflow 3.17 no longer
    refuses that: the run is stacked once per node, and kedro-mlflow's one ``end_run``
    would leave it active, so that the next session in the same process (tests,
    notebooks, the recommender) would log into it. kedro-mlflow's own ``end_run`` then
    finds nothing left to end.
    """
    import mlflow

    while (active := mlflow.active_run()) is not None and active.info.run_id in run_ids:
        mlflow.end_run(status)


def _saved_path(catalog, name: str) -> str:
    """The file a dataset was just saved to (the versioned file of this run)."""
    dataset = catalog.get(name, fallback_to_runtime_pattern=True)
    if getattr(dataset, "_version", None) is not None:
        return str(dataset._get_versioned_path(dataset.resolve_save_version()))
    return str(getattr(dataset, "_filepath", dataset))  # its description if not a file
