"""``python_files``: path distance over the snapshot's Python files only."""

from __future__ import annotations

import attrs

from lca_core.api.components import param
from lca_core.composing.composers import Chunk
from lca_plugins.composers.features import has_extension
from lca_plugins.composers.path_distance import PathDistanceComposer


@attrs.define(kw_only=True)
class PythonFilesComposer(PathDistanceComposer):
    """The newest original's ``python_files`` preset: a ``.py`` filter, then path distance (nearest last)."""

    extensions: list[str] = param(factory=lambda: [".py"], doc="File suffixes kept in the context.")

    def chunk_datapoint(self, datapoint: dict) -> list[Chunk]:
        return [c for c in super().chunk_datapoint(datapoint) if has_extension(c.filename, self.extensions)]
