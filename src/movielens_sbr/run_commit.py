"""A run commits as a whole: the catalog reads complete runs only, failed runs are undone.

Kedro's versioned datasets load their newest version, whichever run saved it, so a run
that dies half-way used to leave its first outputs as the "latest". Here
(``docs/reliability.md``):

- ``CompleteRunsHook`` makes every versioned dataset of every catalog (runs, notebooks,
  ``Recommender.load``) load the version of the running session if it saved one, else the
  newest version saved by a complete run: one with a ``run_manifest``, which
  RunManifestHook saves after every node has succeeded.
- ``DiscardFailedRunHook`` deletes what a failed run saved, so the data folder is as it was.
- ``KilledRunsCleanupHook`` marks every run while it runs, and at the start of the next run
  deletes what runs that were killed (their process died without ending them) saved.
- ``ModelLineageHook`` refuses to evaluate or use a model with an item index other than the
  one it was trained with.
"""

from __future__ import annotations

import contextlib
import filecmp
import logging
import os
import shutil
import types
from pathlib import Path, PurePath
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset, DataCatalog
from kedro.io.core import AbstractVersionedDataset, Version
from kedro.pipeline import Pipeline

from movielens_sbr import methods
from movielens_sbr.run_versions import (
    RunMarker,
    complete_versions,
    killed_runs,
    lineage_version,
    version_folders,
)

logger = logging.getLogger(__name__)

RUN_MARKER = "run_manifest"
_MARK = "_movielens_sbr_complete_runs"


def _version_of(path: str) -> str:
    return PurePath(path).parent.name


def read_complete_runs_only(catalog: DataCatalog) -> None:
    """Make every versioned dataset of ``catalog`` ignore the versions of unfinished runs.

    The running session's own versions come first, so a node reads what an earlier node of
    the same run saved even when another run completed in the meantime. A version pinned
    explicitly (``catalog.load(name, version=...)``, ``--load-versions``) is loaded as
    asked. A catalog without ``run_manifest`` keeps Kedro's rule (the newest version).

    Kedro builds the catalog of a run from ``DATA_CATALOG_CLASS`` but the one of
    ``context.catalog`` (notebooks, ``Recommender.load``) from its own class, so the
    catalog's ``get``, through which every load, save and exists goes, is wrapped here.
    """
    if getattr(catalog, _MARK, False) or RUN_MARKER not in catalog:
        return
    plain_get = catalog.get

    def get(
        self,
        key: str,
        fallback_to_runtime_pattern: bool = False,
        version: Version | None = None,
    ) -> AbstractDataset | None:
        dataset = plain_get(key, fallback_to_runtime_pattern, version)
        if (
            version is None
            and key != RUN_MARKER
            and isinstance(dataset, AbstractVersionedDataset)
            and not getattr(dataset, _MARK, False)
        ):
            _complete_versions_only(dataset, plain_get(RUN_MARKER))
        return dataset

    catalog.get = types.MethodType(get, catalog)
    setattr(catalog, _MARK, True)


def _complete_versions_only(
    dataset: AbstractVersionedDataset, marker: AbstractVersionedDataset
) -> None:
    def complete_versions(self) -> list[str]:
        paths = type(self)._get_versions(self)  # every saved version, newest first
        current = {self._version.save if self._version else None, self._cached_save_version}
        complete = {_version_of(path) for path in type(marker)._get_versions(marker)}
        own = [path for path in paths if _version_of(path) in current]
        finished = [
            path
            for path in paths
            if _version_of(path) in complete and _version_of(path) not in current
        ]
        return own + finished

    dataset._get_versions = types.MethodType(complete_versions, dataset)
    setattr(dataset, _MARK, True)


class CompleteRunsHook:
    """Applies :func:`read_complete_runs_only` to every catalog the project creates."""

    @hook_impl
    def after_catalog_created(self, catalog) -> None:
        read_complete_runs_only(catalog)


def _local_version_folder(dataset: AbstractDataset | None) -> Path | None:
    """The folder a versioned local dataset saves this run's version into, if any."""
    if not isinstance(dataset, AbstractVersionedDataset) or not dataset._version:
        return None
    if getattr(dataset, "_protocol", "file") not in ("file", None):
        return None
    save_version = dataset._version.save or dataset._cached_save_version
    if not save_version:
        return None
    return Path(str(dataset._filepath)) / save_version


class DiscardFailedRunHook:
    """When a run fails, deletes the versions it saved: what others see stays as it was.

    A killed process cannot clean up; its versions stay on disk, ignored by every reader
    because the run has no manifest.
    """

    @hook_impl
    def on_pipeline_error(self, run_params: dict[str, Any], pipeline: Pipeline, catalog) -> None:
        removed = []
        for name in sorted(pipeline.all_outputs()):
            folder = _local_version_folder(catalog.get(name, fallback_to_runtime_pattern=True))
            if folder is not None and folder.is_dir():
                shutil.rmtree(folder)
                with contextlib.suppress(OSError):
                    folder.parent.rmdir()  # only if this run created the dataset's folder
                removed.append(name)
        if removed:
            logger.warning(
                "The run failed: removed what it had saved (%s); the previous complete run "
                "stays the latest.",
                ", ".join(removed),
            )


MARKERS = "runs_in_progress"
"""The folder, beside ``run_manifest.json/``, of the markers of running runs."""


def _local_folder(config: dict) -> Path | None:
    filepath = str(config.get("filepath") or "")
    if not filepath or not config.get("versioned"):
        return None
    if "://" in filepath:
        if not filepath.startswith("file://"):
            return None
        filepath = filepath[len("file://") :]
    return Path(filepath.split("{", 1)[0])  # a pattern's folder up to its first placeholder


def markers_folder(catalog) -> Path | None:
    """Where the markers of running runs go (None: no local ``run_manifest``)."""
    if RUN_MARKER not in catalog:
        return None
    folder = _local_folder(catalog.to_config()[0].get(RUN_MARKER) or {})
    return None if folder is None else folder.parent / MARKERS


def _data_roots(catalog) -> list[Path]:
    """The folders holding the catalog's versioned local datasets (patterns included)."""
    configs = list(catalog.to_config()[0].values())
    with contextlib.suppress(AttributeError):  # the patterns, e.g. experiments.{variant}.*
        configs += list(catalog.config_resolver._dataset_patterns.values())
    parents = {
        folder.parent.resolve()
        for config in configs
        if isinstance(config, dict) and (folder := _local_folder(config)) is not None
    }
    return sorted(p for p in parents if not any(q in p.parents for q in parents))


def remove_killed_runs(catalog, own: str | None = None) -> list[str]:
    """Delete the version folders of runs that were killed, and their markers; returns
    their versions. A run still going (its process holds its marker's lock), the run
    ``own``, complete runs and versions without a marker are never touched."""
    folder = markers_folder(catalog)
    if folder is None:
        return []
    killed = killed_runs(folder, own)
    try:
        manifests = _local_folder(catalog.to_config()[0][RUN_MARKER])
        dead = {version for version, _, _ in killed} - complete_versions(manifests)
        removed = version_folders(_data_roots(catalog), dead) if dead else []
        for path in removed:
            shutil.rmtree(path, ignore_errors=True)
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # only if that run created the dataset's folder
    finally:
        for _, marker, handle in killed:
            marker.unlink(missing_ok=True)
            os.close(handle)
    if removed:
        logger.warning(
            "Removed %d version folder(s) of %d killed run(s) (%s): they never completed",
            len(removed),
            len(dead),
            ", ".join(sorted(dead)),
        )
    return sorted(dead)


class KilledRunsCleanupHook:
    """Marks each run while it runs; at the start of a run, deletes what killed runs saved.

    A failed run cleans up after itself (``DiscardFailedRunHook``); a killed process
    cannot, and its versions, never read (no manifest), would stay on disk. Each run holds
    a locked marker (``run_versions.RunMarker``) from before its first save until it ends;
    the next run deletes the versions of every marker whose lock no live process holds.
    Concurrent runs hold theirs, so their files are never touched.
    """

    def __init__(self) -> None:
        self._marker: RunMarker | None = None

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, catalog) -> None:
        self._release()  # an earlier session of this process that did not end its run
        folder = markers_folder(catalog)
        if folder is None or _is_non_chief(catalog):
            return
        version = catalog.get(RUN_MARKER).resolve_save_version()
        try:
            self._marker = RunMarker(folder, version)
        except (ImportError, OSError) as reason:  # no fcntl (Windows), read-only folder
            logger.warning("Runs are not marked, killed runs not cleaned up: %s", reason)
            return
        remove_killed_runs(catalog, own=version)

    @hook_impl(trylast=True)  # after RunManifestHook has saved the manifest
    def after_pipeline_run(self) -> None:
        self._release()

    @hook_impl(trylast=True)  # after DiscardFailedRunHook has deleted the run's files
    def on_pipeline_error(self) -> None:
        self._release()

    def _release(self) -> None:
        if self._marker is not None:
            self._marker.release()
            self._marker = None


def _is_non_chief(catalog) -> bool:
    """A worker of ``training.distribute: multi_worker`` other than the chief saves
    nothing, and leaves the cleanup to the chief."""
    from movielens_sbr.hooks import _is_non_chief_worker

    try:
        return _is_non_chief_worker(catalog.load("parameters"))
    except Exception:  # no parameters in this catalog
        return False


class ModelLineageHook:
    """Before a run that uses a trained model without training it, checks that the item
    index it will load is the one the model was trained with (same file contents)."""

    @hook_impl
    def before_pipeline_run(self, pipeline: Pipeline, catalog) -> None:
        produced = pipeline.all_outputs()
        suffixes = [method.model_dataset for method in methods.trained()]
        for model in sorted(pipeline.inputs()):
            # `gru4rec_model`, or an experiment's `experiments.<variant>.gru4rec_model`.
            suffix = next((s for s in suffixes if model.endswith(s)), None)
            if suffix is None:
                continue
            index = model[: -len(suffix)] + "item_index"
            if index in produced or index not in catalog or not catalog.exists(model):
                continue
            check_model_lineage(catalog, model, index)


class LineageError(RuntimeError):
    """A model and the item index about to be used with it come from different runs."""


def trained_with(catalog, model: str = "gru4rec_model", index: str = "item_index") -> str | None:
    """The version of ``index`` the latest complete ``model`` was trained with (None: unknown,
    e.g. a run from before manifests recorded their inputs)."""
    model_version = catalog.get(model).resolve_load_version()
    manifest = _manifest(catalog, model_version)
    return lineage_version(manifest, index) if manifest else None


def _manifest(catalog, version: str) -> dict | None:
    if RUN_MARKER not in catalog:
        return None
    try:
        return catalog.load(RUN_MARKER, version=version)
    except Exception:
        return None


def retrain_command(model: str) -> str:
    """The command that trains ``model`` again: its method's training pipeline, or for an
    experiment's ``experiments.<variant>.<name>_model`` that variant's namespace."""
    namespace, _, dataset = model.rpartition(".")
    if namespace:
        return f"`kedro run --pipelines experiments --namespaces {namespace}`"
    trainer = next((m for m in methods.trained() if m.model_dataset == dataset), None)
    if trainer is None:
        raise ValueError(f"{model!r} is not the model dataset of a trained method")
    return f"`kedro run --pipelines {trainer.section}`"


def check_model_lineage(catalog, model: str = "gru4rec_model", index: str = "item_index") -> None:
    """Raise :class:`LineageError` when the item index to be loaded differs from the one the
    model was trained with; identical files (a rerun with the same parameters) are fine."""
    expected = trained_with(catalog, model, index)
    if expected is None:
        return
    dataset = catalog.get(index)
    current = dataset.resolve_load_version()
    if expected == current:
        return
    trained_path = Path(str(dataset._get_versioned_path(expected)))
    current_path = Path(str(dataset._get_versioned_path(current)))
    if trained_path.is_file() and filecmp.cmp(trained_path, current_path, shallow=False):
        return
    raise LineageError(
        f"{model} {catalog.get(model).resolve_load_version()} was trained with {index} "
        f"{expected}, but the latest {index} is {current} (the sessions pipeline ran again "
        f"with other data or parameters since): run {retrain_command(model)} to train on "
        "it, or rerun sessions with the parameters the model was trained with."
    )
