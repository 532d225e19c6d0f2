"""What a run was made of: package versions, git commit, input checksum, peak memory."""

from __future__ import annotations

import platform
import re
import resource
import subprocess
import sys
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "movielens-sbr"


def package_versions(distribution: str = DISTRIBUTION) -> dict[str, str | None]:
    """Installed versions of the project and of its direct (non-extra) dependencies."""
    names = [distribution]
    for requirement in metadata.requires(distribution) or []:
        if "extra ==" not in requirement:
            names.append(re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0))
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git(folder: str | Path, *args: str) -> str | None:
    """Output of ``git args`` in ``folder``, or None without git or outside a repository."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_commit(folder: str | Path, short: bool = False) -> str | None:
    """The commit checked out in ``folder`` (abbreviated with ``short``), or None."""
    return _git(folder, "rev-parse", *(["--short"] if short else []), "HEAD")


def git_state(folder: str | Path) -> dict:
    """The commit checked out in ``folder`` and whether tracked files differ from it."""
    commit = git_commit(folder)
    if commit is None:
        return {"commit": None, "dirty": None}
    dirty = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(dirty)}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_manifest(
    run_id: str,
    pipelines: list[str] | None,
    project_path: str | Path,
    archive_summary: dict | None,
    parameters: dict,
    outputs: dict[str, str | None],
    inputs: dict[str, str | None] | None = None,
) -> dict:
    """Everything needed to tell whether two runs' results are comparable.

    ``outputs`` and ``inputs``: the version of each versioned dataset the run saved or
    loaded, so that what a model was trained with can be found from its version.
    """
    return {
        "run_id": run_id,
        "pipelines": pipelines or ["__default__"],
        "git": git_state(project_path),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "archive": {
            "source": (archive_summary or {}).get("source"),
            "md5": (archive_summary or {}).get("md5"),
        },
        "seed": parameters.get("seed"),
        "parameters": parameters,
        "outputs": outputs,
        "inputs": inputs or {},
    }
