"""Which saved versions belong to complete runs (no Kedro imports).

Every versioned output of one ``kedro run`` is saved under the same version name, the
run's timestamp. The run's manifest (``run_manifest.json/<version>/run_manifest.json``) is
saved last, after every node has succeeded, so it marks the run as complete. Readers take,
for each dataset, the newest version that a complete run saved; the files of a failed or
killed run are never picked. Each manifest also lists the versions the run loaded, so the
item index a model was trained with can be found again from the model's version.
"""

from __future__ import annotations

import json
from pathlib import Path


class IncompleteRunError(RuntimeError):
    """No complete run has saved the version asked for."""


def saved_versions(folder: str | Path) -> list[str]:
    """Versions of the versioned file dataset at ``folder``, newest first.

    A version is a folder ``<folder>/<version>/<folder name>`` holding the file (a file or,
    for a saved Keras model, possibly a folder).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted((path.parent.name for path in folder.glob(f"*/{folder.name}")), reverse=True)


def complete_versions(manifest_folder: str | Path) -> set[str]:
    """The versions of every complete run: those with a saved run manifest."""
    return set(saved_versions(manifest_folder))


def latest_complete_version(
    folder: str | Path, manifest_folder: str | Path | None, version: str | None = None
) -> str:
    """``version`` if a complete run saved it, else the newest version saved by one.

    Without ``manifest_folder`` (a catalog without ``run_manifest``) every saved version
    counts, as in plain Kedro. Raises :class:`IncompleteRunError` naming what is missing.
    """
    folder = Path(folder)
    saved = saved_versions(folder)
    complete = set(saved) if manifest_folder is None else complete_versions(manifest_folder)
    if version is not None:
        if version in saved and version in complete:
            return version
        found = [v for v in saved if v in complete]
        why = "not saved" if version not in saved else "saved by a run that did not finish"
        raise IncompleteRunError(
            f"version {version!r} of {folder} is {why}; complete versions: {found or 'none'}"
        )
    for candidate in saved:
        if candidate in complete:
            return candidate
    raise IncompleteRunError(
        f"no complete run has saved {folder.name} in {folder.parent}"
        + (f" ({len(saved)} version(s) of runs that did not finish)" if saved else "")
        + ": run `kedro run` first."
    )


def read_manifest(manifest_folder: str | Path, version: str) -> dict | None:
    """The manifest of the run ``version``, or None if that run did not complete."""
    manifest_folder = Path(manifest_folder)
    path = manifest_folder / version / manifest_folder.name
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def lineage_version(manifest: dict, dataset: str) -> str | None:
    """The version of ``dataset`` that the run of ``manifest`` saved or, failing that, loaded."""
    saved = (manifest.get("outputs") or {}).get(dataset)
    return saved or (manifest.get("inputs") or {}).get(dataset)
