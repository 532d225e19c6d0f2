"""Provenance: package versions and git state recorded in the run manifest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from movielens_sbr.provenance import (
    git_commit,
    git_state,
    package_versions,
    peak_rss_mb,
    run_manifest,
)

ROOT = Path(__file__).resolve().parents[1]


def test_package_versions_cover_the_direct_dependencies():
    versions = package_versions()
    assert versions["movielens-sbr"] == "0.1.0"
    for name in ("kedro", "tensorflow-cpu", "keras", "numpy", "pandas", "pyarrow"):
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?.*", versions[name]), name
    assert "pytest" not in versions  # test extras are not run dependencies


def test_git_state_of_the_repository_and_of_a_plain_folder(tmp_path):
    state = git_state(ROOT)
    assert re.fullmatch(r"[0-9a-f]{40}", state["commit"])
    assert isinstance(state["dirty"], bool)
    assert git_state(tmp_path) == {"commit": None, "dirty": None}


def test_git_commit_full_and_short(tmp_path):
    full = git_commit(ROOT)
    short = git_commit(ROOT, short=True)
    assert full == git_state(ROOT)["commit"]
    assert 4 <= len(short) < 40
    assert full.startswith(short)
    assert git_commit(tmp_path) is None


def test_peak_rss_is_the_processs_high_water_mark_in_mib():
    # The kernel's own figure for this process, in kB: a check of source and unit.
    status = Path("/proc/self/status").read_text()
    high_water_kib = int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1))
    assert peak_rss_mb() == pytest.approx(high_water_kib / 1024, rel=0.05)


def test_run_manifest_fields(tmp_path):
    manifest = run_manifest(
        "2026-01-01T00.00.00.000Z",
        None,
        tmp_path,
        {"source": "x.zip", "md5": "abc", "ratings": 3},
        {"seed": 7, "training": {"epochs": 1}},
        {"metrics": "2026-01-01T00.00.00.000Z"},
    )
    assert manifest["pipelines"] == ["__default__"]
    assert manifest["archive"] == {"source": "x.zip", "md5": "abc"}
    assert manifest["seed"] == 7
    assert manifest["outputs"] == {"metrics": "2026-01-01T00.00.00.000Z"}
