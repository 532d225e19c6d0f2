"""A run commits as a whole: the catalog reads complete runs only, failed runs are undone.

Kedro's versioned datasets load their newest version, whichever run saved it, so a run
that dies half-way used to leave its first outputs as the "latest". Here
(``docs/reliability.md``):

- ``CompleteRunsHook`` makes every versioned dataset of every catalog (runs, notebooks,
  ``Recommender.load``) load the version of the running session if it saved one, else the
  newest version saved by a complete run: one with a ``run_manifest``, which
  RunManifestHook saves after every node has succeeded.
- ``DiscardFailedRunHook`` deletes what a failed run saved, so the data folder is as it was.
- ``ModelLineageHook`` refuses to evaluate or use a model with an item index other than the
  one it was trained with.
"""

from __future__ import annotations

import contextlib
import filecmp
import logging
import shutil
import types
from pathlib import Path, PurePath
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset, DataCatalog
from kedro.io.core import AbstractVersionedDataset, Version
from kedro.pipeline import Pipeline

from movielens_sbr.run_versions import lineage_version

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


class ModelLineageHook:
    """Before a run that uses a trained model without training it, checks that the item
    index it will load is the one the model was trained with (same file contents)."""

    @hook_impl
    def before_pipeline_run(self, pipeline: Pipeline, catalog) -> None:
        from movielens_sbr import methods

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
        "with other data or parameters since): run `kedro run --pipelines training` to "
        "train on it, or rerun sessions with the parameters the model was trained with."
    )
