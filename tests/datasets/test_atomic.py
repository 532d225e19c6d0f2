"""Atomic saves: an interrupted save never leaves a truncated file under the real name."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest
from fsspec.implementations.local import LocalFileOpener
from kedro.io import DatasetError, MemoryDataset, Version
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import CSVDataset, ParquetDataset

from movielens_sbr.datasets.atomic import make_atomic


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"a": range(n), "b": [f"row {i}" for i in range(n)]})


def figure(title: str):
    fig, ax = plt.subplots()
    ax.set_title(title)
    return fig


CASES = {
    "parquet": (ParquetDataset, "x.parquet", frame(5), frame(50_000)),
    "csv": (CSVDataset, "x.csv", frame(5), frame(50_000)),
    "json": (JSONDataset, "x.json", {"version": 1}, {"version": 2, "rows": list(range(50_000))}),
    "png": (MatplotlibDataset, "x.png", None, None),
}


def files(folder: Path) -> list[str]:
    """Every file and folder below ``folder``."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def disk_full_mid_write(monkeypatch):
    """Every write puts half its bytes on disk, then fails like a full disk."""

    def write(self, data):
        self.f.write(bytes(data)[: len(data) // 2])
        self.f.flush()
        raise OSError(28, "No space left on device")

    def arm():
        monkeypatch.setattr(LocalFileOpener, "write", write)

    return arm


@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.parametrize("versioned", [False, True])
def test_failed_save_keeps_the_last_good_file(tmp_path, disk_full_mid_write, kind, versioned):
    cls, name, good, bad = CASES[kind]
    if kind == "png":
        good, bad = figure("good"), figure("bad")
    dataset = cls(filepath=str(tmp_path / name), version=Version(None, None) if versioned else None)
    assert make_atomic(dataset)
    dataset.save(good)
    before = files(tmp_path)
    good_bytes = {p: (tmp_path / p).read_bytes() for p in before if (tmp_path / p).is_file()}
    if versioned:
        time.sleep(0.002)  # a new timestamped version
        dataset = cls(filepath=str(tmp_path / name), version=Version(None, None))
        make_atomic(dataset)

    disk_full_mid_write()
    with pytest.raises(DatasetError, match="No space left"):
        dataset.save(bad)

    assert files(tmp_path) == before  # no new version folder, no temporary file left
    assert {p: (tmp_path / p).read_bytes() for p in good_bytes} == good_bytes
    if kind != "png":
        reloaded = cls(
            filepath=str(tmp_path / name), version=Version(None, None) if versioned else None
        )
        loaded = reloaded.load()
        if isinstance(good, pd.DataFrame):
            pd.testing.assert_frame_equal(loaded, good)
        else:
            assert loaded == good


def test_without_atomic_saves_the_same_failure_leaves_a_truncated_file(
    tmp_path, disk_full_mid_write
):
    """The failure injected above really does corrupt a plain kedro-datasets save."""
    dataset = JSONDataset(filepath=str(tmp_path / "x.json"))
    dataset.save({"version": 1})
    disk_full_mid_write()
    with pytest.raises(DatasetError):
        dataset.save({"version": 2, "rows": list(range(50_000))})
    with pytest.raises(json.JSONDecodeError):
        json.loads((tmp_path / "x.json").read_text())


def test_successful_save_leaves_only_the_target(tmp_path):
    dataset = ParquetDataset(
        filepath=str(tmp_path / "sub" / "x.parquet"), version=Version(None, None)
    )
    make_atomic(dataset)
    dataset.save(frame(3))

    (path,) = (p for p in (tmp_path / "sub").rglob("*") if p.is_file())
    assert path.name == "x.parquet" and path.parent.parent.name == "x.parquet"
    pd.testing.assert_frame_equal(dataset.load(), frame(3))


def test_make_atomic_skips_in_memory_datasets_and_is_idempotent(tmp_path):
    assert not make_atomic(MemoryDataset())
    assert not make_atomic(None)
    dataset = JSONDataset(filepath=str(tmp_path / "x.json"))
    assert make_atomic(dataset) and make_atomic(dataset)
    dataset.save({"a": 1})
    assert dataset.load() == {"a": 1}


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from kedro.io import Version
    from kedro_datasets.json import JSONDataset
    from movielens_sbr.datasets.atomic import make_atomic

    def stall(value):  # called mid-stream, after the big list was written
        print("writing", flush=True)
        time.sleep(120)

    dataset = JSONDataset(
        filepath=sys.argv[1], version=Version(None, None), save_args={"default": stall}
    )
    make_atomic(dataset)
    dataset.save({"rows": list(range(200_000)), "tail": object()})
    """
)


@pytest.mark.slow
def test_process_killed_mid_write_leaves_the_last_good_version(tmp_path):
    target = tmp_path / "metrics.json"
    good = JSONDataset(filepath=str(target), version=Version(None, None))
    make_atomic(good)
    good.save({"recall@20": 0.25})
    time.sleep(0.002)

    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        temporary = [p for p in target.rglob(".*.tmp")]
        assert temporary and temporary[0].stat().st_size > 100_000  # really mid-write
    finally:
        writer.kill()
        writer.wait(timeout=30)

    versions = sorted(p.parent.name for p in target.glob("*/metrics.json"))
    assert len(versions) == 1  # the killed save left no file under the real name
    latest = JSONDataset(filepath=str(target), version=Version(None, None))
    assert latest.load() == {"recall@20": 0.25}
