"""Every notebook runs top to bottom on the catalog of a project where `kedro run` finished.

The project copy reads a small generated archive, so a notebook that breaks (a renamed
dataset, a changed column) fails the suite. A cell tagged ``parameters`` holds what a reader
types in; the test puts values there that exist in the generated data.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def latest(path: Path) -> Path:
    return sorted(path.iterdir())[-1] / path.name


def known_titles(project: Path, n: int = 3) -> list[str]:
    """Titles of movies the trained model knows, from the project's own outputs."""
    movies = pd.read_parquet(latest(project / "data/02_intermediate/movies.parquet"))
    index = pd.read_parquet(latest(project / "data/05_model_input/item_index.parquet"))
    return movies[movies["item"].isin(index["item"])]["title"].head(n).tolist()


def _only_nan(line: str) -> bool:
    """A table row whose cells after the label are all NaN."""
    cells = line.split()[1:]
    return len(cells) > 1 and all(cell == "NaN" for cell in cells)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_on_the_catalog(path: Path, finished_project: Path, monkeypatch):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if "parameters" in cell.metadata.get("tags", []):
            titles = known_titles(finished_project)
            cell.source = f"watched = {titles!r}\nfilms = {titles[:2]!r}"
    # `%reload_kedro ..` is relative to the notebook's folder inside the project.
    folder = finished_project / "notebooks"
    folder.mkdir(exist_ok=True)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()  # raises CellExecutionError, with the cell and the traceback, on any error

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    kinds = {key for cell in code for output in cell.outputs for key in output.get("data", {})}
    assert "text/plain" in kinds  # tables and values are shown
    if "plt." in "".join(cell.source for cell in code):
        assert "image/png" in kinds  # and plots are drawn
    # No table shows a row of NaN only (an entry that is not a method, such as "protocol").
    tables = [o["data"]["text/plain"] for c in code for o in c.outputs if "data" in o]
    empty_rows = [line for t in tables for line in t.splitlines() if _only_nan(line)]
    assert not empty_rows, f"{path.name} shows rows without values: {empty_rows}"
    last = code[-1].outputs
    assert last, f"the last cell of {path.name} shows nothing"
