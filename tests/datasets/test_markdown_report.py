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


def test_project_root_links_reach_the_docs_from_any_depth(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "evaluation.md").write_text("# Evaluation\n")
    version = Version(None, "2026-01-01T00.00.00.000Z")
    for folder in ("data/08_reporting", "data/ml-20m/08_reporting/experiments/x"):
        dataset = MarkdownReportDataset(filepath=f"{folder}/report.md", version=version)
        dataset.save("[docs]({project_root}/docs/evaluation.md)\n")
        saved = tmp_path / folder / "report.md" / version.save / "report.md"
        link = saved.read_text().removeprefix("[docs](").removesuffix(")\n")
        assert (saved.parent / link).resolve() == (tmp_path / "docs" / "evaluation.md")
