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


# --- runs in progress, and the cleanup of killed ones ------------------------------------
#
# A run creates ``<markers>/<version>`` before it saves anything and holds an exclusive
# ``flock`` on it while its process lives; the marker is removed when the run ends (after
# its manifest, or after a failed run's files are deleted). A marker that can be locked
# therefore belongs to a process that died without ending its run: killed (SIGKILL, power
# cut, out of memory). Only the versions of such runs are ever deleted: a run that is
# still going holds its lock, and versions without a marker (runs of an older project)
# are left alone. The operating system releases a dead process's lock, also on a machine
# restart; ``flock`` needs a local file system (on NFS use a documented manual cleanup).


class RunMarker:
    """The marker of the running process's run: locked until :meth:`release`."""

    def __init__(self, folder: str | Path, version: str):
        import fcntl
        import os
        import socket
        import tempfile

        self.path = Path(folder) / version
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Locked before it appears under its name: a cleaner can never lock a live run's.
        handle, temporary = tempfile.mkstemp(prefix=f".{version}.", dir=self.path.parent)
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(handle, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        os.replace(temporary, self.path)
        self._handle: int | None = handle

    def release(self) -> None:
        """End the run: remove the marker, then drop the lock."""
        import os

        if self._handle is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._handle)
        self._handle = None


def killed_runs(folder: str | Path, own: str | None = None) -> list[tuple[str, Path, int]]:
    """``(version, marker, descriptor)`` of every marker in ``folder`` that no live process
    holds: the runs that were killed. The descriptor holds the marker's lock: remove the
    run's files and the marker, then close it. ``own`` (the caller's run) is skipped."""
    import fcntl
    import os

    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if path.name == own:
            continue
        try:
            handle = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # removed meanwhile by its run or by another cleaner
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(handle)  # a live run holds it
            continue
        if not path.exists():  # removed between open and lock: already dealt with
            os.close(handle)
            continue
        # `.<version>.<random>`: a marker whose run died before it was in place.
        version = path.name[1:].rsplit(".", 1)[0] if path.name.startswith(".") else path.name
        found.append((version, path, handle))
    return found


def version_folders(roots: list[Path], versions: set[str]) -> list[Path]:
    """The version folders ``<dataset folder>/<version>/`` (Kedro's layout: the folder
    holds a file or folder named like the dataset folder) under ``roots`` whose version is
    one of ``versions``."""
    import os

    found = []
    for root in roots:
        for current, folders, _ in os.walk(root):
            for name in list(folders):
                path = Path(current) / name
                if name in versions and (path / path.parent.name).exists():
                    found.append(path)
                    folders.remove(name)  # nothing of another version inside
    return found
