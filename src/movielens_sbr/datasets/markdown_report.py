"""A versioned Markdown file whose links can point at other datasets of the same run."""

from __future__ import annotations

import os
import re

from kedro.io.core import get_filepath_str
from kedro_datasets.text import TextDataset

_VERSIONED_LINK = re.compile(r"\.\./\.\./([^/()\s]+)/\{save_version\}/\1")


class MarkdownReportDataset(TextDataset):
    """``text.TextDataset`` that fills ``{save_version}`` in the text with its save version.

    Every versioned dataset of one Kedro run is saved under the same version, so a report
    saved at ``<dir>/report.md/<version>/report.md`` can link
    ``../../metrics.png/{save_version}/metrics.png`` and reach the plot saved by the same
    run. Without versioning such links become ``metrics.png`` (the plot beside the report).
    ``{project_root}`` becomes the relative path from the report to the project folder (the
    working directory of the run, against which the catalog's relative paths resolve), so
    a link to the project's docs works at any depth (``data/<dataset>/...``, experiments).
    """

    def save(self, data: str) -> None:
        version = self.resolve_save_version()
        if version is None:
            data = _VERSIONED_LINK.sub(r"\1", data)
        else:
            data = data.replace("{save_version}", version)
        # TextDataset's own writing code, not super().save: that is Kedro's wrapped save,
        # and wrapping twice would run the version checks (and the project's atomic
        # staging) around an inner save as well.
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        if self._protocol == "file":
            folder = os.path.dirname(os.path.abspath(save_path))
            data = data.replace("{project_root}", os.path.relpath(os.getcwd(), folder))
        with self._fs.open(save_path, **self._fs_open_args_save) as file:
            file.write(data)
        self._invalidate_cache()
