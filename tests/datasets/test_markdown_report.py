"""MarkdownReportDataset: links to the plots of the same run."""

from __future__ import annotations

from pathlib import Path

from kedro.io import Version

from movielens_sbr.datasets import MarkdownReportDataset

TEXT = "![plot](../../metrics.png/{save_version}/metrics.png)\n"


def test_versioned_save_fills_in_the_run_version(tmp_path: Path):
    dataset = MarkdownReportDataset(
        filepath=str(tmp_path / "report.md"), version=Version(None, "2026-01-01T00.00.00.000Z")
    )
    dataset.save(TEXT)
    saved = tmp_path / "report.md" / "2026-01-01T00.00.00.000Z" / "report.md"
    assert saved.read_text() == (
        "![plot](../../metrics.png/2026-01-01T00.00.00.000Z/metrics.png)\n"
    )
    # The link resolves to the plot folder of the same version.
    plot = tmp_path / "metrics.png" / "2026-01-01T00.00.00.000Z" / "metrics.png"
    assert (
        saved.parent / "../../metrics.png/2026-01-01T00.00.00.000Z/metrics.png"
    ).resolve() == plot.resolve()
    assert dataset.load() == saved.read_text()


def test_unversioned_save_links_the_plot_beside_the_report(tmp_path: Path):
    dataset = MarkdownReportDataset(filepath=str(tmp_path / "report.md"))
    dataset.save(TEXT)
    assert (tmp_path / "report.md").read_text() == "![plot](metrics.png)\n"
